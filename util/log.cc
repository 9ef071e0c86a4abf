#include "util/log.h"

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <vector>

namespace concordfs {
namespace {

constexpr std::string_view kComponentNames[] = {
    "daemon", "fuse", "vfs",     "metadata", "locking",
    "net",    "rpc",  "portmap", "mount",    "nfs",
    "nlm",    "nsm",  "smb",     "admin",    "metrics",
};
static_assert(std::size(kComponentNames) == kLogComponentCount);

constexpr spdlog::level::level_enum kLevels[] = {
    spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
    spdlog::level::warn,  spdlog::level::err,   spdlog::level::off,
};
static_assert(std::size(kLevels) == std::size(kLogLevelNames));

constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v";

struct Loggers {
  std::array<std::shared_ptr<spdlog::logger>, kLogComponentCount> by_component;
};

Loggers& All() {
  // Created once, on the first line logged; every logger writes to the
  // default logger's sinks (the terminal), so lines stay in one stream.
  static Loggers* loggers = [] {
    auto* l = new Loggers;
    std::shared_ptr<spdlog::logger> def = spdlog::default_logger();
    for (size_t i = 0; i < kLogComponentCount; ++i) {
      auto lg = std::make_shared<spdlog::logger>(
          std::string(kComponentNames[i]), def->sinks().begin(),
          def->sinks().end());
      lg->set_level(static_cast<spdlog::level::level_enum>(
          log_internal::g_level[i].load(std::memory_order_relaxed)));
      spdlog::register_logger(lg);
      l->by_component[i] = std::move(lg);
    }
    // The sinks are shared: one pattern for all (`%n` is the component).
    spdlog::set_pattern(kPattern);
    return l;
  }();
  return *loggers;
}

std::mutex& SetterMutex() {
  static std::mutex mu;
  return mu;
}

// Applies the levels in g_level to the spdlog loggers; the default logger
// gets the lowest, so that spdlog::should_log() on it is true whenever
// some component logs at that level.
void SyncSpdlogLevels() {
  Loggers& l = All();
  int lowest = spdlog::level::off;
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    int v = log_internal::g_level[i].load(std::memory_order_relaxed);
    l.by_component[i]->set_level(static_cast<spdlog::level::level_enum>(v));
    lowest = std::min(lowest, v);
  }
  spdlog::default_logger()->set_level(
      static_cast<spdlog::level::level_enum>(lowest));
}

}  // namespace

namespace log_internal {

// One initializer per component (a missing one would silently be trace).
static_assert(kLogComponentCount == 15);
std::atomic<int> g_level[kLogComponentCount] = {
    spdlog::level::info, spdlog::level::info, spdlog::level::info,
    spdlog::level::info, spdlog::level::info, spdlog::level::info,
    spdlog::level::info, spdlog::level::info, spdlog::level::info,
    spdlog::level::info, spdlog::level::info, spdlog::level::info,
    spdlog::level::info, spdlog::level::info, spdlog::level::info,
};

spdlog::logger* Logger(LogComponent c) {
  return All().by_component[static_cast<size_t>(c)].get();
}

}  // namespace log_internal

std::string_view LogComponentName(LogComponent c) {
  size_t i = static_cast<size_t>(c);
  return i < kLogComponentCount ? kComponentNames[i] : "?";
}

std::optional<LogComponent> LogComponentByName(std::string_view name) {
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    if (kComponentNames[i] == name) return static_cast<LogComponent>(i);
  }
  return std::nullopt;
}

std::string LogComponentList() {
  std::string out;
  for (std::string_view n : kComponentNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::optional<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  for (size_t i = 0; i < std::size(kLogLevelNames); ++i) {
    if (kLogLevelNames[i] == name) return kLevels[i];
  }
  return std::nullopt;
}

bool SetLogLevel(std::string_view level) {
  return SetLogLevels(level, {}).ok();
}

Status SetLogLevels(std::string_view level,
                    const std::map<std::string, std::string>& per_component) {
  std::optional<spdlog::level::level_enum> all = ParseLogLevel(level);
  if (!all) {
    return Status::Invalid("unknown log level '" + std::string(level) + "'");
  }
  std::array<int, kLogComponentCount> next;
  next.fill(*all);
  for (const auto& [name, lvl] : per_component) {
    std::optional<LogComponent> c = LogComponentByName(name);
    if (!c) {
      return Status::Invalid("unknown log component '" + name +
                             "' (known: " + LogComponentList() + ")");
    }
    std::optional<spdlog::level::level_enum> l = ParseLogLevel(lvl);
    if (!l) {
      return Status::Invalid("unknown log level '" + lvl + "' for '" + name +
                             "'");
    }
    next[static_cast<size_t>(*c)] = *l;
  }
  std::lock_guard<std::mutex> g(SetterMutex());
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    log_internal::g_level[i].store(next[i], std::memory_order_relaxed);
  }
  SyncSpdlogLevels();
  return Status::Ok();
}

spdlog::level::level_enum LogLevelOf(LogComponent c) {
  return static_cast<spdlog::level::level_enum>(
      log_internal::g_level[static_cast<size_t>(c)].load(
          std::memory_order_relaxed));
}

std::string DescribeLogLevels() {
  // The level most components have is "the" level; list the others.
  std::array<int, std::size(kLevels)> count{};
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    int v = log_internal::g_level[i].load(std::memory_order_relaxed);
    for (size_t j = 0; j < std::size(kLevels); ++j) {
      if (kLevels[j] == v) ++count[j];
    }
  }
  size_t common = 0;
  for (size_t j = 1; j < count.size(); ++j) {
    if (count[j] > count[common]) common = j;
  }
  std::string out(kLogLevelNames[common]);
  std::string others;
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    int v = log_internal::g_level[i].load(std::memory_order_relaxed);
    if (v == kLevels[common]) continue;
    for (size_t j = 0; j < std::size(kLevels); ++j) {
      if (kLevels[j] != v) continue;
      others += (others.empty() ? "" : ", ") + std::string(kComponentNames[i]) +
                ": " + std::string(kLogLevelNames[j]);
    }
  }
  if (!others.empty()) out += " (" + others + ")";
  return out;
}

}  // namespace concordfs
