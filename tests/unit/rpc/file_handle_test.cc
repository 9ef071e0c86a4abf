// HandleCodec (sealed NFS file handles) and the handle key file.
#include "rpc/file_handle.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

namespace concordfs::rpc {
namespace {

const std::string kKey(32, 'k');

TEST(HandleCodec, RoundTrips) {
  HandleCodec c(kKey);
  for (FileHandle h :
       {FileHandle{1, 1, 0}, FileHandle{0xdeadbeef, 12345, 7},
        FileHandle{0xffffffff, ~0ULL, 0xffffffff}, FileHandle{0, 0, 0}}) {
    std::string b = c.Encode(h);
    ASSERT_EQ(HandleCodec::kSize, b.size());
    EXPECT_EQ(std::string("CF\x01\x00", 4), b.substr(0, 4));
    auto d = c.Decode(b);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(h.export_id, d->export_id);
    EXPECT_EQ(h.ino, d->ino);
    EXPECT_EQ(h.generation, d->generation);
    EXPECT_EQ(b, c.Encode(h)) << "encoding is not deterministic";
  }
}

// The MAC is HMAC-SHA256 truncated to 8 bytes, as handles issued before
// the precomputed key blocks were: handles survive upgrades.
TEST(HandleCodec, MacIsTruncatedHmacSha256) {
  for (const std::string& key :
       {kKey, std::string(32, '\0'),
        std::string("0123456789abcdef0123456789abcdef")}) {
    HandleCodec c(key);
    for (FileHandle h : {FileHandle{1, 1, 0}, FileHandle{7, 99999, 3}}) {
      std::string b = c.Encode(h);
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(b.data()), 20, md, &len);
      EXPECT_EQ(std::string(reinterpret_cast<char*>(md), 8), b.substr(20));
    }
  }
}

TEST(HandleCodec, EverySingleFlippedBitOrByteIsRejected) {
  HandleCodec c(kKey);
  std::string good = c.Encode({42, 1000, 3});
  ASSERT_TRUE(c.Decode(good));
  for (size_t i = 0; i < good.size(); ++i) {
    for (int mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      EXPECT_FALSE(c.Decode(bad).has_value())
          << "byte " << i << " ^ " << mask << " accepted";
    }
  }
}

TEST(HandleCodec, WrongSizeIsRejected) {
  HandleCodec c(kKey);
  std::string good = c.Encode({42, 1000, 3});
  EXPECT_FALSE(c.Decode("").has_value());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(c.Decode(good.substr(0, n)).has_value()) << n;
  }
  EXPECT_FALSE(c.Decode(good + '\0').has_value());
  EXPECT_FALSE(c.Decode(good + good).has_value());
  EXPECT_FALSE(c.Decode(std::string(64, '\0')).has_value());
}

TEST(HandleCodec, AnotherKeyRejects) {
  HandleCodec a(kKey), b(std::string(31, 'k') + 'K');
  std::string h = a.Encode({1, 2, 3});
  EXPECT_FALSE(b.Decode(h).has_value());
  EXPECT_TRUE(a.Decode(h).has_value());
  EXPECT_NE(h, b.Encode({1, 2, 3}));
}

TEST(HandleCodec, DistinctHandlesDiffer) {
  HandleCodec c(kKey);
  EXPECT_NE(c.Encode({1, 2, 3}), c.Encode({1, 2, 4}));
  EXPECT_NE(c.Encode({1, 2, 3}), c.Encode({1, 3, 3}));
  EXPECT_NE(c.Encode({1, 2, 3}), c.Encode({2, 2, 3}));
  // A forged handle: the fields of one with the MAC of another.
  std::string a = c.Encode({1, 2, 3}), b = c.Encode({1, 2, 4});
  std::string forged = b.substr(0, 20) + a.substr(20);
  EXPECT_FALSE(c.Decode(forged).has_value());
}

class HandleKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "handle_key_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const char* name) const { return (dir_ / name).string(); }
  void WriteFile(const std::string& path, const std::string& data) {
    std::ofstream f(path, std::ios::binary);
    f << data;
  }

  std::filesystem::path dir_;
};

TEST_F(HandleKeyTest, CreatesA32ByteOwnerOnlyFileAndReusesIt) {
  mode_t old = ::umask(0);  // the mode must not depend on the umask
  auto k1 = LoadOrCreateHandleKey(Path("key"));
  ::umask(old);
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  EXPECT_EQ(32u, k1->size());
  struct stat st;
  ASSERT_EQ(0, ::stat(Path("key").c_str(), &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(0600u, st.st_mode & 07777);
  EXPECT_EQ(32, st.st_size);
  EXPECT_FALSE(std::filesystem::exists(Path("key.tmp")));

  auto k2 = LoadOrCreateHandleKey(Path("key"));
  ASSERT_TRUE(k2.ok()) << k2.status().ToString();
  EXPECT_EQ(*k1, *k2);
  // Handles made with the first survive a "restart".
  EXPECT_TRUE(HandleCodec(*k2).Decode(HandleCodec(*k1).Encode({1, 2, 3})));
}

TEST_F(HandleKeyTest, NewKeysAreRandom) {
  auto a = LoadOrCreateHandleKey(Path("a"));
  auto b = LoadOrCreateHandleKey(Path("b"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(std::string(32, '\0'), *a);
}

TEST_F(HandleKeyTest, ExistingKeyIsReadAsIs) {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = static_cast<char>(i * 7);
  WriteFile(Path("key"), key);
  auto k = LoadOrCreateHandleKey(Path("key"));
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(key, *k);
}

TEST_F(HandleKeyTest, WrongSizeFileIsAnError) {
  for (size_t n : {0u, 16u, 31u, 33u, 64u}) {
    WriteFile(Path("key"), std::string(n, 'x'));
    auto k = LoadOrCreateHandleKey(Path("key"));
    ASSERT_FALSE(k.ok()) << n << " bytes accepted";
    EXPECT_EQ(EUCLEAN, k.code()) << n;
    // Left alone, not replaced.
    EXPECT_EQ(n, std::filesystem::file_size(Path("key")));
  }
}

TEST_F(HandleKeyTest, MissingDirectoryIsAnError) {
  auto k = LoadOrCreateHandleKey(Path("no/such/dir/key"));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(ENOENT, k.code());
}

TEST_F(HandleKeyTest, DirectoryInTheWayIsAnError) {
  std::filesystem::create_directory(Path("key"));
  EXPECT_FALSE(LoadOrCreateHandleKey(Path("key")).ok());
}

}  // namespace
}  // namespace concordfs::rpc
