// Logging: a thin layer over spdlog so that only this header names it.
//
// CFS_LOG_INFO("opened store at {}", dir) etc., fmt-style formatting. The
// logger writes to stderr (the terminal when run in the foreground) and is
// thread-safe. Never log per operation on hot paths; log state changes,
// errors and start/stop.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace concordfs {

// Sets the level by name: trace, debug, info, warn, error, off. Returns false
// for an unknown name.
bool SetLogLevel(std::string_view level);

}  // namespace concordfs

#define CFS_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define CFS_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define CFS_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define CFS_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
