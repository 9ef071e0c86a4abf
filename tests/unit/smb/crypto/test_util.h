// Hex helpers and shared fixtures for the smb/crypto tests. Values marked
// "MS" are Microsoft's published SMB 3.x samples (Open Specifications
// blog: "Encryption in SMB 3.0: a protocol perspective", "SMB 3.1.1
// encryption in Windows 10", "SMB 3.1.1 pre-authentication integrity in
// Windows 10"); values marked "python reference" come from
// gen_reference_vectors.py (hashlib/hmac/Cryptodome), run by hand.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace concordfs::smb::testing {

// Hex (any case, whitespace ignored) to bytes.
inline std::string Unhex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char ch : hex) {
    if (std::isspace(static_cast<unsigned char>(ch))) continue;
    int v = std::isdigit(static_cast<unsigned char>(ch))
                ? ch - '0'
                : std::toupper(static_cast<unsigned char>(ch)) - 'A' + 10;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

// Bytes to upper-case hex, for readable failures.
inline std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : bytes) {
    out.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kDigits[static_cast<unsigned char>(c) & 15]);
  }
  return out;
}

// MS: SMB 3.1.1 sample, a client WRITE request (SIGNED flag set,
// MessageId 5, SessionId 0x100000000025), plaintext.
inline const std::string& Write311() {
  static const std::string* const m = new std::string(
      Unhex("FE534D4240000100000000000900010008000000000000000500000000000000"
            "FFFE000001000000250000000010000000000000000000000000000000000000"
            "3100700017000000000000000000000006000000040000000100000004000000"
            "00000000000000007000000000000000536D623320656E6372797074696F6E20"
            "74657374696E67"));
  return *m;
}

// MS: SMB 3.1.1 sample, the server's WRITE response, plaintext.
inline const std::string& Response311() {
  static const std::string* const m = new std::string(
      Unhex("FE534D4240000100000000000900010001000000000000000500000000000000"
            "FFFE000001000000250000000010000000000000000000000000000000000000"
            "11000000170000000000000000000000"));
  return *m;
}

// MS: the session's pre-auth integrity hash in the 3.1.1 encryption sample.
inline const std::string& Preauth311() {
  static const std::string* const m = new std::string(Unhex(
      "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
      "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770"));
  return *m;
}

}  // namespace concordfs::smb::testing
