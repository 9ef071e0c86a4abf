#include "smb/core/server.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "metrics/metrics.h"
#include "smb/core/connection.h"
#include "util/log.h"

namespace concordfs::smb {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kMaxQueued = 256;  // frames queued before reading pauses

uint64_t NowFiletime() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (static_cast<uint64_t>(ts.tv_sec) + 11644473600ULL) * 10000000ULL +
         ts.tv_nsec / 100;
}

}  // namespace

// A serial executor on the worker pool: functions run one at a time, in
// the order given. Every connection has one; the connections of one client
// (same client GUID, SMB 3.x) share one, so that the channels of a
// multichannel session touch its sessions and opens from one thread at a
// time, without locks (Samba likewise hands them to one process).
class SerialQueue : public std::enable_shared_from_this<SerialQueue> {
 public:
  explicit SerialQueue(net::IoPool* pool) : pool_(pool) {}

  void Enqueue(std::function<void()> fn) {
    bool start = false;
    {
      std::lock_guard<std::mutex> g(mu_);
      queue_.push_back(std::move(fn));
      if (!draining_) {
        draining_ = true;
        start = true;
      }
    }
    if (start) {
      auto self = shared_from_this();
      pool_->Work([self] { self->Drain(); });
    }
  }

  // Runs `fn` on the calling thread if nothing is queued or running (then
  // nothing else runs meanwhile); false otherwise.
  bool RunIfIdle(const std::function<void()>& fn) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (draining_ || !queue_.empty()) return false;
      draining_ = true;  // keeps workers out while this runs
    }
    fn();
    bool start = false;
    {
      std::lock_guard<std::mutex> g(mu_);
      draining_ = !queue_.empty();
      start = draining_;
    }
    if (start) {
      auto self = shared_from_this();
      pool_->Work([self] { self->Drain(); });
    }
    return true;
  }

 private:
  void Drain() {
    for (int n = 0; n < 64; ++n) {
      std::function<void()> fn;
      {
        std::lock_guard<std::mutex> g(mu_);
        if (queue_.empty()) {
          draining_ = false;
          return;
        }
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
    auto self = shared_from_this();
    pool_->Work([self] { self->Drain(); });  // yield to other queues
  }

  net::IoPool* pool_;
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool draining_ = false;                    // GUARDED_BY(mu_)
};

// The serial queues clients' connections share: by client GUID (found or
// made), and by the queue itself (if it still exists).
struct GroupFinder {
  std::function<std::shared_ptr<SerialQueue>(const std::string& guid)> by_guid;
  std::function<std::shared_ptr<SerialQueue>(const void* queue)> by_queue;
  explicit operator bool() const { return static_cast<bool>(by_guid); }
};

// A SESSION_SETUP binding a connection to session `*id` (one message, not
// encrypted)?
bool IsBinding(const char* p, size_t len, uint64_t* id) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if (len < kSmb2HeaderSize + 24 || u[0] != 0xFE || u[1] != 'S' ||
      u[2] != 'M' || u[3] != 'B' || (u[12] | (u[13] << 8)) != kSessionSetup) {
    return false;
  }
  uint32_t next = u[20] | (u[21] << 8) | (u[22] << 16) |
                  (static_cast<uint32_t>(u[23]) << 24);
  if (next != 0 || !(u[kSmb2HeaderSize + 2] & 0x1)) return false;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | u[40 + i];
  *id = v;
  return v != 0;
}

// Is this first SMB2 frame a NEGOTIATE offering SMB 3.x? Its client GUID
// then (empty otherwise).
std::string MultichannelGuid(const char* p, size_t len) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if (len < kSmb2HeaderSize + 36 || u[0] != 0xFE || u[1] != 'S' ||
      u[2] != 'M' || u[3] != 'B' || (u[12] | (u[13] << 8)) != kNegotiate) {
    return "";
  }
  const unsigned char* b = u + kSmb2HeaderSize;
  uint16_t count = b[2] | (b[3] << 8);
  if (len < kSmb2HeaderSize + 36 + 2u * count) return "";
  bool smb3 = false;
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t d = b[36 + 2 * i] | (b[37 + 2 * i] << 8);
    if (d >= kDialect300 && d != kDialectWildcard) smb3 = true;
  }
  std::string guid(reinterpret_cast<const char*>(b + 12), 16);
  if (!smb3 || guid == std::string(16, '\0')) return "";
  return guid;
}

