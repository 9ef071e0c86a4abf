#include "admin/protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace concordfs::admin {

Result<Json> ParseRequest(std::string_view line) {
  if (line.size() > kMaxLineBytes) {
    return Status::Invalid("request longer than " +
                           std::to_string(kMaxLineBytes) + " bytes");
  }
  Json j = Json::parse(line.begin(), line.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("request is not valid JSON");
  if (!j.is_object()) return Status::Invalid("request is not a JSON object");
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string()) {
    return Status::Invalid("request has no \"cmd\" string");
  }
  return j;
}

std::string EncodeLine(const Json& response) {
  return response.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Json ErrorResponse(std::string_view message) {
  return Json{{"ok", false}, {"error", std::string(message)}};
}

Json OkResponse() { return Json{{"ok", true}}; }

namespace {

Status WrongType(const char* key, const char* want) {
  return Status::Invalid(std::string("field \"") + key + "\" must be " + want);
}

}  // namespace

Status GetString(const Json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return WrongType(key, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status GetUint(const Json& obj, const char* key, uint64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_unsigned() &&
      !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return WrongType(key, "a non-negative integer");
  }
  *out = it->get<uint64_t>();
  return Status::Ok();
}

Status GetBool(const Json& obj, const char* key, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return WrongType(key, "true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

namespace {

Status SysError(const std::string& what, const std::string& path, int err) {
  return Status::Error(err, what + " " + path + ": " + std::strerror(err));
}

// Waits until `fd` is ready for `events` or the deadline passes.
Status WaitFor(int fd, short events, std::chrono::steady_clock::time_point end,
               const std::string& path) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    end - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return SysError("no answer from", path, ETIMEDOUT);
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR) return SysError("poll", path, errno);
  }
}

Result<Json> CallOn(int fd, const std::string& path, const Json& request,
                    int timeout_ms) {
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status::Invalid("socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return SysError("cannot connect to", path, errno);
  }
  const std::string out = EncodeLine(request);
  for (size_t done = 0; done < out.size();) {
    CFS_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, end, path));
    ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("cannot write to", path, errno);
    done += static_cast<size_t>(n);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    CFS_RETURN_IF_ERROR(WaitFor(fd, POLLIN, end, path));
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("cannot read from", path, errno);
    if (n == 0) {
      return Status::Error(EPROTO,
                           "the daemon closed " + path + " without answering");
    }
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > 256 * kMaxLineBytes) {
      return Status::Error(EPROTO, "answer from " + path + " is too long");
    }
  }
  in.resize(in.find('\n'));
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error(EPROTO, "answer from " + path + " is not JSON");
  }
  return j;
}

}  // namespace

Result<Json> AdminCall(const std::string& path, const Json& request,
                       int timeout_ms) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SysError("socket for", path, errno);
  // A local connect completes or fails at once, so the socket stays
  // blocking; reads and writes wait with poll against the deadline.
  Result<Json> r = CallOn(fd, path, request, timeout_ms);
  ::close(fd);
  return r;
}

}  // namespace concordfs::admin
