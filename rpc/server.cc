#include "rpc/server.h"

#include <sched.h>
#include <sys/sendfile.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/container/static_vector.hpp>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "util/log.h"

namespace concordfs::rpc {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

Peer FromEndpoint(const asio::ip::address& a, uint16_t port) {
  Peer p;
  p.port = port;
  if (a.is_v4()) {
    p.family = AF_INET;
    auto b = a.to_v4().to_bytes();
    std::memcpy(p.addr, b.data(), 4);
  } else {
    p.family = AF_INET6;
    auto b = a.to_v6().to_bytes();
    std::memcpy(p.addr, b.data(), 16);
  }
  return p.Unmapped();
}

}  // namespace

// One TCP connection, pinned to one single-threaded io_context (its
// "strand"): reads, quick calls and reply writes run there; other calls run
// on the workers and post their reply back.
//
// Reading: bytes arrive in a fixed input buffer, so one receive may carry
// several records (and their marks); records wholly inside it are handled
// from there, quick ones without a copy. A fragment larger than the buffer
// is received straight into the record, growing as data arrives (a peer
// that announces a large record and sends nothing pins little). Writing:
// replies produced while the buffer is being parsed go out together, with
// one non-blocking gather write on this thread; file-backed reply data
// (ReplyTail::fd) goes by non-blocking sendfile in its place in the stream.
// When the socket takes no more, the connection waits until it is writable
// and carries on where it stopped.
class TcpConn : public std::enable_shared_from_this<TcpConn> {
 public:
  using Executor = asio::io_context::executor_type;
  TcpConn(RpcServer::Impl* server, tcp::socket sock, Peer peer, Executor ex);
  void Start();
  void Close();

 private:
  static constexpr size_t kInput = 64 * 1024;   // input buffer
  static constexpr size_t kChunk = 256 * 1024;  // direct reads, at most
  void StartRead();
  void OnRead(const boost::system::error_code& ec, size_t n, bool direct);
  // Handles every complete record in the buffer; arms the stall timer if
  // a record is left incomplete.
  void Parse();
  // Parse(), then (see ServerOptions::busy_poll) briefly polls the socket
  // for the client's next call, then reads asynchronously.
  void Pump();
  bool SpinForMore();
  // False if the connection was closed.
  bool HandleRecord(std::string_view record, std::string* owned);
  void Dispatch(std::string record);
  void Enqueue(std::string reply, ReplyTail tail = {});
  // Writes queued replies until done or the socket is full (then waits for
  // it to become writable and continues).
  void Flush();
  // Memory pieces from the current position up to the next file piece;
  // false if the socket took less than offered.
  bool WriteGathered();
  // The front reply's file piece; false if the socket is full.
  bool SendFilePiece();
  void Advance(size_t n);
  void WaitWritable();
  void ArmStallTimer();

  RpcServer::Impl* server_;
  tcp::socket sock_;
  Executor strand_;  // the connection's single-threaded context
  Peer peer_;
  metrics::GaugeHold live_{metrics::Gauge::kNfsConnections};
  // Strand-only state from here on.
  std::unique_ptr<char[]> in_{new char[kInput]};
  size_t in_begin_ = 0, in_end_ = 0;  // unparsed bytes of in_
  // The fragment being received: whether its mark was read, its bytes
  // still to come, and whether it ends the record.
  bool in_fragment_ = false;
  size_t want_ = 0;
  bool last_ = false;
  std::string record_;  // earlier fragments / received part of a big one
  // Closes a connection that stops sending in the middle of a record.
  asio::steady_timer stall_timer_;
  uint64_t records_ = 0;  // completed records (to tell stale timers)
  uint64_t stall_armed_for_ = UINT64_MAX;  // records_ when last armed
  struct Out {
    std::string head;  // record mark + XDR reply
    ReplyTail tail;    // bulk data sent right after it
    size_t total() const { return head.size() + tail.total(); }
  };
  std::deque<Out> outq_;
  size_t written_ = 0;          // bytes of outq_'s front already sent
  bool write_waiting_ = false;  // waiting for the socket to take more
  int inflight_ = 0;
  bool reading_ = false;  // an asynchronous read is outstanding
  bool parsing_ = false;  // replies wait for the end of Parse()
  bool paused_ = false;   // too many calls in flight: parsing stopped
  bool closed_ = false;
  int spin_skip_ = 0;  // passes without polling after a poll found nothing
};

