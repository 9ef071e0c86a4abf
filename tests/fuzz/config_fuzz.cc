// libFuzzer target: the YAML configuration parser must turn any bytes into
// either a Config or an error with a position, never a crash or an escaped
// exception; a parsed Config must dump and re-parse to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config.h"

using namespace concordfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<Config> c = ParseConfig(in, "fuzz.yaml", "/base");
  if (!c.ok()) {
    if (c.code() != EINVAL) std::abort();
    return 0;
  }
  Result<Config> again = ParseConfig(DumpConfig(*c), "dump", "/elsewhere");
  if (!again.ok() || !(*again == *c)) std::abort();
  return 0;
}