class Conn : public Transport, public std::enable_shared_from_this<Conn> {
 public:
  Conn(tcp::socket sock, net::IoPool* pool, SmbServerState* st,
       size_t max_frame, std::function<void(Conn*)> on_gone, GroupFinder group)
      : sock_(std::move(sock)),
        st_(st),
        max_frame_(max_frame),
        on_gone_(std::move(on_gone)),
        group_(std::move(group)),
        queue_(std::make_shared<SerialQueue>(pool)) {
    boost::system::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    std::string peer =
        ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    sock_.set_option(tcp::no_delay(true), ec);
    proto_ = std::make_unique<SmbConnection>(st, this, peer);
  }

  void Start() { ReadHeader(); }

  // Transport.
  void Send(std::string message) override {
    auto self = shared_from_this();
    // On the I/O thread (a request answered inline) the write starts now.
    asio::dispatch(sock_.get_executor(),
                   [self, m = std::move(message)]() mutable {
                     self->QueueWrite(std::move(m));
                   });
  }
  void SendWithTail(std::string head, std::shared_ptr<char[]> tail,
                    size_t tail_len) override {
    auto self = shared_from_this();
    asio::post(sock_.get_executor(), [self, h = std::move(head),
                                      t = std::move(tail), tail_len]() mutable {
      self->QueueWrite(std::move(h), std::move(t), tail_len);
    });
  }
  void Close() override {
    auto self = shared_from_this();
    asio::post(sock_.get_executor(), [self] {
      self->close_after_writes_ = true;
      if (!self->writing_) self->Shutdown();
    });
  }
  void Post(std::function<void()> fn) override { Enqueue(std::move(fn)); }
  const void* Group() const override {
    std::lock_guard<std::mutex> g(qmu_);
    return grouped_ ? queue_.get() : nullptr;
  }
  std::function<void(std::function<void()>)> Poster() override {
    std::weak_ptr<Conn> weak = weak_from_this();
    return [weak](std::function<void()> fn) {
      if (auto self = weak.lock()) {
        if (!self->gone_done_) self->Enqueue(std::move(fn));
      }
    };
  }

  // Runs `fn` with the protocol engine on the serial queue; false if the
  // connection is already gone.
  bool WithProto(std::function<void(SmbConnection*)> fn) {
    if (gone_done_) return false;
    auto self = shared_from_this();
    Enqueue([self, fn = std::move(fn)] {
      if (!self->gone_done_) fn(self->proto_.get());
    });
    return true;
  }

  void ForceClose() {
    auto self = shared_from_this();
    asio::post(sock_.get_executor(), [self] { self->Shutdown(); });
  }

 private:
  void ReadHeader() {
    auto self = shared_from_this();
    asio::async_read(sock_, asio::buffer(hdr_, 4),
                     [self](boost::system::error_code ec, size_t) {
                       if (ec) return self->Gone();
                       self->OnHeader();
                     });
  }

  void OnHeader() {
    size_t len = (static_cast<uint8_t>(hdr_[1]) << 16) |
                 (static_cast<uint8_t>(hdr_[2]) << 8) |
                 static_cast<uint8_t>(hdr_[3]);
    if (hdr_[0] != 0 || len > max_frame_ || len < 4) {
      CFS_LOG_DEBUG("{}: bad frame (type {}, {} bytes); closing",
                    proto_->peer(), static_cast<int>(hdr_[0]), len);
      return Gone();
    }
    // Not value-initialized: a WRITE's megabytes are read over at once.
    std::shared_ptr<char[]> buf(new char[len]);
    auto self = shared_from_this();
    asio::async_read(sock_, asio::buffer(buf.get(), len),
                     [self, buf, len](boost::system::error_code ec, size_t) {
                       if (ec) return self->Gone();
                       self->MaybeJoinGroup(buf.get(), len);
                       if (!self->RunInline(buf, len)) {
                         self->Enqueue([self, buf, len] {
                           self->proto_->OnMessage(buf, len);
                         });
                       }
                       if (self->queued_.load() >= kMaxQueued) {
                         self->paused_ = true;  // resumed by the drainer
                         // ... unless it finished before seeing the flag.
                         if (self->queued_.load() >= kMaxQueued / 2) return;
                         self->paused_ = false;
                       }
                       self->ReadHeader();
                     });
  }

