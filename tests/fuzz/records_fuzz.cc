// libFuzzer target: every decoder of stored bytes (inode, entry and cookie
// values, persisted lock records) must reject garbage without crashing, and
// whatever decodes must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "locking/lock_store.h"
#include "metadata/records.h"

using namespace concordfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Inode n;
  if (DecodeInode(in, &n).ok() && EncodeInode(n) != in) std::abort();
  DirEntry e;
  if (DecodeEntryValue(in, &e).ok() && EncodeEntryValue(e) != in) std::abort();
  (void)DecodeCookieValue(in, &e);
  // Split the input into a key and a value for the lock record decoder.
  size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  locking::PersistedLocks p;
  (void)locking::DecodePersisted(in.substr(0, cut), in.substr(cut), &p);
  return 0;
}
