// Log components: which component a source path belongs to, level names,
// per-component levels, and that a line shows its component.
#include "util/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <string>

namespace concordfs {
namespace {

// Resolved at compile time, as the macros do.
static_assert(ComponentOfPath("/src/concordfs/rpc/nlm/nlm.cc") ==
              LogComponent::kNlm);
static_assert(ComponentOfPath(__FILE__) == LogComponent::kDaemon);

TEST(LogTest, ComponentOfPath) {
  struct Case {
    const char* path;
    LogComponent want;
  } cases[] = {
      {"/work/main/rpc/nlm/nlm.cc", LogComponent::kNlm},
      {"/work/main/rpc/nfs3/nfs3.cc", LogComponent::kNfs},
      {"/work/main/rpc/mount/mount.cc", LogComponent::kMount},
      {"/work/main/rpc/exports.cc", LogComponent::kMount},
      {"/work/main/rpc/portmap/portmap.cc", LogComponent::kPortmap},
      {"/work/main/rpc/server.cc", LogComponent::kRpc},
      {"/work/main/smb/core/connection.cc", LogComponent::kSmb},
      {"/work/main/fuse/fuse_frontend.cc", LogComponent::kFuse},
      {"/work/main/vfs/vfs.cc", LogComponent::kVfs},
      {"/work/main/metadata/fsck.cc", LogComponent::kMetadata},
      {"/work/main/locking/lock_manager.cc", LogComponent::kLocking},
      {"/work/main/net/io_pool.cc", LogComponent::kNet},
      {"/work/main/metrics/exporter.cc", LogComponent::kMetrics},
      {"/work/main/daemon/main.cc", LogComponent::kDaemon},
      {"/work/main/daemon/admin_server.cc", LogComponent::kAdmin},
      {"/work/main/daemon/metrics_service.cc", LogComponent::kMetrics},
      {"/work/main/daemon/nfs_service.cc", LogComponent::kNfs},
      {"/work/main/daemon/smb_service.cc", LogComponent::kSmb},
      {"/work/main/daemon/lock_store.cc", LogComponent::kLocking},
      {"/work/main/util/log.cc", LogComponent::kDaemon},
      // Relative paths (a build with relative __FILE__).
      {"rpc/nlm/nlm.cc", LogComponent::kNlm},
      {"smb/core/server.cc", LogComponent::kSmb},
      // The checkout's own directories do not count: the last project
      // folder in the path decides.
      {"/home/smb/rpc/nlm/nlm.cc", LogComponent::kNlm},
      {"/srv/fuse/concordfs/util/status.cc", LogComponent::kDaemon},
      {"/srv/vfs/x/smb/wire/codec.h", LogComponent::kSmb},
      // A folder name must be a whole path component.
      {"/work/xrpc/main.cc", LogComponent::kDaemon},
      {"/work/main/tests/integration/crash_workload.cc", LogComponent::kDaemon},
      {"", LogComponent::kDaemon},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(LogComponentName(ComponentOfPath(c.path)),
              LogComponentName(c.want))
        << c.path;
  }
}

TEST(LogTest, ComponentNames) {
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    auto c = static_cast<LogComponent>(i);
    std::string_view name = LogComponentName(c);
    ASSERT_FALSE(name.empty());
    EXPECT_EQ(LogComponentByName(name), c) << name;
    EXPECT_NE(LogComponentList().find(std::string(name)), std::string::npos);
  }
  EXPECT_EQ(LogComponentByName("nlm"), LogComponent::kNlm);
  EXPECT_FALSE(LogComponentByName("NLM"));
  EXPECT_FALSE(LogComponentByName("smb2"));
  EXPECT_FALSE(LogComponentByName(""));
  EXPECT_EQ(LogComponentList().substr(0, 18), "daemon, fuse, vfs,");
}

TEST(LogTest, ParsesLevels) {
  EXPECT_EQ(ParseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(ParseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(ParseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(ParseLogLevel("off"), spdlog::level::off);
  // Only the documented names (spdlog's own aliases are not config words).
  for (const char* bad :
       {"", "INFO", "warning", "err", "critical", "verbose"}) {
    EXPECT_FALSE(ParseLogLevel(bad)) << bad;
  }
}

TEST(LogTest, PerComponentLevels) {
  ASSERT_TRUE(SetLogLevels("info", {{"nlm", "trace"}, {"smb", "error"}}).ok());
  EXPECT_EQ(LogLevelOf(LogComponent::kNlm), spdlog::level::trace);
  EXPECT_EQ(LogLevelOf(LogComponent::kSmb), spdlog::level::err);
  EXPECT_EQ(LogLevelOf(LogComponent::kNfs), spdlog::level::info);
  EXPECT_EQ(DescribeLogLevels(), "info (nlm: trace, smb: error)");

  // Validated first: nothing changes on an error.
  Status st = SetLogLevels("debug", {{"nlm", "info"}, {"smbb", "debug"}});
  EXPECT_EQ(st.code(), EINVAL);
  EXPECT_NE(st.message().find("unknown log component 'smbb'"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("daemon, fuse"), std::string::npos);
  st = SetLogLevels("debug", {{"nlm", "loud"}});
  EXPECT_EQ(st.code(), EINVAL);
  EXPECT_NE(st.message().find("'loud'"), std::string::npos);
  EXPECT_FALSE(SetLogLevels("chatty", {}).ok());
  EXPECT_FALSE(SetLogLevel("chatty"));
  EXPECT_EQ(DescribeLogLevels(), "info (nlm: trace, smb: error)");

  EXPECT_TRUE(SetLogLevel("warn"));
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    EXPECT_EQ(LogLevelOf(static_cast<LogComponent>(i)), spdlog::level::warn);
  }
  EXPECT_EQ(DescribeLogLevels(), "warn");
  ASSERT_TRUE(SetLogLevel("info"));
}

TEST(LogTest, LinesShowTheirComponentAndHonourItsLevel) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l [%n] %v");
  // Route the components' loggers to the test's sink.
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    auto c = static_cast<LogComponent>(i);
    log_internal::Logger(c)->sinks().push_back(sink);
  }
  ASSERT_TRUE(SetLogLevels("info", {{"nlm", "debug"}, {"smb", "off"}}).ok());
  CFS_LOG_INFO("plain {}", 1);                        // this file: daemon
  CFS_LOG_DEBUG("hidden {}", 2);                      // daemon is at info
  CFS_LOG_DEBUG_IN(LogComponent::kNlm, "nlm {}", 3);  // nlm at debug
  CFS_LOG_ERROR_IN(LogComponent::kSmb, "smb {}", 4);  // smb is off
  CFS_LOG_WARN_IN(LogComponent::kNsm, "nsm {}", 5);
  for (size_t i = 0; i < kLogComponentCount; ++i) {
    auto c = static_cast<LogComponent>(i);
    log_internal::Logger(c)->sinks().pop_back();
  }
  ASSERT_TRUE(SetLogLevel("info"));
  EXPECT_EQ(out.str(),
            "info [daemon] plain 1\n"
            "debug [nlm] nlm 3\n"
            "warning [nsm] nsm 5\n");
}

}  // namespace
}  // namespace concordfs
