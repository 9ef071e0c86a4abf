// Test helper shared by the metadata and lock-store tests: what a crash
// leaves of a LevelDB store that is still open. Header-only; not
// thread-safe against other users of `to`.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metadata/metadata_store.h"

namespace concordfs::testing {

// Copies the files of LevelDB directory `from` into a new `to`, like the
// disk a crash leaves, while the store is still open, and opens the copy.
// LevelDB's background compaction may delete or add files meanwhile (a real
// crash is one instant), so a copy that missed a file, or that does not
// open, is retried after a pause. nullptr if no copy opened.
inline std::unique_ptr<MetadataStore> CopyOpenStoreAndReopen(
    const std::string& from, const std::string& to) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::filesystem::remove_all(to);
    std::filesystem::create_directory(to);
    bool clean = true;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(from)) {
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::error_code ec;
      std::filesystem::copy_file(f, to / f.filename(), ec);
      if (ec) clean = false;  // deleted by LevelDB meanwhile
    }
    if (clean) {
      auto r = OpenLevelDbStore(to, SyncPolicy::kBatch);
      if (r.ok()) return std::move(r).value();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return nullptr;
}

}  // namespace concordfs::testing
