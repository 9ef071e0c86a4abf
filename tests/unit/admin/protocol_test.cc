// The admin protocol's framing and field accessors, without sockets.
#include "admin/protocol.h"

#include <gtest/gtest.h>

namespace concordfs::admin {
namespace {

TEST(AdminProtocolTest, ParsesRequests) {
  Result<Json> r = ParseRequest(R"({"cmd":"locks","path":"/a"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["cmd"], "locks");
  EXPECT_EQ((*r)["path"], "/a");
}

TEST(AdminProtocolTest, MalformedRequestsSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "request is not valid JSON"},
      {"{\"cmd\":", "request is not valid JSON"},
      {"hello", "request is not valid JSON"},
      {"[1,2]", "request is not a JSON object"},
      {"\"locks\"", "request is not a JSON object"},
      {"{}", "request has no \"cmd\" string"},
      {"{\"cmd\":7}", "request has no \"cmd\" string"},
      {"{\"cmd\":null}", "request has no \"cmd\" string"},
  };
  for (const auto& [in, want] : cases) {
    Result<Json> r = ParseRequest(in);
    ASSERT_FALSE(r.ok()) << in;
    EXPECT_EQ(r.code(), EINVAL) << in;
    EXPECT_EQ(r.status().message(), want) << in;
  }
  std::string huge = "{\"cmd\":\"" + std::string(kMaxLineBytes, 'x') + "\"}";
  EXPECT_FALSE(ParseRequest(huge).ok());
}

TEST(AdminProtocolTest, EncodedLineIsOneLine) {
  Json j = OkResponse();
  j["text"] = "two\nlines";
  j["bad"] = std::string("\xff\xfe", 2);  // not UTF-8: replaced, no throw
  std::string line = EncodeLine(j);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  Result<Json> back = ParseRequest(R"({"cmd":"x"})");
  ASSERT_TRUE(back.ok());
  Json parsed = Json::parse(line, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["text"], "two\nlines");
  EXPECT_EQ(ErrorResponse("no")["ok"], false);
  EXPECT_EQ(ErrorResponse("no")["error"], "no");
}

TEST(AdminProtocolTest, TypedFields) {
  Json j = Json::parse(R"({"s":"x","n":5,"neg":-1,"b":true,"z":null})");
  std::string s = "keep";
  uint64_t n = 9;
  bool b = false;
  EXPECT_TRUE(GetString(j, "missing", &s).ok());
  EXPECT_EQ(s, "keep");
  EXPECT_TRUE(GetString(j, "z", &s).ok());
  EXPECT_EQ(s, "keep");
  EXPECT_TRUE(GetString(j, "s", &s).ok());
  EXPECT_EQ(s, "x");
  EXPECT_TRUE(GetUint(j, "n", &n).ok());
  EXPECT_EQ(n, 5u);
  EXPECT_TRUE(GetBool(j, "b", &b).ok());
  EXPECT_TRUE(b);
  EXPECT_EQ(GetString(j, "n", &s).message(), "field \"n\" must be a string");
  EXPECT_EQ(GetUint(j, "neg", &n).message(),
            "field \"neg\" must be a non-negative integer");
  EXPECT_EQ(GetBool(j, "s", &b).message(), "field \"s\" must be true or false");
}

TEST(AdminProtocolTest, CallToNothingNamesThePath) {
  Result<Json> r =
      AdminCall("/nonexistent/admin.sock", Json{{"cmd", "status"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ENOENT);
  EXPECT_NE(r.status().message().find("/nonexistent/admin.sock"),
            std::string::npos);
}

}  // namespace
}  // namespace concordfs::admin
