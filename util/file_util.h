// Small files written whole and atomically (state numbers, keys): the data
// goes to `path`.tmp, is fsynced, then renamed over `path`, so a crash
// leaves the old or the new content, never a torn file. Stateless;
// thread-safe for distinct paths.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace concordfs {

Status WriteFileAtomically(const std::string& path, std::string_view data,
                           int mode = 0600);

}  // namespace concordfs
