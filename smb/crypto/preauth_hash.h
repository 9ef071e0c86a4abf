// SMB 3.1.1 pre-authentication integrity (MS-SMB2 3.3.5.4, 3.3.5.5): a
// running SHA-512 over the NEGOTIATE request and response (the
// connection's hash) and then, per session, over each SESSION_SETUP request
// and each response other than the final success: H = SHA512(H || message),
// starting from 64 zero bytes. Each `message` is a whole SMB2 message
// without the 4-byte transport header.
//
// A value type: copy the connection's hash to start a session's.
// Thread-compatible (one owner updates it).
#pragma once

#include <string>
#include <string_view>

namespace concordfs::smb {

class PreauthHash {
 public:
  PreauthHash() = default;

  void Update(std::string_view message);
  // The current 64-byte hash value.
  const std::string& value() const { return h_; }
  // Back to 64 zero bytes.
  void Reset() { h_.assign(64, '\0'); }

 private:
  std::string h_ = std::string(64, '\0');
};

}  // namespace concordfs::smb
