// Status and Result<T>: the error currency of concordfs.
//
// A Status is either OK or an errno-compatible code plus a human-readable
// message. Errno values are used everywhere because every front end maps
// them to its own wire codes (FUSE replies them directly, NFS and SMB have
// one converter each). Result<T> holds either a value or a non-OK Status.
// Both are plain values: copyable, movable, no shared state, thread-compatible.
// No exceptions cross module boundaries; these types are how errors travel.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace concordfs {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  // `code` is a positive errno value (ENOENT, EACCES, ...).
  static Status Error(int code, std::string_view msg = {}) {
    return Status(code == 0 ? EIO : code, msg);
  }
  static Status NotFound(std::string_view msg = {}) {
    return Status(ENOENT, msg);
  }
  static Status Exists(std::string_view msg = {}) {
    return Status(EEXIST, msg);
  }
  static Status Invalid(std::string_view msg = {}) {
    return Status(EINVAL, msg);
  }
  static Status Access(std::string_view msg = {}) {
    return Status(EACCES, msg);
  }
  static Status Perm(std::string_view msg = {}) { return Status(EPERM, msg); }
  static Status Io(std::string_view msg = {}) { return Status(EIO, msg); }
  static Status Corruption(std::string_view msg) {
    return Status(EUCLEAN, msg);
  }
  static Status NotSupported(std::string_view msg = {}) {
    return Status(EOPNOTSUPP, msg);
  }

  bool ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return msg_; }
  // "ENOENT: no such entry 'foo'" style text for logs and CLI output.
  std::string ToString() const;

  bool operator==(const Status& o) const { return code_ == o.code_; }

 private:
  Status(int code, std::string_view msg) : code_(code), msg_(msg) {}
  int code_ = 0;
  std::string msg_;
};

// Symbolic name of an errno value ("ENOENT"), or "E<number>".
std::string ErrnoName(int code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status::Io("Result built from OK");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  int code() const { return ok() ? 0 : std::get<Status>(v_).code(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace concordfs

// Propagates a non-OK Status from an expression returning Status.
#define CFS_RETURN_IF_ERROR(expr)         \
  do {                                    \
    ::concordfs::Status _cfs_st = (expr); \
    if (!_cfs_st.ok()) return _cfs_st;    \
  } while (0)

#define CFS_CONCAT_INNER(a, b) a##b
#define CFS_CONCAT(a, b) CFS_CONCAT_INNER(a, b)
// `CFS_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns
// its Status.
#define CFS_ASSIGN_OR_RETURN(lhs, expr)              \
  auto CFS_CONCAT(_cfs_res_, __LINE__) = (expr);     \
  if (!CFS_CONCAT(_cfs_res_, __LINE__).ok())         \
    return CFS_CONCAT(_cfs_res_, __LINE__).status(); \
  lhs = std::move(CFS_CONCAT(_cfs_res_, __LINE__)).value()
