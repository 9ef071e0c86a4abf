#include "vfs/group_commit.h"

namespace concordfs {

Status GroupCommit::Sync() {
  std::unique_lock<std::mutex> l(mu_);
  const uint64_t ticket = ++requested_;
  for (;;) {
    if (finished_ >= ticket) return last_;
    if (!syncing_) break;
    done_cv_.wait(l);
  }
  // Leader: let open locked sections finish their writes first, so they
  // share this sync rather than wait behind it.
  syncing_ = true;
  l.unlock();
  locks_->WaitIdle(std::chrono::steady_clock::now() + max_wait_);
  l.lock();
  // Every ticket handed out so far belongs to a caller whose writes
  // returned before it asked: the sync below covers them all.
  started_ = requested_;
  l.unlock();
  Status st = md_->Sync();
  l.lock();
  finished_ = started_;
  last_ = st;
  syncing_ = false;
  done_cv_.notify_all();
  return st;
}

}  // namespace concordfs
