// Matching directory entry names against QUERY_DIRECTORY search patterns
// with the Windows rules (MS-FSA 2.1.4.4): '*' any run, '?' one character,
// and the DOS wildcards the Windows client sends for 8.3-style patterns:
// '<' (DOS_STAR), '>' (DOS_QM) and '"' (DOS_DOT). Case-insensitive.
//
// Pure functions; thread-safe.
#pragma once

#include <string_view>

namespace concordfs::smb {

// True if `pattern` contains any of * ? < > ".
bool HasWildcards(std::string_view pattern_utf8);

// True if `name` matches `pattern` (both UTF-8), ignoring case:
//   *  zero or more characters;
//   ?  exactly one character;
//   <  zero or more characters, but never the name's last '.';
//   >  one character, or nothing at a '.' or at the end of the name;
//   "  a '.', or nothing at the end of the name.
// "*" and "*.*" match every (non-empty) name; an empty pattern matches only
// an empty name. Patterns over 2048 characters match nothing.
bool WildcardMatch(std::string_view pattern_utf8, std::string_view name_utf8);

}  // namespace concordfs::smb