struct RpcServer::Impl {
  IoPool* pool;
  Dispatcher* dispatcher;
  ServerOptions opts;
  asio::io_context& io;
  std::optional<tcp::acceptor> acceptor;
  std::optional<udp::socket> udp_sock;
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  std::array<char, 65536> udp_buf;
  udp::endpoint udp_from;

  std::mutex conns_mu;
  std::set<std::shared_ptr<TcpConn>> conns;  // GUARDED_BY(conns_mu)
  std::atomic<uint64_t> accepted{0}, bad_input{0};

  Impl(IoPool* p, Dispatcher* d, ServerOptions o)
      : pool(p),
        dispatcher(d),
        opts(std::move(o)),
        io(*static_cast<asio::io_context*>(p->main_io())) {}

  void Accept() {
    auto* cio = static_cast<asio::io_context*>(pool->next_io());
    acceptor->async_accept(
        *cio,
        [this, cio](const boost::system::error_code& ec, tcp::socket sock) {
          if (stopping) return;
          if (!ec) {
            boost::system::error_code e2;
            auto ep = sock.remote_endpoint(e2);
            if (!e2) {
              sock.set_option(tcp::no_delay(true), e2);
              sock.set_option(asio::socket_base::keep_alive(true), e2);
              auto c = std::make_shared<TcpConn>(
                  this, std::move(sock), FromEndpoint(ep.address(), ep.port()),
                  cio->get_executor());
              {
                std::lock_guard<std::mutex> lk(conns_mu);
                conns.insert(c);
              }
              accepted.fetch_add(1, std::memory_order_relaxed);
              c->Start();
            }
          } else if (ec == asio::error::operation_aborted) {
            return;
          } else {
            CFS_LOG_WARN("{}: accept failed: {}", opts.name, ec.message());
          }
          Accept();
        });
  }

  void Forget(const std::shared_ptr<TcpConn>& c) {
    std::lock_guard<std::mutex> lk(conns_mu);
    conns.erase(c);
  }

  // All UDP socket operations run on the main context's single thread.
  void ReceiveUdp() {
    udp_sock->async_receive_from(
        asio::buffer(udp_buf), udp_from,
        [this](const boost::system::error_code& ec, size_t n) {
          if (stopping || ec == asio::error::operation_aborted) return;
          if (!ec) {
            Peer peer = FromEndpoint(udp_from.address(), udp_from.port());
            udp::endpoint to = udp_from;
            std::string_view dgram(udp_buf.data(), n);
            if (dispatcher->IsQuick(dgram)) {
              auto reply = std::make_shared<std::string>();
              if (dispatcher->Dispatch(dgram, peer, Transport::kUdp,
                                       reply.get()) ==
                  Dispatcher::Outcome::kReply) {
                SendUdp(reply, to);
              }
            } else {
              auto record = std::make_shared<std::string>(dgram);
              pool->Work([this, record, peer, to] {
                auto reply = std::make_shared<std::string>();
                if (dispatcher->Dispatch(*record, peer, Transport::kUdp,
                                         reply.get()) !=
                    Dispatcher::Outcome::kReply) {
                  return;
                }
                asio::post(io, [this, reply, to] { SendUdp(reply, to); });
              });
            }
          }
          ReceiveUdp();
        });
  }
  void SendUdp(const std::shared_ptr<std::string>& reply,
               const udp::endpoint& to) {
    if (stopping) return;
    udp_sock->async_send_to(
        asio::buffer(*reply), to,
        [reply](const boost::system::error_code&, size_t) {});
  }
};

TcpConn::TcpConn(RpcServer::Impl* server, tcp::socket sock, Peer peer,
                 Executor ex)
    : server_(server),
      sock_(std::move(sock)),
      strand_(ex),
      peer_(peer),
      stall_timer_(ex) {}