  // Requests that touch no storage (ECHO, LOCK, OPLOCK_BREAK, CANCEL; one
  // per message, not encrypted) run on the I/O thread when nothing else of
  // this connection is queued: no hop to a worker and back, which is most
  // of their cost. Order is kept: they run only when the queue is idle.
  bool RunInline(const std::shared_ptr<char[]>& buf, size_t len) {
    const auto* p = reinterpret_cast<const unsigned char*>(buf.get());
    if (len < kSmb2HeaderSize || len > 4096 || p[0] != 0xFE || p[1] != 'S' ||
        p[2] != 'M' || p[3] != 'B') {
      return false;
    }
    uint16_t cmd = p[12] | (p[13] << 8);
    uint32_t next = p[20] | (p[21] << 8) | (p[22] << 16) |
                    (static_cast<uint32_t>(p[23]) << 24);
    if (next != 0 || (cmd != kEcho && cmd != kLock && cmd != kOplockBreak &&
                      cmd != kCancel)) {
      return false;
    }
    std::shared_ptr<SerialQueue> q;
    {
      std::lock_guard<std::mutex> g(qmu_);
      q = queue_;
    }
    return q->RunIfIdle([&] { proto_->OnMessage(buf, len); });
  }

  // The first SMB2 NEGOTIATE of a client offering SMB 3.x moves this
  // connection onto its client's shared queue (multichannel), while
  // nothing of it is queued yet. I/O thread.
  void MaybeJoinGroup(const char* p, size_t len) {
    if (!group_) return;
    uint64_t bind_to = 0;
    if (joined_checked_) {
      // A binding to a session of another client moves this connection
      // onto that client's queue (while nothing of it is queued), so the
      // channels of one session still run one at a time.
      if (!IsBinding(p, len, &bind_to)) return;
      const void* target = st_->sessions.GroupOf(bind_to);
      if (!target) return;
      std::shared_ptr<SerialQueue> q = group_.by_queue(target);
      std::lock_guard<std::mutex> g(qmu_);
      // Only a connection alone on its queue moves (none of its sessions
      // then has a channel elsewhere that would be left behind).
      if (!q || q == queue_ || queued_.load() != 0 || queue_.use_count() != 1)
        return;
      queue_ = std::move(q);
      grouped_ = true;
      return;
    }
    if (len >= 4 && static_cast<unsigned char>(p[0]) == 0xFF) return;  // SMB1
    joined_checked_ = true;
    std::string guid = MultichannelGuid(p, len);
    if (guid.empty()) return;
    std::shared_ptr<SerialQueue> q = group_.by_guid(guid);
    std::lock_guard<std::mutex> g(qmu_);
    if (queued_.load() != 0) return;
    queue_ = std::move(q);
    grouped_ = true;
  }

  void Enqueue(std::function<void()> fn) {
    std::shared_ptr<SerialQueue> q;
    {
      std::lock_guard<std::mutex> g(qmu_);
      ++queued_;
      q = queue_;
    }
    auto self = shared_from_this();
    q->Enqueue([self, fn = std::move(fn)] {
      fn();
      if (--self->queued_ < kMaxQueued / 2 && self->paused_.load()) {
        asio::post(self->sock_.get_executor(), [self] {
          if (self->paused_ && self->queued_.load() < kMaxQueued / 2 &&
              !self->gone_) {
            self->paused_ = false;
            self->ReadHeader();
          }
        });
      }
    });
  }

  void QueueWrite(std::string m, std::shared_ptr<char[]> tail = nullptr,
                  size_t tail_len = 0) {
    if (gone_) return;
    size_t total = m.size() + tail_len;
    Out o{{0, static_cast<char>(total >> 16), static_cast<char>(total >> 8),
           static_cast<char>(total)},
          std::move(m),
          std::move(tail),
          tail_len};
    pending_.push_back(std::move(o));
    if (!writing_) WriteSome();
  }

