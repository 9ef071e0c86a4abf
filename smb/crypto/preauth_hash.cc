#include "smb/crypto/preauth_hash.h"

#include <utility>

#include "smb/crypto/primitives.h"

namespace concordfs::smb {

void PreauthHash::Update(std::string_view message) {
  std::string next = crypto::Sha512({h_, message});
  // Only a provider without SHA-512 fails here; the hash then stays as it
  // was, the derived keys differ from the peer's, and the session fails
  // closed at its first signed message.
  if (next.size() == h_.size()) h_ = std::move(next);
}

}  // namespace concordfs::smb
