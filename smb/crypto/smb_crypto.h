// SMB2/3 cryptography in one include: algorithm ids (algorithms.h), key
// derivation (kdf.h), message signing (signing.h), transform-header
// encryption (transform.h) and the 3.1.1 pre-auth integrity hash
// (preauth_hash.h). The OpenSSL wrappers underneath live in primitives.h.
//
// Everything here is a pure function or a value type: no global state
// except the process-wide nonce counter, which is atomic. Thread-safe.
#pragma once

#include "smb/crypto/algorithms.h"
#include "smb/crypto/kdf.h"
#include "smb/crypto/preauth_hash.h"
#include "smb/crypto/signing.h"
#include "smb/crypto/transform.h"
