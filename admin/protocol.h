// The admin protocol: how `concordctl` and the daemon's admin socket talk.
//
// One request per line, one response per line, each a JSON object (UTF-8,
// no newline inside; nlohmann's compact dump never writes one). A request
// names its command in "cmd" ("locks", "clients", "release", "grace",
// "status") with
// the command's arguments beside it; a response has "ok": true and the
// result, or "ok": false and "error": a message for people. A line longer
// than kMaxLineBytes is refused. Everything here is a pure function (no
// sockets) except AdminCall, which connects, sends one request and reads
// one response; all are safe to call from any thread. JSON parsing never
// throws across this interface.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/status.h"

namespace concordfs::admin {

using Json = nlohmann::json;

inline constexpr size_t kMaxLineBytes = 1 << 20;

// Parses one request line into an object with a string "cmd". Errors
// (EINVAL) say what is wrong: not JSON, not an object, no "cmd".
Result<Json> ParseRequest(std::string_view line);

// The line that carries `response` (compact JSON + '\n'). Invalid UTF-8 in
// strings is replaced, never thrown.
std::string EncodeLine(const Json& response);

Json ErrorResponse(std::string_view message);
Json OkResponse();

// Typed, non-throwing accessors for request fields. A missing or null
// field leaves `*out` unchanged and returns Ok; a field of the wrong type
// is EINVAL naming the field.
Status GetString(const Json& obj, const char* key, std::string* out);
Status GetUint(const Json& obj, const char* key, uint64_t* out);
Status GetBool(const Json& obj, const char* key, bool* out);

// Connects to the Unix socket at `path`, sends `request`, returns the
// response object ("ok": false responses are returned too, not turned into
// errors). Errors: the errno of connect/read/write with the path, or EPROTO
// for a response that is not a JSON object.
Result<Json> AdminCall(const std::string& path, const Json& request,
                       int timeout_ms = 10000);

}  // namespace concordfs::admin
