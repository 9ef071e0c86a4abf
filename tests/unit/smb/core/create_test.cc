// CREATE: the disposition table on existing and missing files (status and
// CreateAction, data kept or truncated), delete-on-close, and
// DIRECTORY_FILE / NON_DIRECTORY_FILE against what the name is.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

class CreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Setup());
    OpContext root;
    auto f = c_.vfs().Create(root, kRootInode, "exist.txt", 0644,
                             O_RDWR | O_CREAT | O_EXCL);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(
        c_.vfs().Write(root, f->attr.inode.id, f->handle, 0, "hello").ok());
    ASSERT_TRUE(c_.vfs().Release(f->handle).ok());
    ASSERT_TRUE(c_.vfs().Mkdir(root, kRootInode, "dir", 0755).ok());
  }
  bool Exists(std::string_view name) {
    return c_.vfs().Lookup(OpContext(), kRootInode, name).ok();
  }
  std::optional<Attr> Stat(std::string_view name) {
    auto a = c_.vfs().Lookup(OpContext(), kRootInode, name);
    if (!a.ok()) return std::nullopt;
    return *a;
  }

  SmbTestClient c_;
};

struct DispositionCase {
  uint32_t disposition;
  bool exists;
  uint32_t status;
  uint32_t action;
  bool truncated;  // existing data gone
};

TEST_F(CreateTest, DispositionTable) {
  const DispositionCase cases[] = {
      {kDispSupersede, true, kStatusSuccess, kActionSuperseded, true},
      {kDispOpen, true, kStatusSuccess, kActionOpened, false},
      {kDispCreate, true, kStatusObjectNameCollision, 0, false},
      {kDispOpenIf, true, kStatusSuccess, kActionOpened, false},
      {kDispOverwrite, true, kStatusSuccess, kActionOverwritten, true},
      {kDispOverwriteIf, true, kStatusSuccess, kActionOverwritten, true},
      {kDispSupersede, false, kStatusSuccess, kActionCreated, false},
      {kDispOpen, false, kStatusObjectNameNotFound, 0, false},
      {kDispCreate, false, kStatusSuccess, kActionCreated, false},
      {kDispOpenIf, false, kStatusSuccess, kActionCreated, false},
      {kDispOverwrite, false, kStatusObjectNameNotFound, 0, false},
      {kDispOverwriteIf, false, kStatusSuccess, kActionCreated, false},
  };
  int n = 0;
  for (const DispositionCase& k : cases) {
    std::string name = "case" + std::to_string(n++);
    if (k.exists) {
      CreateResult f = c_.Create(name, kDispCreate);
      ASSERT_EQ(f.status, kStatusSuccess);
      ASSERT_EQ(c_.Write(f.fid, 0, "old data"), kStatusSuccess);
      ASSERT_EQ(c_.Close(f.fid), kStatusSuccess);
    }
    SCOPED_TRACE("disposition " + std::to_string(k.disposition) +
                 (k.exists ? " on existing" : " on missing"));
    CreateResult r = c_.Create(name, k.disposition);
    EXPECT_EQ(r.status, k.status);
    if (r.status != kStatusSuccess) {
      EXPECT_EQ(Exists(name), k.exists) << "a failed CREATE changes nothing";
      continue;
    }
    EXPECT_EQ(r.action, k.action);
    EXPECT_EQ(r.size, k.truncated || !k.exists ? 0u : 8u);
    EXPECT_EQ(r.resp.U16(0), 89);
    auto a = Stat(name);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->inode.size, r.size);
    EXPECT_FALSE(a->inode.is_dir());
    if (k.exists && !k.truncated) {
      EXPECT_EQ(c_.Read(r.fid, 0, 100).second, "old data");
    }
    EXPECT_EQ(c_.Close(r.fid), kStatusSuccess);
  }
}

TEST_F(CreateTest, OpenExistingFileKeepsData) {
  CreateResult r = c_.Create("exist.txt", kDispOpen);
  ASSERT_EQ(r.status, kStatusSuccess);
  EXPECT_EQ(r.size, 5u);
  EXPECT_EQ(c_.Read(r.fid, 0, 100),
            std::make_pair(kStatusSuccess, std::string("hello")));
  EXPECT_EQ(c_.Read(r.fid, 5, 10).first, kStatusEndOfFile);
}

TEST_F(CreateTest, MissingParentIsPathNotFound) {
  EXPECT_EQ(c_.Create("nodir\\f", kDispOpenIf).status,
            kStatusObjectPathNotFound);
  EXPECT_EQ(c_.Create("exist.txt\\f", kDispOpenIf).status,
            kStatusObjectPathNotFound);
  CreateResult r = c_.Create("dir\\f", kDispCreate);
  EXPECT_EQ(r.status, kStatusSuccess);
}