void TcpConn::Start() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    boost::system::error_code ec;
    // Writes are tried at once on this thread; they must never block it.
    self->sock_.non_blocking(true, ec);
    if (ec) {
      self->Close();
      return;
    }
    self->StartRead();
  });
}

void TcpConn::Close() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    if (self->closed_) return;
    self->closed_ = true;
    self->stall_timer_.cancel();
    boost::system::error_code ec;
    self->sock_.shutdown(tcp::socket::shutdown_both, ec);
    self->sock_.close(ec);
    self->server_->Forget(self);
  });
}

void TcpConn::StartRead() {
  if (closed_ || paused_ || reading_) return;
  reading_ = true;
  const size_t buffered = in_end_ - in_begin_;
  if (in_fragment_ && buffered == 0 && want_ > kInput / 2) {
    // A big fragment: straight into the record, as it arrives.
    size_t n = std::min(want_, kChunk);
    size_t at = record_.size();
    record_.resize(at + n);
    sock_.async_read_some(
        asio::buffer(record_.data() + at, n),
        asio::bind_executor(
            strand_, [self = shared_from_this(), at](
                         const boost::system::error_code& e, size_t got) {
              self->record_.resize(at + (e ? 0 : got));
              self->OnRead(e, got, /*direct=*/true);
            }));
    return;
  }
  if (in_begin_ > 0) {  // keep the unparsed tail at the front
    std::memmove(in_.get(), in_.get() + in_begin_, buffered);
    in_begin_ = 0;
    in_end_ = buffered;
  }
  sock_.async_read_some(
      asio::buffer(in_.get() + in_end_, kInput - in_end_),
      asio::bind_executor(strand_,
                          [self = shared_from_this()](
                              const boost::system::error_code& e, size_t got) {
                            self->OnRead(e, got, /*direct=*/false);
                          }));
}

namespace {
// Per I/O thread: the connection whose data it handled last, and when it
// last switched to another one (busy polling is for a thread serving one
// client at a time; it would delay the others).
thread_local const void* t_last_conn = nullptr;
thread_local std::chrono::steady_clock::time_point t_switched_at{};
}  // namespace

void TcpConn::OnRead(const boost::system::error_code& ec, size_t n,
                     bool direct) {
  reading_ = false;
  if (t_last_conn != this) {
    t_last_conn = this;
    t_switched_at = std::chrono::steady_clock::now();
  }
  if (ec || closed_) {
    Close();
    return;
  }
  if (direct) {
    want_ -= n;
  } else {
    in_end_ += n;
  }
  Pump();
}

void TcpConn::Parse() {
  parsing_ = true;
  while (!closed_ && !paused_) {
    size_t buffered = in_end_ - in_begin_;
    if (!in_fragment_) {
      if (buffered < 4) break;
      const auto* h = reinterpret_cast<const uint8_t*>(in_.get() + in_begin_);
      uint32_t mark = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) |
                      (uint32_t{h[2]} << 8) | h[3];
      size_t len = mark & 0x7fffffffu;
      if (record_.size() + len > server_->opts.max_record_size) {
        // Too big to be a call we serve: reading it would only waste memory.
        server_->bad_input.fetch_add(1, std::memory_order_relaxed);
        CFS_LOG_DEBUG("{}: {} announced a {}-byte record (max {}); closing",
                      server_->opts.name, peer_.ToString(),
                      record_.size() + len, server_->opts.max_record_size);
        Close();
        break;
      }
      in_begin_ += 4;
      buffered -= 4;
      in_fragment_ = true;
      want_ = len;
      last_ = (mark & 0x80000000u) != 0;
    }
    if (record_.empty() && last_ && buffered >= want_) {
      // A whole record in the buffer: handled from there.
      std::string_view rec(in_.get() + in_begin_, want_);
      in_begin_ += want_;
      in_fragment_ = false;
      want_ = 0;
      ++records_;
      if (!HandleRecord(rec, nullptr)) break;
      continue;
    }
    size_t take = std::min(buffered, want_);
    record_.append(in_.get() + in_begin_, take);
    in_begin_ += take;
    want_ -= take;
    if (want_ > 0) break;  // the rest of this fragment is still to come
    in_fragment_ = false;
    if (!last_) continue;
    ++records_;
    std::string rec;
    rec.swap(record_);
    if (!HandleRecord(rec, &rec)) break;
  }
  parsing_ = false;
  if (closed_) return;
  Flush();
  // A record left incomplete must arrive within the stall timeout (not
  // while paused: the buffered rest is then ours to parse, not late).
  if (!paused_ && (in_fragment_ || !record_.empty() || in_end_ > in_begin_)) {
    ArmStallTimer();
  }
}

