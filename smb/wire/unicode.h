// UTF-8 (how names are stored in the backend) <-> UTF-16LE (how SMB and
// NTLMSSP carry them), and the case folding Windows name comparisons need.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace concordfs::smb {

// UTF-16LE bytes -> UTF-8. nullopt for an odd length or an unpaired
// surrogate (a client bug or a malformed frame).
std::optional<std::string> Utf16ToUtf8(std::string_view utf16le);
// UTF-8 -> UTF-16LE. Invalid UTF-8 bytes become U+FFFD.
std::string Utf8ToUtf16(std::string_view utf8);
// Upper-cases ASCII and Latin-1/Latin Extended-A/Greek/Cyrillic basic
// letters (enough for user, domain and share names); other code points are
// kept.
std::string Utf8ToUpper(std::string_view utf8);
// Case-insensitive equality via Utf8ToUpper.
bool Utf8EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace concordfs::smb
