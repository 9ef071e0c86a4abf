// FuseFrontend: mounting, the session loop, and the worker that sends kernel
// cache invalidations for changes made through other front ends.
#include "fuse/fuse_frontend.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>

#include "fuse/fuse_internal.h"
#include "fuse/fuse_loop.h"
#include "util/log.h"

namespace concordfs {

FuseFrontend::FuseFrontend(Vfs* vfs, locking::LockManager* locks,
                           locking::ShareModeTable* shares, FuseOptions opts)
    : vfs_(vfs),
      locks_(locks),
      shares_(shares),
      opts_(std::move(opts)),
      passthrough_(std::make_unique<fuse_internal::PassthroughTable>()) {}

FuseFrontend::~FuseFrontend() { Stop(); }

int FuseFrontend::device_fd() const {
  return session_ ? fuse_session_fd(session_) : -1;
}

bool FuseFrontend::passthrough_active() {
  return fuse_internal::PassthroughNegotiated(this);
}

namespace {

// Prepares the mount point: creates it, or cleans up a dead FUSE mount left
// by a crashed run (stat gives ENOTCONN).
Status PrepareMountPoint(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Status::Error(ENOTDIR,
                           "mount point " + path + " is not a directory");
    }
    return Status::Ok();
  }
  if (errno == ENOTCONN) {
    CFS_LOG_WARN("{} is a stale mount from a crashed run; unmounting it", path);
    if (umount2(path.c_str(), MNT_DETACH) != 0) {
      return Status::Error(errno, "cannot clean up stale mount at " + path);
    }
    return Status::Ok();
  }
  if (errno != ENOENT) return Status::Error(errno, "mount point " + path);
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::Error(ec.value(), "cannot create " + path);
  return Status::Ok();
}

}  // namespace

Status FuseFrontend::Mount() {
  if (opts_.mount_point.empty() || opts_.mount_point[0] != '/') {
    return Status::Invalid("mount point must be an absolute path");
  }
  CFS_RETURN_IF_ERROR(PrepareMountPoint(opts_.mount_point));
  // default_permissions: the kernel checks mode bits on every path walk,
  // also for names it has cached (the vfs checks again for its own calls).
  std::string o = "fsname=concordfs,subtype=concordfs,default_permissions";
  if (opts_.allow_other) o += ",allow_other";
  const char* argv[] = {"concordfs", "-o", o.c_str()};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  session_ = fuse_session_new(&args, fuse_internal::Operations(),
                              sizeof(fuse_lowlevel_ops), this);
  fuse_opt_free_args(&args);  // libfuse may have copied them
  if (!session_) return Status::Io("fuse_session_new failed");
  if (fuse_session_mount(session_, opts_.mount_point.c_str()) != 0) {
    fuse_session_destroy(session_);
    session_ = nullptr;
    return Status::Io("cannot mount at " + opts_.mount_point +
                      " (is /dev/fuse available and fuse3 installed?)");
  }
  init_state_ = fuse_internal::NewInitState();
  if (fuse_internal::InstallInitHook(session_) != 0) {
    fuse_session_unmount(session_);
    fuse_session_destroy(session_);
    session_ = nullptr;
    return Status::Io("cannot set the FUSE device hooks");
  }
  worker_ = std::thread([this] { WorkerLoop(); });
  subscription_ =
      vfs_->Subscribe([this](const ChangeEvent& ev) { OnChange(ev); });
  loop_ = std::make_unique<FuseLoop>(session_, opts_.max_threads,
                                     std::chrono::microseconds(opts_.watch_us));
  loop_->Start();
  CFS_LOG_INFO("mounted at {}", opts_.mount_point);
  return Status::Ok();
}

void FuseFrontend::Stop() {
  if (!session_) return;
  if (subscription_) vfs_->Unsubscribe(subscription_);
  subscription_ = 0;
  fuse_session_exit(session_);
  // Unmounting makes the readers' pending reads fail, so they return.
  fuse_session_unmount(session_);
  if (loop_) {
    int rc = loop_->Join();
    if (rc != 0) CFS_LOG_WARN("FUSE loop ended with {}", rc);
    loop_.reset();
  }
  passthrough_->EndAll(this);
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  fuse_session_destroy(session_);
  session_ = nullptr;
  CFS_LOG_INFO("unmounted {}", opts_.mount_point);
}

void FuseFrontend::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void FuseFrontend::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void FuseFrontend::OnChange(const ChangeEvent& ev) {
  if (ev.origin == Origin::kFuse) return;  // the kernel already knows
  Post([this, ev] {
    if (!session_) return;
    switch (ev.kind) {
      case ChangeEvent::Kind::kAttr:
        fuse_lowlevel_notify_inval_inode(session_, ev.ino, -1, 0);
        break;
      case ChangeEvent::Kind::kData:
        fuse_lowlevel_notify_inval_inode(session_, ev.ino, 0, 0);
        break;
      case ChangeEvent::Kind::kEntryAdded:
      case ChangeEvent::Kind::kEntryRemoved:
        fuse_lowlevel_notify_inval_entry(session_, ev.parent, ev.name.data(),
                                         ev.name.size());
        fuse_lowlevel_notify_inval_inode(session_, ev.parent, -1, 0);
        break;
    }
  });
}

}  // namespace concordfs