TEST_F(CreateTest, DeleteOnCloseRemovesTheFileAtClose) {
  CreateResult r = c_.Create("doc", kDispCreate, kDeleteOnClose);
  ASSERT_EQ(r.status, kStatusSuccess);
  EXPECT_TRUE(Exists("doc")) << "still there while open";
  EXPECT_EQ(c_.Write(r.fid, 0, "tmp"), kStatusSuccess);
  EXPECT_EQ(c_.Close(r.fid), kStatusSuccess);
  EXPECT_FALSE(Exists("doc"));
  EXPECT_EQ(c_.Create("doc", kDispOpen).status, kStatusObjectNameNotFound);
}

TEST_F(CreateTest, DeleteOnCloseWaitsForTheLastHandle) {
  CreateResult other = c_.Create("exist.txt", kDispOpen);
  ASSERT_EQ(other.status, kStatusSuccess);
  CreateResult doc = c_.Create("exist.txt", kDispOpen, kDeleteOnClose);
  ASSERT_EQ(doc.status, kStatusSuccess);
  EXPECT_EQ(c_.Close(doc.fid), kStatusSuccess);
  EXPECT_TRUE(Exists("exist.txt")) << "another handle is open";
  EXPECT_EQ(c_.Create("exist.txt", kDispOpen).status, kStatusDeletePending);
  EXPECT_EQ(c_.Close(other.fid), kStatusSuccess);
  EXPECT_FALSE(Exists("exist.txt"));
}

TEST_F(CreateTest, DeleteOnCloseOfADirectory) {
  CreateResult r =
      c_.Create("newdir", kDispCreate, kDirectoryFile | kDeleteOnClose);
  ASSERT_EQ(r.status, kStatusSuccess);
  auto a = Stat("newdir");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->inode.is_dir());
  EXPECT_EQ(c_.Close(r.fid), kStatusSuccess);
  EXPECT_FALSE(Exists("newdir"));
}

TEST_F(CreateTest, DeleteOnCloseNeedsDeleteAccess) {
  constexpr uint32_t kReadWrite = 0x1 | 0x2 | 0x80;
  EXPECT_EQ(
      c_.Create("exist.txt", kDispOpen, kDeleteOnClose, kReadWrite).status,
      kStatusAccessDenied);
  EXPECT_TRUE(Exists("exist.txt"));
  EXPECT_EQ(c_.Create("ro", kDispCreate, kDeleteOnClose, kFileAllAccess,
                      0x1 /* READONLY */)
                .status,
            kStatusCannotDelete);
  EXPECT_FALSE(Exists("ro"));
}

// A CREATE refused for DELETE_ON_CLOSE without DELETE access creates
// nothing (MS-FSA 2.1.5.1 checks it first).
TEST_F(CreateTest, RefusedDeleteOnCloseCreatesNothing) {
  constexpr uint32_t kReadWrite = 0x1 | 0x2 | 0x80;
  EXPECT_EQ(c_.Create("new", kDispOpenIf, kDeleteOnClose, kReadWrite).status,
            kStatusAccessDenied);
  EXPECT_FALSE(Exists("new"));
  EXPECT_EQ(c_.Create("newdir", kDispCreate, kDirectoryFile | kDeleteOnClose,
                      kReadWrite)
                .status,
            kStatusAccessDenied);
  EXPECT_FALSE(Exists("newdir"));
}

TEST_F(CreateTest, DirectoryOptionMismatches) {
  EXPECT_EQ(c_.Create("exist.txt", kDispOpen, kDirectoryFile).status,
            kStatusNotADirectory);
  EXPECT_EQ(c_.Create("dir", kDispOpen, kNonDirectoryFile).status,
            kStatusFileIsADirectory);
  EXPECT_EQ(
      c_.Create("dir", kDispOpen, kDirectoryFile | kNonDirectoryFile).status,
      kStatusInvalidParameter);
  CreateResult d = c_.Create("dir", kDispOpen, kDirectoryFile);
  ASSERT_EQ(d.status, kStatusSuccess);
  EXPECT_EQ(d.attrs & 0x10, 0x10u) << "FILE_ATTRIBUTE_DIRECTORY";
  CreateResult f = c_.Create("dir", kDispOpen);  // no option: either is fine
  EXPECT_EQ(f.status, kStatusSuccess);
  // Data I/O on a directory handle.
  EXPECT_EQ(c_.Write(d.fid, 0, "x"), kStatusInvalidDeviceRequest);
  EXPECT_EQ(c_.Read(d.fid, 0, 1).first, kStatusInvalidDeviceRequest);
}