void TcpConn::Pump() {
  for (;;) {
    Parse();
    if (closed_ || paused_ || !SpinForMore()) break;
  }
  StartRead();
}

bool TcpConn::SpinForMore() {
  const auto budget = server_->opts.busy_poll;
  if (budget.count() <= 0) return false;
  // Only when this connection is idle: every call answered and written,
  // nothing partial buffered.
  if (inflight_ != 0 || !outq_.empty() || write_waiting_ || in_fragment_ ||
      !record_.empty() || in_end_ != in_begin_) {
    return false;
  }
  if (spin_skip_ > 0) {
    --spin_skip_;
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (t_last_conn != this ||
      now - t_switched_at < std::chrono::milliseconds(10)) {
    return false;  // other connections of this thread are active
  }
  in_begin_ = in_end_ = 0;
  const auto deadline = now + budget;
  boost::system::error_code ec;
  do {
    size_t n = sock_.read_some(asio::buffer(in_.get(), kInput), ec);
    if (!ec) {
      in_end_ = n;
      return true;
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      return false;  // the asynchronous read sees it again
    }
    // Let a client on this CPU run (it is what we wait for).
    sched_yield();
  } while (std::chrono::steady_clock::now() < deadline);
  spin_skip_ = 8;  // a client that pauses: do not spin for a while
  return false;
}

void TcpConn::ArmStallTimer() {
  // Armed once per record: it must arrive within the stall timeout.
  if (stall_armed_for_ == records_) return;
  stall_armed_for_ = records_;
  stall_timer_.expires_after(server_->opts.stall_timeout);
  stall_timer_.async_wait([self = shared_from_this(),
                           seq = records_](const boost::system::error_code& e) {
    if (e || self->records_ != seq || self->closed_) return;
    CFS_LOG_DEBUG("{}: {} stalled in the middle of a record; closing",
                  self->server_->opts.name, self->peer_.ToString());
    self->server_->bad_input.fetch_add(1, std::memory_order_relaxed);
    self->Close();
  });
}

bool TcpConn::HandleRecord(std::string_view record, std::string* owned) {
  if (server_->dispatcher->IsQuick(record)) {
    // Answer on this thread: no hand-off for cheap calls.
    std::string reply(4, '\0');  // room for the record mark
    Dispatcher::Outcome out =
        server_->dispatcher->Dispatch(record, peer_, Transport::kTcp, &reply);
    if (out == Dispatcher::Outcome::kClose) {
      server_->bad_input.fetch_add(1, std::memory_order_relaxed);
      Close();
      return false;
    }
    if (out == Dispatcher::Outcome::kReply) Enqueue(std::move(reply));
    return true;
  }
  Dispatch(owned != nullptr ? std::move(*owned) : std::string(record));
  if (inflight_ >= server_->opts.max_inflight_per_connection) {
    paused_ = true;  // resumed when a reply goes out
  }
  return true;
}

void TcpConn::Dispatch(std::string record) {
  ++inflight_;
  server_->pool->Work([self = shared_from_this(), record = std::move(record)] {
    std::string reply(4, '\0');  // room for the record mark
    ReplyTail tail;
    Dispatcher::Outcome out = self->server_->dispatcher->Dispatch(
        record, self->peer_, Transport::kTcp, &reply, &tail);
    asio::post(self->strand_, [self, out, reply = std::move(reply),
                               tail = std::move(tail)]() mutable {
      --self->inflight_;
      if (out == Dispatcher::Outcome::kClose) {
        self->server_->bad_input.fetch_add(1, std::memory_order_relaxed);
        self->Close();
        return;
      }
      if (out == Dispatcher::Outcome::kReply) {
        self->Enqueue(std::move(reply), std::move(tail));
      }
      if (self->paused_ && !self->closed_) {
        self->paused_ = false;
        self->Pump();  // what is buffered, then reading again
      }
    });
  });
}

void TcpConn::Enqueue(std::string reply, ReplyTail tail) {
  if (closed_) return;
  uint32_t len =
      static_cast<uint32_t>(reply.size() - 4 + tail.total()) | 0x80000000u;
  for (int i = 0; i < 4; ++i) reply[i] = static_cast<char>(len >> (24 - 8 * i));
  outq_.push_back(Out{std::move(reply), std::move(tail)});
  if (!parsing_) Flush();
}

void TcpConn::Flush() {
  // Usually the socket takes everything at once and no handler runs at all.
  while (!closed_ && !write_waiting_ && !outq_.empty()) {
    const Out& front = outq_.front();
    const size_t h = front.head.size();
    const bool in_file = front.tail.fd >= 0 && written_ >= h &&
                         written_ < h + front.tail.file_len;
    if (!(in_file ? SendFilePiece() : WriteGathered())) return;
  }
}

bool TcpConn::WriteGathered() {
  boost::container::static_vector<asio::const_buffer, 64> bufs;
  size_t skip = written_, offered = 0;
  bool at_file = false;
  for (auto it = outq_.begin();
       it != outq_.end() && !at_file && bufs.size() + 2 <= 64; ++it) {
    const ReplyTail& t = it->tail;
    // An Out is head, then the file piece (if any), then `data`.
    const asio::const_buffer pieces[2] = {
        asio::const_buffer(it->head.data(), it->head.size()),
        asio::const_buffer(t.data.get(), t.size)};
    for (int i = 0; i < 2; ++i) {
      asio::const_buffer b = pieces[i];
      if (i == 1 && t.fd >= 0) {
        if (t.file_len > skip) {  // not sent yet: it comes next
          at_file = true;
          break;
        }
        skip -= t.file_len;
      }
      if (b.size() <= skip) {
        skip -= b.size();
        continue;
      }
      b += skip;
      skip = 0;
      bufs.push_back(b);
      offered += b.size();
    }
  }
  if (offered == 0) return true;  // a file piece is next
  boost::system::error_code ec;
  size_t n = sock_.write_some(bufs, ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    Close();
    return false;
  }
  Advance(n);
  if (n < offered) {
    WaitWritable();
    return false;
  }
  return true;
}

bool TcpConn::SendFilePiece() {
  static const char kZeros[64 * 1024] = {};
  Out& front = outq_.front();
  ReplyTail& t = front.tail;
  const size_t pos = written_ - front.head.size();
  const size_t left = t.file_len - pos;
  ssize_t n;
  if (t.file_short) {
    // The file lost bytes after the reply promised them: zeros, as a read
    // of a truncated range gives.
    boost::system::error_code ec;
    n = static_cast<ssize_t>(sock_.write_some(
        asio::buffer(kZeros, std::min(left, sizeof(kZeros))), ec));
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      n = -1;
      errno = EAGAIN;
    } else if (ec) {
      Close();
      return false;
    }
  } else {
    off_t off = static_cast<off_t>(t.file_off + pos);
    n = ::sendfile(sock_.native_handle(), t.fd, &off,
                   std::min<size_t>(left, 1 << 30));
    if (n == 0) {
      t.file_short = true;
      return true;
    }
  }
  if (n > 0) {
    Advance(static_cast<size_t>(n));
    return true;
  }
  if (errno == EINTR) return true;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    WaitWritable();
    return false;
  }
  CFS_LOG_DEBUG("{}: sendfile to {} failed: {}; closing", server_->opts.name,
                peer_.ToString(), std::strerror(errno));
  Close();
  return false;
}