  void WriteSome() {
    writing_ = true;
    inflight_.clear();
    inflight_.swap(pending_);
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(3 * inflight_.size());
    for (const Out& o : inflight_) {
      bufs.emplace_back(o.frame, 4);
      bufs.emplace_back(asio::buffer(o.head));
      if (o.tail_len) bufs.emplace_back(o.tail.get(), o.tail_len);
    }
    auto self = shared_from_this();
    asio::async_write(sock_, bufs,
                      [self](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->Gone();
                        if (!self->pending_.empty()) return self->WriteSome();
                        if (self->close_after_writes_) self->Shutdown();
                      });
  }

  void Shutdown() {
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    Gone();
  }

  void Gone() {
    if (gone_) return;
    gone_ = true;
    boost::system::error_code ec;
    sock_.close(ec);
    auto self = shared_from_this();
    Enqueue([self] {
      self->proto_->OnDisconnect();
      self->gone_done_ = true;  // later posts are dropped
      self->on_gone_(self.get());
    });
  }

  tcp::socket sock_;
  SmbServerState* st_;
  size_t max_frame_;
  std::function<void(Conn*)> on_gone_;
  std::unique_ptr<SmbConnection> proto_;
  metrics::GaugeHold live_{metrics::Gauge::kSmbConnections};
  char hdr_[4] = {};
  // I/O thread only.
  struct Out {
    char frame[4];     // direct-TCP framing: 0, 24-bit length
    std::string head;  // the SMB message (or its first part)
    std::shared_ptr<char[]> tail;
    size_t tail_len = 0;
  };
  std::deque<Out> pending_;
  std::deque<Out> inflight_;
  bool writing_ = false;
  bool close_after_writes_ = false;
  bool gone_ = false;
  std::atomic<bool> paused_{false};  // written on the I/O thread only
  GroupFinder group_;                // null: multichannel off
  // The serial queue: replaced only by MaybeJoinGroup on the I/O thread,
  // while nothing of this connection is queued or running.
  mutable std::mutex qmu_;
  std::shared_ptr<SerialQueue> queue_;  // GUARDED_BY(qmu_)
  bool grouped_ = false;                // GUARDED_BY(qmu_): a shared one
  bool joined_checked_ = false;         // I/O thread
  std::atomic<size_t> queued_{0};       // this connection's queued functions
  std::atomic<bool> gone_done_{false};  // OnDisconnect has run
};

struct SmbServer::Impl {
  net::IoPool* pool;
  locking::CacheBreaks* breaks = nullptr;
  SmbServerState state;
  std::unique_ptr<tcp::acceptor> acceptor;
  mutable std::mutex mu;
  std::set<std::shared_ptr<Conn>> conns;  // GUARDED_BY(mu)
  std::atomic<bool> stopping{false};
  // The serial queue of each client (by client GUID) with a live 3.x
  // connection.
  std::mutex groups_mu;
  std::map<std::string, std::weak_ptr<SerialQueue>>
      groups;  // GUARDED_BY(groups_mu)

  std::shared_ptr<SerialQueue> FindQueue(const void* queue) {
    std::lock_guard<std::mutex> g(groups_mu);
    for (auto& [guid, w] : groups) {
      auto q = w.lock();
      if (q && q.get() == queue) return q;
    }
    return nullptr;
  }

  std::shared_ptr<SerialQueue> GroupQueue(const std::string& guid) {
    std::lock_guard<std::mutex> g(groups_mu);
    for (auto it = groups.begin(); it != groups.end();) {
      if (it->second.expired())
        it = groups.erase(it);
      else
        ++it;
    }
    auto& w = groups[guid];
    auto q = w.lock();
    if (!q) {
      q = std::make_shared<SerialQueue>(pool);
      w = q;
    }
    return q;
  }