TEST_F(CreateTest, CreateDirectory) {
  CreateResult d = c_.Create("made", kDispCreate, kDirectoryFile);
  ASSERT_EQ(d.status, kStatusSuccess);
  EXPECT_EQ(d.action, kActionCreated);
  auto a = Stat("made");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->inode.is_dir());
  EXPECT_EQ(c_.Create("made", kDispCreate, kDirectoryFile).status,
            kStatusObjectNameCollision);
  CreateResult again = c_.Create("made", kDispOpenIf, kDirectoryFile);
  EXPECT_EQ(again.status, kStatusSuccess);
  EXPECT_EQ(again.action, kActionOpened);
}

TEST_F(CreateTest, OverwritingADirectoryIsInvalid) {
  for (uint32_t disp : {kDispSupersede, kDispOverwrite, kDispOverwriteIf}) {
    EXPECT_EQ(c_.Create("dir", disp, kDirectoryFile).status,
              kStatusInvalidParameter)
        << disp;
    EXPECT_EQ(c_.Create("dir", disp).status, kStatusInvalidParameter) << disp;
  }
}

// MS-FSA 2.1.5.1: FILE_DIRECTORY_FILE with SUPERSEDE, OVERWRITE or
// OVERWRITE_IF is STATUS_INVALID_PARAMETER whether or not the name exists.
TEST_F(CreateTest, DirectoryWithOverwriteDispositionOnMissingName) {
  for (uint32_t disp : {kDispSupersede, kDispOverwriteIf}) {
    std::string name = "d" + std::to_string(disp);
    EXPECT_EQ(c_.Create(name, disp, kDirectoryFile).status,
              kStatusInvalidParameter)
        << disp;
    EXPECT_FALSE(Exists(name)) << disp;
  }
}

TEST_F(CreateTest, ShareRootOpens) {
  CreateResult r = c_.Create("", kDispOpen, kDirectoryFile);
  ASSERT_EQ(r.status, kStatusSuccess);
  Response q = c_.Call(kQueryDirectory, QueryDirectoryBody(r.fid, "*"));
  ASSERT_EQ(q.status(), kStatusSuccess);
  std::string names = q.At(q.U16(2), q.U32(4));
  EXPECT_NE(names.find(Utf8ToUtf16("exist.txt")), std::string::npos);
  EXPECT_NE(names.find(Utf8ToUtf16("dir")), std::string::npos);
  // The root cannot be deleted.
  EXPECT_EQ(c_.Call(kSetInfo, SetInfoBody(r.fid, 1, 13, std::string(1, '\1')))
                .status(),
            kStatusCannotDelete);
}

TEST_F(CreateTest, InvalidParameters) {
  // Reserved option bits, bad disposition, bad impersonation level.
  EXPECT_EQ(c_.Create("x", kDispOpenIf, 0x01000000).status,
            kStatusInvalidParameter);
  EXPECT_EQ(c_.Create("x", 6).status, kStatusInvalidParameter);
  std::string body = CreateBody("x", kDispOpenIf);
  LeWriter(&body).PatchU32(4, 9);
  EXPECT_EQ(c_.Call(kCreate, body).status(), kStatusBadImpersonationLevel);
  EXPECT_FALSE(Exists("x"));
  // Names that are not names.
  EXPECT_NE(c_.Create("a\\..\\..\\b", kDispOpenIf).status, kStatusSuccess);
  EXPECT_NE(c_.Create("\\abs", kDispOpenIf).status, kStatusSuccess);
  std::string odd = CreateBody("ab", kDispOpenIf);
  LeWriter(&odd).PatchU16(46, 3);  // odd UTF-16 length
  EXPECT_NE(c_.Call(kCreate, odd).status(), kStatusSuccess);
}

TEST_F(CreateTest, AlternateDataStreamsAreNotFound) {
  EXPECT_EQ(c_.Create("exist.txt:stream", kDispOpenIf).status,
            kStatusObjectNameNotFound);
}

TEST_F(CreateTest, Pipes) {
  ASSERT_EQ(c_.TreeConnect("IPC$"), kStatusSuccess);
  CreateResult p = c_.Create("srvsvc", kDispOpen);
  EXPECT_EQ(p.status, kStatusSuccess);
  EXPECT_EQ(c_.Create("nosuchpipe", kDispOpen).status,
            kStatusObjectNameNotFound);
  EXPECT_EQ(c_.Close(p.fid), kStatusSuccess);
}

}  // namespace
}  // namespace concordfs::smb::testing