void TcpConn::Advance(size_t n) {
  // Drop what went out entirely; remember how far into the next it got.
  written_ += n;
  while (!outq_.empty() && written_ >= outq_.front().total()) {
    written_ -= outq_.front().total();
    outq_.pop_front();
  }
}

void TcpConn::WaitWritable() {
  write_waiting_ = true;
  sock_.async_wait(
      tcp::socket::wait_write,
      asio::bind_executor(strand_, [self = shared_from_this()](
                                       const boost::system::error_code& ec) {
        self->write_waiting_ = false;
        if (ec) {
          self->Close();
          return;
        }
        self->Flush();
      }));
}

RpcServer::RpcServer(IoPool* pool, Dispatcher* dispatcher, ServerOptions opts)
    : impl_(std::make_unique<Impl>(pool, dispatcher, std::move(opts))) {}

RpcServer::~RpcServer() { Stop(); }

Status RpcServer::Listen() {
  Impl& s = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s.opts.address, ec);
  if (ec) {
    return Status::Invalid(s.opts.name + ": bad listen address '" +
                           s.opts.address + "'");
  }
  uint16_t port = s.opts.port;
  auto fail = [&](const char* what) {
    return Status::Error(
        ec.value(), s.opts.name + ": cannot " + what + " " + s.opts.address +
                        ":" + std::to_string(port) + ": " + ec.message());
  };
  if (s.opts.tcp) {
    tcp::endpoint ep(addr, port);
    s.acceptor.emplace(s.io);
    s.acceptor->open(ep.protocol(), ec);
    if (ec) return fail("open TCP socket for");
    s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    s.acceptor->bind(ep, ec);
    if (ec) return fail("listen (TCP) on");
    s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen (TCP) on");
    port = s.acceptor->local_endpoint().port();
  }
  if (s.opts.udp) {
    udp::endpoint ep(addr, port);
    s.udp_sock.emplace(s.io);
    s.udp_sock->open(ep.protocol(), ec);
    if (ec) return fail("open UDP socket for");
    s.udp_sock->bind(ep, ec);
    if (ec) return fail("bind (UDP)");
    port = s.udp_sock->local_endpoint().port();
    s.udp_sock->set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
  }
  s.bound_port = port;
  if (s.acceptor) s.Accept();
  if (s.udp_sock) s.ReceiveUdp();
  return Status::Ok();
}