  void Accept() {
    acceptor->async_accept(
        *static_cast<asio::io_context*>(pool->next_io()),
        [this](boost::system::error_code ec, tcp::socket sock) {
          if (ec) {
            if (ec == asio::error::operation_aborted || stopping) return;
            CFS_LOG_WARN("accept failed: {}", ec.message());
            return Accept();
          }
          size_t max_frame = state.opts.max_io + (1 << 20);
          auto c = std::make_shared<Conn>(
              std::move(sock), pool, &state, max_frame,
              [this](Conn* gone) {
                std::lock_guard<std::mutex> g(mu);
                for (auto it = conns.begin(); it != conns.end(); ++it) {
                  if (it->get() == gone) {
                    conns.erase(it);
                    break;
                  }
                }
              },
              state.opts.multichannel
                  ? GroupFinder{[this](const std::string& guid) {
                                  return GroupQueue(guid);
                                },
                                [this](const void* q) { return FindQueue(q); }}
                  : GroupFinder{});
          {
            std::lock_guard<std::mutex> g(mu);
            conns.insert(c);
          }
          c->Start();
          Accept();
        });
  }
};

SmbServer::SmbServer(net::IoPool* pool, Vfs* vfs,
                     locking::ShareModeTable* shares, SmbOptions opts,
                     locking::LockManager* locks, locking::CacheBreaks* breaks)
    : impl_(std::make_unique<Impl>()) {
  impl_->state.shares = shares;
  impl_->state.locks = locks;
  impl_->pool = pool;
  impl_->state.opts = std::move(opts);
  impl_->state.vfs = vfs;
  impl_->state.names = std::make_unique<NameCache>(vfs);
  impl_->state.notify = std::make_unique<NotifyHub>(vfs);
  if (impl_->state.opts.oplocks) {
    impl_->state.oplocks = std::make_unique<OplockTable>(
        std::chrono::milliseconds(impl_->state.opts.oplock_break_timeout_ms),
        breaks);
    // Other front ends break SMB caching through the shared hub.
    if (breaks) breaks->Register(impl_->state.oplocks.get());
    impl_->breaks = breaks;
  }
  if (impl_->state.opts.durable_handles) {
    SmbServerState* st = &impl_->state;
    st->durable = std::make_unique<DurableTable>([st](std::unique_ptr<Open> o) {
      CFS_LOG_DEBUG("durable open {} of {} closed (not reconnected)",
                    o->fid.persistent, o->path);
      ReleaseOpen(st, o.get());
    });
  }
  RAND_bytes(reinterpret_cast<unsigned char*>(impl_->state.server_guid), 16);
  impl_->state.start_time = NowFiletime();
  RAND_bytes(reinterpret_cast<unsigned char*>(&impl_->state.volume_serial),
             sizeof(uint32_t));
  auto root = vfs->GetAttr(kRootInode);
  if (root.ok()) {
    impl_->state.volume_created =
        root->inode.btime ? root->inode.btime : root->inode.ctime;
  }
}

SmbServer::~SmbServer() {
  if (impl_->breaks) impl_->breaks->Unregister(impl_->state.oplocks.get());
  Stop();
  impl_->state.durable.reset();  // closes the opens still kept
}

Status SmbServer::Listen() {
  const SmbOptions& o = impl_->state.opts;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(o.address, ec);
  if (ec) return Status::Invalid("smb: bad address " + o.address);
  auto* io = static_cast<asio::io_context*>(impl_->pool->main_io());
  auto acc = std::make_unique<tcp::acceptor>(*io);
  tcp::endpoint ep(addr, o.port);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Error(ec.value(), "smb: cannot listen on " + o.address +
                                         ":" + std::to_string(o.port) + ": " +
                                         ec.message());
  }
  impl_->acceptor = std::move(acc);
  impl_->Accept();
  return Status::Ok();
}

uint16_t SmbServer::port() const {
  if (!impl_->acceptor) return 0;
  boost::system::error_code ec;
  return impl_->acceptor->local_endpoint(ec).port();
}

size_t SmbServer::connection_count() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->conns.size();
}

