// SMB path names: the UTF-16LE name of an SMB2 CREATE (or a rename/link
// target) parsed into share-relative components and an optional named
// stream, with the Windows validity rules.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smb/info/nt_status.h"
#include "smb/info/wildcard.h"  // matching names against patterns

namespace concordfs::smb {

struct SmbPath {
  // UTF-8 components below the share root; empty = the root itself. "."
  // components are dropped and ".." ones applied.
  std::vector<std::string> components;
  // Named stream ("file:name" or "file:name:$DATA" → "name"); empty for
  // the default data stream ("file", "file::$DATA", "file:$DATA").
  std::string stream;
  // The name ended in a backslash ("dir\"): only a directory may match.
  bool trailing_separator = false;

  bool is_root() const { return components.empty(); }
  bool operator==(const SmbPath&) const = default;
};

// Parses an SMB2 CREATE name (UTF-16LE bytes, no terminating NUL):
//  - odd byte count, or a leading backslash (MS-SMB2 3.3.5.9):
//    STATUS_INVALID_PARAMETER;
//  - unpaired surrogates, empty components ("a\\b"), characters invalid
//    in Windows names (" * / : < > ? | and U+0000..U+001F) outside the
//    stream suffix, components over 255 UTF-16 units or 255 UTF-8 bytes,
//    a stream type other than $DATA: STATUS_OBJECT_NAME_INVALID;
//  - ".." above the share root: STATUS_OBJECT_PATH_SYNTAX_BAD.
// The last component may carry ":stream[:$DATA]" ("::$DATA" is the
// default stream); ":stream" alone names a stream of the share root (and is
// how rename targets name a stream of the file itself).
NtStatus ParseSmbPath(std::string_view utf16le_name, SmbPath* out);
// The same for a name already converted to UTF-8.
NtStatus ParseSmbPathUtf8(std::string_view utf8_name, SmbPath* out);

// "a\b\c" (no leading backslash; "" for the root), without the stream.
std::string JoinSmbPath(const SmbPath& path);

// True if `name` is acceptable as one component (the character and length
// rules above, and not "." or "..").
bool IsValidSmbComponent(std::string_view utf8_name);

// The 8.3 ("short") name Windows clients ask for (FileAlternateName
// Information): the name itself, upper-cased, when it is a valid 8.3 name;
// otherwise up to five of its characters, '~', two characters of a hash of
// the whole name, and up to three characters of its extension.
std::string ShortName(std::string_view utf8_name);

}  // namespace concordfs::smb