uint16_t RpcServer::port() const { return impl_->bound_port; }

void RpcServer::SendUdp(const Peer& to, std::string datagram) {
  Impl& s = *impl_;
  if (!s.udp_sock || s.stopping) return;
  udp::endpoint ep;
  if (to.family == AF_INET6) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), to.addr, 16);
    ep = udp::endpoint(asio::ip::address_v6(b), to.port);
  } else {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), to.addr, 4);
    asio::ip::address a = asio::ip::address_v4(b);
    // An IPv6 socket reaches IPv4 peers through mapped addresses.
    if (s.udp_sock->local_endpoint().address().is_v6()) {
      a = asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
    }
    ep = udp::endpoint(a, to.port);
  }
  auto msg = std::make_shared<std::string>(std::move(datagram));
  asio::post(s.io, [&s, msg, ep] { s.SendUdp(msg, ep); });
}

void RpcServer::Stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  if (!s.acceptor && !s.udp_sock) return;  // never listened
  boost::system::error_code ec;
  // Close listeners on the pool so no handler races with the close.
  std::promise<void> done;
  asio::post(s.io, [&] {
    if (s.acceptor) s.acceptor->close(ec);
    if (s.udp_sock) s.udp_sock->close(ec);
    done.set_value();
  });
  done.get_future().wait();
  std::set<std::shared_ptr<TcpConn>> conns;
  {
    std::lock_guard<std::mutex> lk(s.conns_mu);
    conns = s.conns;
  }
  for (auto& c : conns) c->Close();
}

RpcServer::Counters RpcServer::counters() const {
  Counters c;
  c.connections = impl_->accepted.load();
  {
    std::lock_guard<std::mutex> lk(impl_->conns_mu);
    c.open_connections = impl_->conns.size();
  }
  c.closed_bad_input = impl_->bad_input.load();
  return c;
}

}  // namespace concordfs::rpc
