#include "smb/info/wildcard.h"

#include <gtest/gtest.h>

#include <string>

namespace concordfs::smb {
namespace {

struct Case {
  const char* pattern;
  const char* name;
  bool match;
};

const Case kCases[] = {
    // Everything.
    {"*", "anything", true},
    {"*", "a.b.c", true},
    {"*.*", "noext", true},
    {"*.*", "a.txt", true},
    {"*.*", ".hidden", true},
    // Literal names, case-insensitive.
    {"abc", "abc", true},
    {"abc", "ABC", true},
    {"ABC", "abc", true},
    {"abc", "abcd", false},
    {"abc", "ab", false},
    // '*'.
    {"*.txt", "a.txt", true},
    {"*.txt", "A.TXT", true},
    {"*.txt", ".txt", true},
    {"*.txt", "a.txt.bak", false},
    {"*.txt", "atxt", false},
    {"a*", "a", true},
    {"a*", "ab.c", true},
    {"*a", "bba", true},
    {"*a*b", "xaxxb", true},
    {"a*b*c", "abxbc", true},
    {"a*b*c", "acb", false},
    {"**", "x", true},
    {"*.", "abc.", true},
    {"*.", "abc", false},
    // '?'.
    {"a?c", "abc", true},
    {"a?c", "ABC", true},
    {"a?c", "ac", false},
    {"a?c", "abbc", false},
    {"?", "a", true},
    {"?", "ab", false},
    {"???", "a.b", true},
    // DOS_STAR '<': never consumes the last dot.
    {"<.txt", "a.txt", true},
    {"<.txt", "a.b.txt", true},
    {"<.txt", "atxt", false},
    {"<", "abc", true},
    {"<", "a.b", false},
    {"<.<", "a.b", true},
    {"<.<", "a.b.c", true},
    // "*." as the Windows client sends it: names without an extension.
    {"<\"", "abc", true},
    {"<\"", "abc.", true},
    {"<\"", "a.b", false},
    // DOS_QM '>': one character, or nothing at a dot or at the end.
    {"a>>", "a", true},
    {"a>>", "ab", true},
    {"a>>", "abc", true},
    {"a>>", "abcd", false},
    {"a>>.txt", "a.txt", true},
    {"a>>.txt", "ab.txt", true},
    {"a>>.txt", "abc.txt", true},
    {"a>>.txt", "abcd.txt", false},
    {">", "", false},
    // DOS_DOT '"': a dot, or nothing at the end.
    {"abc\"", "abc", true},
    {"abc\"", "abc.", true},
    {"abc\"", "abcd", false},
    {"a\"b", "a.b", true},
    {"a\"b", "axb", false},
    // "<.>>>" as the client sends "*.???".
    {"<.>>>", "a.txt", true},
    {"<.>>>", "a.c", true},
    {"<.>>>", "a.html", false},
    // Empties.
    {"", "", true},
    {"", "a", false},
    {"*", "", false},
    // Non-ASCII: case folding and '?' over a multi-byte character.
    {"\xC3\xA9*",
     "\xC3\x89"
     "COLE",
     true},
    {"?", "\xC3\xA9", true},
    {"??", "\xC3\xA9", false},
    {"\xE2\x82\xAC?",
     "\xE2\x82\xAC"
     "1",
     true},
};

TEST(Wildcard, Table) {
  for (const Case& c : kCases) {
    EXPECT_EQ(WildcardMatch(c.pattern, c.name), c.match)
        << "pattern '" << c.pattern << "' name '" << c.name << "'";
  }
}

TEST(Wildcard, HasWildcards) {
  EXPECT_FALSE(HasWildcards("abc.txt"));
  for (const char* p : {"*", "a?", "<", ">", "\""}) {
    EXPECT_TRUE(HasWildcards(p)) << p;
  }
}

TEST(Wildcard, PathologicalPatternsAreFast) {
  std::string name(255, 'a');
  std::string pattern;
  for (int i = 0; i < 100; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_FALSE(WildcardMatch(pattern, name));
  EXPECT_FALSE(WildcardMatch(std::string(3000, '*'), "a"));
  EXPECT_TRUE(WildcardMatch(std::string(2000, '*'), name));
}

TEST(Wildcard, MalformedUtf8DoesNotCrash) {
  EXPECT_TRUE(WildcardMatch("*", "\xFF\xFE"));
  EXPECT_TRUE(WildcardMatch("?", "\xFF"));
  EXPECT_TRUE(WildcardMatch("\xC3*", "\xC3"));
}

}  // namespace
}  // namespace concordfs::smb