std::vector<SmbSessionInfo> SmbServer::Sessions() const {
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    conns.assign(impl_->conns.begin(), impl_->conns.end());
  }
  struct Gather {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<SmbSessionInfo> out;
    size_t left = 0;
  };
  auto gather = std::make_shared<Gather>();
  gather->left = conns.size();
  for (auto& c : conns) {
    bool queued = c->WithProto([gather](SmbConnection* p) {
      std::vector<SmbSessionInfo> mine;
      p->AppendSessions(&mine);
      std::lock_guard<std::mutex> g(gather->mu);
      for (auto& i : mine) gather->out.push_back(std::move(i));
      --gather->left;
      gather->cv.notify_all();
    });
    if (!queued) {
      std::lock_guard<std::mutex> g(gather->mu);
      --gather->left;
    }
  }
  std::unique_lock<std::mutex> g(gather->mu);
  // A connection whose queue is busy (or that goes away before its turn)
  // is left out after the wait.
  gather->cv.wait_for(g, std::chrono::seconds(2),
                      [&] { return gather->left == 0; });
  std::vector<SmbSessionInfo> out = gather->out;
  // Sessions that are gone but whose durable opens are kept.
  if (impl_->state.durable) {
    std::map<uint64_t, SmbSessionInfo> kept;
    for (const auto& k : impl_->state.durable->Kept()) {
      SmbSessionInfo& i = kept[k.owner_session];
      i.session_id = k.owner_session;
      i.user = k.user;
      i.disconnected = true;
      ++i.opens;
      ++i.durable;
    }
    for (auto& [id, i] : kept) out.push_back(std::move(i));
  }
  std::sort(out.begin(), out.end(),
            [](const SmbSessionInfo& a, const SmbSessionInfo& b) {
              return a.session_id < b.session_id;
            });
  return out;
}

std::vector<std::string> SmbServer::Reload(const SmbOptions& next) {
  const SmbOptions& cur = impl_->state.opts;
  std::vector<std::string> restart;
  auto differs = [&](const char* key, bool d) {
    if (d) restart.push_back(std::string("smb.") + key);
  };
  differs("address", cur.address != next.address);
  differs("port", cur.port != next.port);
  differs("server_name", cur.server_name != next.server_name);
  differs("domain", cur.domain != next.domain);
  differs("signing", cur.signing_required != next.signing_required);
  differs("encryption", cur.encryption != next.encryption);
  differs("guest", cur.guest != next.guest || cur.guest_uid != next.guest_uid ||
                       cur.guest_gid != next.guest_gid);
  differs("max_io", cur.max_io != next.max_io);
  differs("max_transact", cur.max_transact != next.max_transact);
  differs("max_credits", cur.max_credits != next.max_credits);
  differs("umask", cur.umask != next.umask);
  differs("oplocks", cur.oplocks != next.oplocks);
  differs("oplock_break_timeout_ms",
          cur.oplock_break_timeout_ms != next.oplock_break_timeout_ms);
  differs("multichannel", cur.multichannel != next.multichannel);
  differs("durable_handles", cur.durable_handles != next.durable_handles);
  differs("durable_timeout_ms",
          cur.durable_timeout_ms != next.durable_timeout_ms ||
              cur.max_durable_timeout_ms != next.max_durable_timeout_ms);
  differs("resilient_timeout_ms",
          cur.resilient_timeout_ms != next.resilient_timeout_ms ||
              cur.max_resilient_timeout_ms != next.max_resilient_timeout_ms);
  impl_->state.SetConfig(std::make_shared<const ShareConfig>(
      ShareConfig{next.users, next.shares}));
  return restart;
}

void SmbServer::Stop() {
  if (!impl_->acceptor) return;
  impl_->stopping = true;
  auto* acc = impl_->acceptor.get();
  std::promise<void> done;
  asio::post(acc->get_executor(), [acc, &done] {
    boost::system::error_code ec;
    acc->close(ec);
    done.set_value();
  });
  done.get_future().wait();
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    conns.assign(impl_->conns.begin(), impl_->conns.end());
  }
  for (auto& c : conns) c->ForceClose();
  // Wait (bounded) for the connections to close their opens.
  for (int i = 0; i < 500 && connection_count() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->acceptor.reset();
}

}  // namespace concordfs::smb
