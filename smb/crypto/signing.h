// SMB2/3 message signing (MS-SMB2 3.1.4.1 and 3.1.5.1): HMAC-SHA256
// truncated to 16 bytes (2.0.2, 2.1), AES-128-CMAC (3.x) and AES-128-GMAC
// (3.1.1 with SMB2_SIGNING_CAPABILITIES).
//
// A "message" here is one SMB2 message as it travels: for a compound, one
// element from its 64-byte header up to the next element (padding
// included), or to the end for the last one. The 16-byte Signature field
// at offset 48 is always treated as zero, so the same function signs and
// verifies. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "smb/crypto/algorithms.h"

namespace concordfs::smb {

// The 16-byte signature of `message` under `key`. For AES-GMAC the nonce is
// the header's MessageId followed by a 32-bit word whose bit 0 is set for a
// response (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 for a CANCEL request.
// Empty when the message is shorter than an SMB2 header or the key does
// not fit the algorithm (CMAC/GMAC take 16-byte keys; 32 also works).
std::string ComputeSignature(SigningAlg alg, std::string_view key,
                             std::string_view message);

// Writes the signature into (*message)[48..64). The caller sets
// SMB2_FLAGS_SIGNED in the header first (the flag is covered by the
// signature). False, with the message unchanged, when no signature can be
// computed (see ComputeSignature).
bool SignMessage(SigningAlg alg, std::string_view key, std::string* message);

// True when the Signature field holds the signature of the message;
// compared in constant time. False for a short message or unusable key.
bool VerifySignature(SigningAlg alg, std::string_view key,
                     std::string_view message);

}  // namespace concordfs::smb
