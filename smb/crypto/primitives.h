// Thin wrappers over the OpenSSL 3 primitives SMB2/3 needs: HMAC-SHA256,
// AES-CMAC (RFC 4493), AES-GMAC (RFC 4543), AES-CCM/GCM with a 16-byte tag,
// SHA-512, random bytes and a constant-time compare. Inputs that are long
// messages are passed as several parts so callers can feed a message with
// its signature field replaced by zeros without copying it.
//
// Every call uses its own OpenSSL context; the algorithm objects fetched
// from the default provider are fetched once and shared read-only, as
// OpenSSL allows. All functions are thread-safe. Failures (a key of the
// wrong size, an algorithm the provider lacks) are reported as an empty
// result or `false`, never by aborting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace concordfs::smb::crypto {

using Parts = std::initializer_list<std::string_view>;

// HMAC-SHA256 over the concatenation of `data` (32 bytes; empty on failure).
std::string HmacSha256(std::string_view key, Parts data);

// AES-CMAC with AES-128 (16-byte key) or AES-256 (32-byte key); 16 bytes,
// empty for another key size or on failure.
std::string AesCmac(std::string_view key, Parts data);

// AES-GMAC: the AES-GCM tag over `aad` with an empty plaintext; 12-byte
// nonce, 16- or 32-byte key. 16 bytes, empty on failure.
std::string AesGmac(std::string_view key, std::string_view nonce, Parts aad);

enum class AeadMode { kCcm, kGcm };

// Encrypts `plaintext` into `out` (plaintext.size() bytes, may not overlap
// the input) and writes the 16-byte tag to `tag`. CCM takes an 11-byte nonce
// (so L = 4, messages below 4 GiB), GCM a 12-byte one; the key is 16 or 32
// bytes. CCM needs a non-empty plaintext. False on any failure.
bool AeadSeal(AeadMode mode, std::string_view key, std::string_view nonce,
              std::string_view aad, std::string_view plaintext, char* out,
              char* tag);

// Decrypts and verifies; false when the tag does not match (the contents
// of `out` are then unspecified) or on any other failure.
bool AeadOpen(AeadMode mode, std::string_view key, std::string_view nonce,
              std::string_view aad, std::string_view ciphertext,
              std::string_view tag, char* out);

// SHA-512 over the concatenation of `data` (64 bytes; empty on failure).
std::string Sha512(Parts data);

// Fills `out` from the OpenSSL CSPRNG; false if it is not seeded.
bool RandomBytes(void* out, size_t n);

// Equal sizes and contents, in time independent of the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace concordfs::smb::crypto
