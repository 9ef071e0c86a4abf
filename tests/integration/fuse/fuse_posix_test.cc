// POSIX behaviour through the FUSE mount: what a local program sees, with
// exact errno values. Linux on a local filesystem (ext4) is the reference.
//
// Unprivileged cases run in forked children that drop to test uids (the
// mount uses allow_other); their lambdas may only make async-signal-safe
// calls, so every path they use is built in the parent.
#include <dirent.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include <map>
#include <random>
#include <set>

#include "tests/integration/fuse/fuse_fixture.h"

namespace concordfs::fusetest {
namespace {

using std::chrono::milliseconds;

constexpr uid_t kAlice = 4001;
constexpr gid_t kAliceGid = 4001;
constexpr uid_t kBob = 4002;
constexpr gid_t kBobGid = 4002;
constexpr gid_t kStaff = 5000;  // Bob is a member (supplementary), Alice not

Ids Alice() { return Ids{kAlice, kAliceGid, {kAliceGid}}; }
Ids Bob() { return Ids{kBob, kBobGid, {kBobGid, kStaff}}; }

// ---- child-side operations: async-signal-safe, return errno (0 = ok) ----

int OpenErr(const std::string& p, int flags, mode_t mode = 0644) {
  int fd = open(p.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}
int StatErr(const std::string& p) {
  struct stat st;
  return ErrnoOf(stat(p.c_str(), &st));
}

std::string Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

bool TimeLess(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_nsec < b.tv_nsec;
}
bool TimeEq(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

int RenameAt2(const std::string& from, const std::string& to, unsigned flags) {
  return ErrnoOf(syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD,
                         to.c_str(), flags));
}

class FusePosixTest : public FuseFixture {
 protected:
  // A directory made by root, then given owner and `mode` exactly.
  void MakeDir(const std::string& rel, mode_t mode, uid_t uid = 0,
               gid_t gid = 0) {
    std::string p = Path(rel);
    ASSERT_SYS_OK(mkdir(p.c_str(), 0700)) << p;
    ASSERT_SYS_OK(chown(p.c_str(), uid, gid)) << p;
    ASSERT_SYS_OK(chmod(p.c_str(), mode)) << p;
  }
  // A file made by root with `data`, then given owner and `mode` exactly.
  void MakeFile(const std::string& rel, std::string_view data, mode_t mode,
                uid_t uid = 0, gid_t gid = 0) {
    std::string p = Path(rel);
    ASSERT_ERRNO(WriteFile(p, data, 0600), 0) << p;
    ASSERT_SYS_OK(chown(p.c_str(), uid, gid)) << p;
    ASSERT_SYS_OK(chmod(p.c_str(), mode)) << p;
  }
  std::string Read(const std::string& rel) {
    auto s = ReadFile(Path(rel));
    EXPECT_TRUE(s.has_value()) << rel << ": " << strerror(errno);
    return s.value_or("<unreadable>");
  }
};

// ------------------------------------------------------------ permissions --

TEST_F(FusePosixTest, RootBypassesReadWriteButExecNeedsSomeXBit) {
  MakeFile("f", "data", 0000);
  std::string f = Path("f");
  EXPECT_EQ(Read("f"), "data");
  EXPECT_ERRNO(OpenErr(f, O_WRONLY), 0);
  EXPECT_SYS_ERR(access(f.c_str(), X_OK), EACCES);
  EXPECT_SYS_OK(access(f.c_str(), R_OK | W_OK));

  MakeFile("script", "#!/bin/sh\nexit 0\n", 0644);
  std::string script = Path("script");
  auto exec_err = [&] {
    char* const argv[] = {const_cast<char*>(script.c_str()), nullptr};
    char* const envp[] = {nullptr};
    execve(script.c_str(), argv, envp);
    return errno;
  };
  EXPECT_ERRNO(RunAs(RootIds(), exec_err), EACCES);
  ASSERT_SYS_OK(chmod(script.c_str(), 0744));
  EXPECT_SYS_OK(access(script.c_str(), X_OK));  // one x bit is enough

  MakeDir("closed", 0000);
  EXPECT_ERRNO(WriteFile(Path("closed/inside"), "x"), 0);
  EXPECT_EQ(Read("closed/inside"), "x");
}

TEST_F(FusePosixTest, UnprivilegedReadWriteNeedPermissionBits) {
  MakeDir("pub", 0755);
  MakeFile("pub/secret", "s", 0600);
  MakeFile("pub/readable", "r", 0644);
  MakeFile("pub/shared", "w", 0646);
  std::string secret = Path("pub/secret"), readable = Path("pub/readable"),
              shared = Path("pub/shared");
  auto open_as = [&](const std::string& p, int flags) {
    return RunAs(Alice(), [&] { return OpenErr(p, flags); });
  };
  EXPECT_ERRNO(open_as(secret, O_RDONLY), EACCES);
  EXPECT_ERRNO(open_as(secret, O_WRONLY), EACCES);
  EXPECT_ERRNO(open_as(secret, O_RDWR), EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(truncate(secret.c_str(), 0)); }),
      EACCES);
  EXPECT_ERRNO(open_as(readable, O_RDONLY), 0);
  EXPECT_ERRNO(open_as(readable, O_WRONLY), EACCES);
  EXPECT_ERRNO(open_as(shared, O_RDWR), 0);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(truncate(shared.c_str(), 0)); }), 0);
  EXPECT_EQ(Stat(shared).st_size, 0);
  EXPECT_EQ(Read("pub/secret"), "s");
}

TEST_F(FusePosixTest, UnprivilegedSearchAndListNeedDirectoryBits) {
  MakeDir("closed", 0700);
  MakeFile("closed/f", "x", 0644);
  MakeDir("searchonly", 0711);
  MakeFile("searchonly/f", "y", 0644);
  MakeDir("noexec", 0766);
  MakeFile("noexec/f", "z", 0644);
  std::string closed = Path("closed"), closed_f = Path("closed/f"),
              so = Path("searchonly"), so_f = Path("searchonly/f"),
              noexec_new = Path("noexec/new"), noexec_f = Path("noexec/f");
  EXPECT_ERRNO(RunAs(Alice(), [&] { return StatErr(closed_f); }), EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(closed, O_RDONLY | O_DIRECTORY); }),
      EACCES);
  EXPECT_ERRNO(RunAs(Alice(), [&] { return StatErr(so_f); }), 0);
  EXPECT_ERRNO(RunAs(Alice(), [&] { return OpenErr(so_f, O_RDONLY); }), 0);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(so, O_RDONLY | O_DIRECTORY); }),
      EACCES);
  EXPECT_ERRNO(RunAs(Alice(), [&] { return StatErr(noexec_f); }), EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(noexec_new, O_CREAT | O_WRONLY); }),
      EACCES);
  EXPECT_SYS_ERR(access(noexec_new.c_str(), F_OK), ENOENT);
}

TEST_F(FusePosixTest, UnprivilegedNamespaceChangesNeedWriteOnParent) {
  MakeDir("ro", 0755);
  MakeFile("ro/f", "x", 0666);
  MakeDir("pub", 0777);
  std::string ro_new = Path("ro/new"), ro_dir = Path("ro/dir"),
              ro_f = Path("ro/f"), ro_g = Path("ro/g"), pub_f = Path("pub/f");
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(ro_new, O_CREAT | O_WRONLY); }),
      EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(mkdir(ro_dir.c_str(), 0755)); }),
      EACCES);
  EXPECT_ERRNO(RunAs(Alice(), [&] { return ErrnoOf(unlink(ro_f.c_str())); }),
               EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(),
            [&] { return ErrnoOf(rename(ro_f.c_str(), ro_g.c_str())); }),
      EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(symlink("x", ro_new.c_str())); }),
      EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(),
            [&] { return ErrnoOf(rename(ro_f.c_str(), pub_f.c_str())); }),
      EACCES);
  EXPECT_EQ(Read("ro/f"), "x");
  EXPECT_SYS_ERR(access(pub_f.c_str(), F_OK), ENOENT);
}

TEST_F(FusePosixTest, OwnerGroupAndOtherClasses) {
  MakeDir("pub", 0755);
  MakeFile("pub/staff", "s", 0640, 0, kStaff);
  MakeFile("pub/alice_only_others", "o", 0077, kAlice, kAliceGid);
  MakeFile("pub/alice_group", "g", 0060, 0, kAliceGid);
  std::string staff = Path("pub/staff"), aoo = Path("pub/alice_only_others"),
              ag = Path("pub/alice_group");
  // Bob reads through a supplementary group; Alice is "other".
  EXPECT_ERRNO(RunAs(Bob(), [&] { return OpenErr(staff, O_RDONLY); }), 0);
  EXPECT_ERRNO(RunAs(Bob(), [&] { return OpenErr(staff, O_WRONLY); }), EACCES);
  EXPECT_ERRNO(RunAs(Alice(), [&] { return OpenErr(staff, O_RDONLY); }),
               EACCES);
  // The owner class is exclusive: the owner gets nothing although others may.
  EXPECT_ERRNO(RunAs(Alice(), [&] { return OpenErr(aoo, O_RDONLY); }), EACCES);
  EXPECT_ERRNO(RunAs(Bob(), [&] { return OpenErr(aoo, O_RDWR); }), 0);
  // Primary group.
  EXPECT_ERRNO(RunAs(Alice(), [&] { return OpenErr(ag, O_RDWR); }), 0);
  EXPECT_ERRNO(RunAs(Bob(), [&] { return OpenErr(ag, O_RDONLY); }), EACCES);
}

TEST_F(FusePosixTest, NewFilesTakeCallerIdsAndSetgidDirectoryGroup) {
  MakeDir("pub", 0777);
  MakeDir("sg", 02777, 0, kStaff);
  std::string pf = Path("pub/f"), sf = Path("sg/f"), sd = Path("sg/d");
  ASSERT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(pf, O_CREAT | O_WRONLY, 0640); }), 0);
  struct stat st = Stat(pf);
  EXPECT_EQ(st.st_uid, kAlice);
  EXPECT_EQ(st.st_gid, kAliceGid);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(sf, O_CREAT | O_WRONLY, 0640); }), 0);
  ASSERT_ERRNO(RunAs(Alice(), [&] { return ErrnoOf(mkdir(sd.c_str(), 0755)); }),
               0);
  st = Stat(sf);
  EXPECT_EQ(st.st_uid, kAlice);
  EXPECT_EQ(st.st_gid, kStaff) << "file in a setgid dir takes the dir's group";
  st = Stat(sd);
  EXPECT_EQ(st.st_gid, kStaff);
  EXPECT_TRUE(st.st_mode & S_ISGID) << "subdirectory inherits the setgid bit";
}

TEST_F(FusePosixTest, ChmodChownAndUtimesNeedOwnership) {
  MakeDir("pub", 0777);
  MakeFile("pub/rootfile", "r", 0666);
  MakeFile("pub/rootro", "r", 0644);
  std::string rf = Path("pub/rootfile"), ro = Path("pub/rootro"),
              af = Path("pub/alicefile");
  EXPECT_ERRNO(RunAs(Alice(), [&] { return ErrnoOf(chmod(rf.c_str(), 0600)); }),
               EPERM);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(chown(rf.c_str(), kAlice, -1)); }),
      EPERM);
  const timespec explicit_times[2] = {{1000, 0}, {2000, 0}};
  EXPECT_ERRNO(RunAs(Alice(),
                     [&] {
                       return ErrnoOf(
                           utimensat(AT_FDCWD, rf.c_str(), explicit_times, 0));
                     }),
               EPERM);
  // "touch" (UTIME_NOW) needs only write permission...
  EXPECT_ERRNO(
      RunAs(
          Alice(),
          [&] { return ErrnoOf(utimensat(AT_FDCWD, rf.c_str(), nullptr, 0)); }),
      0);
  // ... which Alice lacks on a 0644 file she does not own.
  EXPECT_ERRNO(
      RunAs(
          Alice(),
          [&] { return ErrnoOf(utimensat(AT_FDCWD, ro.c_str(), nullptr, 0)); }),
      EACCES);
  EXPECT_EQ(Stat(rf).st_mode & 07777, 0666u);

  ASSERT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(af, O_CREAT | O_WRONLY, 0644); }), 0);
  EXPECT_ERRNO(RunAs(Alice(), [&] { return ErrnoOf(chmod(af.c_str(), 0600)); }),
               0);
  EXPECT_EQ(Stat(af).st_mode & 07777, 0600u);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(chown(af.c_str(), kBob, -1)); }),
      EPERM);
  EXPECT_ERRNO(
      RunAs(Alice(), [&] { return ErrnoOf(chown(af.c_str(), -1, kStaff)); }),
      EPERM);
  EXPECT_ERRNO(RunAs(Alice(),
                     [&] {
                       return ErrnoOf(
                           utimensat(AT_FDCWD, af.c_str(), explicit_times, 0));
                     }),
               0);
  EXPECT_EQ(Stat(af).st_mtim.tv_sec, 2000);
  // Root gives the file to Bob; Bob may move it into a group he is in.
  ASSERT_SYS_OK(chown(af.c_str(), kBob, kBobGid));
  EXPECT_ERRNO(
      RunAs(Bob(), [&] { return ErrnoOf(chown(af.c_str(), -1, kStaff)); }), 0);
  EXPECT_EQ(Stat(af).st_gid, kStaff);
}

TEST_F(FusePosixTest, SetidBitsAreClearedLikeLinux) {
  MakeDir("pub", 0777);
  // chmod g+s by an owner outside the file's group keeps the rest.
  MakeFile("pub/f", "x", 0644, kAlice, kStaff);
  std::string f = Path("pub/f");
  EXPECT_ERRNO(RunAs(Alice(), [&] { return ErrnoOf(chmod(f.c_str(), 02755)); }),
               0);
  EXPECT_EQ(Stat(f).st_mode & 07777, 0755u);
  // A write by a non-root user drops setuid.
  MakeFile("pub/suid", "abc", 04777);
  std::string suid = Path("pub/suid");
  EXPECT_ERRNO(RunAs(Alice(),
                     [&] {
                       int fd = open(suid.c_str(), O_WRONLY | O_CLOEXEC);
                       if (fd < 0) return errno;
                       int e = ErrnoOf(write(fd, "z", 1));
                       close(fd);
                       return e;
                     }),
               0);
  EXPECT_EQ(Stat(suid).st_mode & 07777, 0777u);
  // chown by root drops setuid on a regular file.
  MakeFile("pub/suid2", "abc", 04755);
  std::string suid2 = Path("pub/suid2");
  ASSERT_SYS_OK(chown(suid2.c_str(), kBob, -1));
  EXPECT_EQ(Stat(suid2).st_mode & 07777, 0755u);
}

TEST_F(FusePosixTest, StickyDirectoryProtectsOthersEntries) {
  MakeDir("sticky", 01777);
  MakeDir("bobs", 01777, kBob, kBobGid);
  std::string a = Path("sticky/a"), b = Path("sticky/b"), c = Path("sticky/c"),
              bx = Path("bobs/x");
  ASSERT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(a, O_CREAT | O_WRONLY, 0666); }), 0);
  ASSERT_ERRNO(
      RunAs(Bob(), [&] { return OpenErr(b, O_CREAT | O_WRONLY, 0644); }), 0);
  ASSERT_ERRNO(
      RunAs(Alice(), [&] { return OpenErr(bx, O_CREAT | O_WRONLY, 0644); }), 0);
  // Writable by Bob, but not his: he may neither remove nor rename it...
  EXPECT_ERRNO(RunAs(Bob(), [&] { return ErrnoOf(unlink(a.c_str())); }), EPERM);
  EXPECT_ERRNO(
      RunAs(Bob(), [&] { return ErrnoOf(rename(a.c_str(), c.c_str())); }),
      EPERM);
  // ... nor replace it with his own file.
  EXPECT_ERRNO(
      RunAs(Bob(), [&] { return ErrnoOf(rename(b.c_str(), a.c_str())); }),
      EPERM);
  EXPECT_ERRNO(StatErr(a), 0);
  EXPECT_ERRNO(StatErr(b), 0);
  // The file's owner, the directory's owner and root may.
  EXPECT_ERRNO(RunAs(Alice(), [&] { return ErrnoOf(unlink(a.c_str())); }), 0);
  EXPECT_ERRNO(RunAs(Bob(), [&] { return ErrnoOf(unlink(bx.c_str())); }), 0);
  EXPECT_SYS_OK(unlink(b.c_str()));
}

// ----------------------------------------------------------------- rename --

TEST_F(FusePosixTest, RenameReplacesFileAndOldInodeLivesWhileOpen) {
  ASSERT_SYS_OK(mkdir(Path("r").c_str(), 0755));
  std::string a = Path("r/a"), b = Path("r/b");
  ASSERT_ERRNO(WriteFile(a, "old"), 0);
  ASSERT_ERRNO(WriteFile(b, "new"), 0);
  ino_t b_ino = Stat(b).st_ino;
  UniqueFd old_fd(open(a.c_str(), O_RDONLY));
  ASSERT_TRUE(old_fd.ok());
  ASSERT_SYS_OK(rename(b.c_str(), a.c_str()));
  EXPECT_SYS_ERR(access(b.c_str(), F_OK), ENOENT);
  EXPECT_EQ(Read("r/a"), "new");
  EXPECT_EQ(Stat(a).st_ino, b_ino);
  struct stat st;
  ASSERT_SYS_OK(fstat(old_fd.get(), &st));
  EXPECT_EQ(st.st_nlink, 0u) << "the replaced inode has no names left";
  EXPECT_EQ(PreadAll(old_fd.get()), "old");
}

TEST_F(FusePosixTest, RenameDirectoryOverEmptyDirectory) {
  ASSERT_SYS_OK(mkdir(Path("r").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("r/d1").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("r/d2").c_str(), 0755));
  ASSERT_ERRNO(WriteFile(Path("r/d1/x"), "x"), 0);
  EXPECT_EQ(Stat(Path("r")).st_nlink, 4u);
  ino_t d1 = Stat(Path("r/d1")).st_ino;
  ASSERT_SYS_OK(rename(Path("r/d1").c_str(), Path("r/d2").c_str()));
  EXPECT_SYS_ERR(access(Path("r/d1").c_str(), F_OK), ENOENT);
  EXPECT_EQ(Stat(Path("r/d2")).st_ino, d1);
  EXPECT_EQ(Read("r/d2/x"), "x");
  EXPECT_EQ(Stat(Path("r")).st_nlink, 3u) << "one subdirectory is gone";
}

TEST_F(FusePosixTest, RenameTypeConflictsAndNonEmptyTarget) {
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("full").c_str(), 0755));
  ASSERT_ERRNO(WriteFile(Path("full/x"), "x"), 0);
  ASSERT_ERRNO(WriteFile(Path("f"), "f"), 0);
  std::string d = Path("d"), full = Path("full"), f = Path("f");
  EXPECT_SYS_ERR(rename(d.c_str(), full.c_str()), ENOTEMPTY);
  EXPECT_SYS_ERR(rename(f.c_str(), d.c_str()), EISDIR);
  EXPECT_SYS_ERR(rename(d.c_str(), f.c_str()), ENOTDIR);
  EXPECT_SYS_ERR(rename(Path("missing").c_str(), Path("m2").c_str()), ENOENT);
  EXPECT_TRUE(S_ISDIR(Stat(d).st_mode));
  EXPECT_TRUE(S_ISREG(Stat(f).st_mode));
  EXPECT_EQ(Read("full/x"), "x");
}

TEST_F(FusePosixTest, RenameNoReplaceAndExchange) {
  ASSERT_ERRNO(WriteFile(Path("a"), "A"), 0);
  ASSERT_ERRNO(WriteFile(Path("b"), "B"), 0);
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  ASSERT_ERRNO(WriteFile(Path("d/inner"), "I"), 0);
  EXPECT_ERRNO(RenameAt2(Path("a"), Path("b"), RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(Read("a"), "A");
  EXPECT_EQ(Read("b"), "B");
  EXPECT_ERRNO(RenameAt2(Path("a"), Path("c"), RENAME_NOREPLACE), 0);
  EXPECT_EQ(Read("c"), "A");
  // Exchange a file and a directory.
  EXPECT_ERRNO(RenameAt2(Path("c"), Path("d"), RENAME_EXCHANGE), 0);
  EXPECT_TRUE(S_ISDIR(Stat(Path("c")).st_mode));
  EXPECT_EQ(Read("c/inner"), "I");
  EXPECT_TRUE(S_ISREG(Stat(Path("d")).st_mode));
  EXPECT_EQ(Read("d"), "A");
  EXPECT_ERRNO(RenameAt2(Path("d"), Path("nothing"), RENAME_EXCHANGE), ENOENT);
  EXPECT_ERRNO(
      RenameAt2(Path("b"), Path("d"), RENAME_EXCHANGE | RENAME_NOREPLACE),
      EINVAL);
}

TEST_F(FusePosixTest, RenameIntoOwnSubtreeAndOntoOwnLink) {
  ASSERT_SYS_OK(mkdir(Path("a").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("a/b").c_str(), 0755));
  EXPECT_SYS_ERR(rename(Path("a").c_str(), Path("a/b/c").c_str()), EINVAL);
  EXPECT_SYS_ERR(rename(Path("a").c_str(), Path("a/b").c_str()), EINVAL);
  EXPECT_SYS_OK(rename(Path("a").c_str(), Path("a").c_str()));
  // Both names of one inode: rename does nothing and both stay.
  ASSERT_ERRNO(WriteFile(Path("f"), "f"), 0);
  ASSERT_SYS_OK(link(Path("f").c_str(), Path("g").c_str()));
  EXPECT_SYS_OK(rename(Path("f").c_str(), Path("g").c_str()));
  EXPECT_EQ(Stat(Path("f")).st_nlink, 2u);
  EXPECT_EQ(Stat(Path("g")).st_nlink, 2u);
}

TEST_F(FusePosixTest, RenameDirectoryAcrossParentsFixesDotDotAndLinkCounts) {
  ASSERT_SYS_OK(mkdir(Path("x").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("y").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("x/sub").c_str(), 0755));
  EXPECT_EQ(Stat(Path("x")).st_nlink, 3u);
  ASSERT_SYS_OK(rename(Path("x/sub").c_str(), Path("y/sub").c_str()));
  EXPECT_EQ(Stat(Path("x")).st_nlink, 2u);
  EXPECT_EQ(Stat(Path("y")).st_nlink, 3u);
  EXPECT_EQ(Stat(Path("y/sub/..")).st_ino, Stat(Path("y")).st_ino);
}

// ---------------------------------------------------------- links, unlink --

TEST_F(FusePosixTest, HardLinksShareInodeAndCountNames) {
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  ASSERT_ERRNO(WriteFile(Path("f"), "one"), 0);
  EXPECT_EQ(Stat(Path("f")).st_nlink, 1u);
  ASSERT_SYS_OK(link(Path("f").c_str(), Path("d/g").c_str()));
  struct stat f = Stat(Path("f")), g = Stat(Path("d/g"));
  EXPECT_EQ(f.st_ino, g.st_ino);
  EXPECT_EQ(f.st_nlink, 2u);
  EXPECT_EQ(g.st_nlink, 2u);
  ASSERT_ERRNO(WriteFile(Path("d/g"), "two"), 0);
  EXPECT_EQ(Read("f"), "two");
  EXPECT_SYS_ERR(link(Path("f").c_str(), Path("d/g").c_str()), EEXIST);
  EXPECT_SYS_ERR(link(Path("d").c_str(), Path("dlink").c_str()), EPERM);
  EXPECT_SYS_ERR(link(Path("nope").c_str(), Path("n2").c_str()), ENOENT);
  ASSERT_SYS_OK(unlink(Path("f").c_str()));
  EXPECT_EQ(Stat(Path("d/g")).st_nlink, 1u);
  EXPECT_EQ(Read("d/g"), "two");
}

TEST_F(FusePosixTest, DirectoryLinkCountsAndRemovalErrors) {
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  EXPECT_EQ(Stat(Path("d")).st_nlink, 2u);
  ASSERT_SYS_OK(mkdir(Path("d/s").c_str(), 0755));
  EXPECT_EQ(Stat(Path("d")).st_nlink, 3u);
  EXPECT_SYS_ERR(mkdir(Path("d/s").c_str(), 0755), EEXIST);
  EXPECT_SYS_ERR(rmdir(Path("d").c_str()), ENOTEMPTY);
  EXPECT_SYS_ERR(unlink(Path("d").c_str()), EISDIR);
  ASSERT_ERRNO(WriteFile(Path("file"), ""), 0);
  EXPECT_SYS_ERR(rmdir(Path("file").c_str()), ENOTDIR);
  EXPECT_SYS_ERR(mkdir(Path("file/x").c_str(), 0755), ENOTDIR);
  EXPECT_SYS_ERR(open(Path("d").c_str(), O_WRONLY), EISDIR);
  EXPECT_SYS_ERR(open(Path("nope").c_str(), O_RDONLY), ENOENT);
  ASSERT_SYS_OK(rmdir(Path("d/s").c_str()));
  EXPECT_EQ(Stat(Path("d")).st_nlink, 2u);
  EXPECT_SYS_OK(rmdir(Path("d").c_str()));
}

TEST_F(FusePosixTest, UnlinkWhileOpenKeepsDataUntilClose) {
  std::string p = Path("f");
  UniqueFd fd(open(p.c_str(), O_RDWR | O_CREAT, 0644));
  ASSERT_TRUE(fd.ok());
  ASSERT_EQ(pwrite(fd.get(), "hello", 5, 0), 5);
  ASSERT_SYS_OK(unlink(p.c_str()));
  EXPECT_SYS_ERR(access(p.c_str(), F_OK), ENOENT);
  EXPECT_EQ(PreadAll(fd.get()), "hello");
  ASSERT_EQ(pwrite(fd.get(), " world", 6, 5), 6);
  EXPECT_EQ(PreadAll(fd.get()), "hello world");
  struct stat st;
  ASSERT_SYS_OK(fstat(fd.get(), &st));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 11);
  // A new file under the same name is a different inode.
  ASSERT_ERRNO(WriteFile(p, "new"), 0);
  EXPECT_NE(Stat(p).st_ino, st.st_ino);
  EXPECT_EQ(PreadAll(fd.get()), "hello world");
}

// ------------------------------------------------------------------- data --

TEST_F(FusePosixTest, TruncateExtendAndHolesReadZeros) {
  std::string p = Path("f");
  ASSERT_ERRNO(WriteFile(p, std::string(100, 'x')), 0);
  ASSERT_SYS_OK(truncate(p.c_str(), 10));
  EXPECT_EQ(Read("f"), std::string(10, 'x'));
  ASSERT_SYS_OK(truncate(p.c_str(), 100));
  EXPECT_EQ(Read("f"), std::string(10, 'x') + std::string(90, '\0'))
      << "bytes cut by a shrink must not come back";
  UniqueFd fd(open(p.c_str(), O_RDWR));
  ASSERT_TRUE(fd.ok());
  const off_t far = 1 << 20;
  ASSERT_EQ(pwrite(fd.get(), "y", 1, far), 1);
  struct stat st;
  ASSERT_SYS_OK(fstat(fd.get(), &st));
  EXPECT_EQ(st.st_size, far + 1);
  std::string all = PreadAll(fd.get());
  ASSERT_EQ(all.size(), static_cast<size_t>(far + 1));
  EXPECT_EQ(all.substr(100, far - 100), std::string(far - 100, '\0'));
  EXPECT_EQ(all.back(), 'y');
  // Shrink through the descriptor; the cached pages must go too.
  ASSERT_SYS_OK(ftruncate(fd.get(), 5));
  EXPECT_EQ(PreadAll(fd.get()), "xxxxx");
  UniqueFd ro(open(p.c_str(), O_RDONLY));
  EXPECT_SYS_ERR(ftruncate(ro.get(), 0), EINVAL);
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  EXPECT_SYS_ERR(truncate(Path("d").c_str(), 0), EISDIR);
}

TEST_F(FusePosixTest, AppendWritesAlwaysGoToTheEnd) {
  std::string p = Path("f");
  UniqueFd app(open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644));
  UniqueFd plain(open(p.c_str(), O_WRONLY));
  ASSERT_TRUE(app.ok() && plain.ok());
  ASSERT_EQ(write(app.get(), "abc", 3), 3);
  ASSERT_EQ(pwrite(plain.get(), "XYZW", 4, 0), 4);  // now "XYZW"
  ASSERT_EQ(lseek(app.get(), 0, SEEK_SET), 0);
  ASSERT_EQ(write(app.get(), "def", 3), 3);
  EXPECT_EQ(Read("f"), "XYZWdef");
  // Linux: pwrite on an O_APPEND descriptor appends too.
  ASSERT_EQ(pwrite(app.get(), "g", 1, 0), 1);
  EXPECT_EQ(Read("f"), "XYZWdefg");
}

TEST_F(FusePosixTest, ExclusiveCreate) {
  std::string p = Path("f"), dangling = Path("dangling");
  EXPECT_ERRNO(OpenErr(p, O_CREAT | O_EXCL | O_WRONLY), 0);
  EXPECT_ERRNO(OpenErr(p, O_CREAT | O_EXCL | O_WRONLY), EEXIST);
  EXPECT_ERRNO(OpenErr(p, O_CREAT | O_WRONLY), 0);
  ASSERT_SYS_OK(symlink("target", dangling.c_str()));
  EXPECT_ERRNO(OpenErr(dangling, O_CREAT | O_EXCL | O_WRONLY), EEXIST);
  EXPECT_SYS_ERR(access(Path("target").c_str(), F_OK), ENOENT);
  // Without O_EXCL the dangling link's target is created.
  EXPECT_ERRNO(OpenErr(dangling, O_CREAT | O_WRONLY), 0);
  EXPECT_TRUE(S_ISREG(Stat(Path("target")).st_mode));
  // Racing creators: exactly one wins.
  std::string race = Path("race");
  std::vector<int> r = RunConcurrently(8, RootIds(), [&](int) {
    return OpenErr(race, O_CREAT | O_EXCL | O_WRONLY);
  });
  EXPECT_EQ(std::count(r.begin(), r.end(), 0), 1);
  EXPECT_EQ(std::count(r.begin(), r.end(), EEXIST), 7);
}

// ------------------------------------------------------------- timestamps --

TEST_F(FusePosixTest, WriteChangesMtimeAndCtimeChmodOnlyCtime) {
  std::string p = Path("f");
  ASSERT_ERRNO(WriteFile(p, "a"), 0);
  struct stat before = Stat(p);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    UniqueFd fd(open(p.c_str(), O_WRONLY));
    ASSERT_EQ(pwrite(fd.get(), "b", 1, 1), 1);
    struct stat st;
    ASSERT_SYS_OK(fstat(fd.get(), &st));
    EXPECT_TRUE(TimeLess(before.st_mtim, st.st_mtim));
    EXPECT_TRUE(TimeLess(before.st_ctim, st.st_ctim));
  }
  struct stat written = Stat(p);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_SYS_OK(chmod(p.c_str(), 0600));
  struct stat chmoded = Stat(p);
  EXPECT_TRUE(TimeEq(written.st_mtim, chmoded.st_mtim));
  EXPECT_TRUE(TimeLess(written.st_ctim, chmoded.st_ctim));
  // Creating a name changes the directory's mtime and ctime.
  struct stat dir_before = Stat(Path());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_ERRNO(WriteFile(Path("g"), ""), 0);
  struct stat dir_after = Stat(Path());
  EXPECT_TRUE(TimeLess(dir_before.st_mtim, dir_after.st_mtim));
  EXPECT_TRUE(TimeLess(dir_before.st_ctim, dir_after.st_ctim));
}

TEST_F(FusePosixTest, UtimensatSetsExactTimesAndOmit) {
  std::string p = Path("f");
  ASSERT_ERRNO(WriteFile(p, "a"), 0);
  struct stat before = Stat(p);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const timespec t[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
  ASSERT_SYS_OK(utimensat(AT_FDCWD, p.c_str(), t, 0));
  struct stat st = Stat(p);
  EXPECT_TRUE(TimeEq(st.st_atim, t[0]))
      << st.st_atim.tv_sec << "." << st.st_atim.tv_nsec;
  EXPECT_TRUE(TimeEq(st.st_mtim, t[1]))
      << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
  EXPECT_TRUE(TimeLess(before.st_ctim, st.st_ctim));
  const timespec omit_atime[2] = {{0, UTIME_OMIT}, {1600000000, 5}};
  ASSERT_SYS_OK(utimensat(AT_FDCWD, p.c_str(), omit_atime, 0));
  st = Stat(p);
  EXPECT_TRUE(TimeEq(st.st_atim, t[0]));
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 5);
}

// ----------------------------------------------------------------- xattrs --

TEST_F(FusePosixTest, XattrSetGetListRemove) {
  std::string p = Path("f");
  ASSERT_ERRNO(WriteFile(p, ""), 0);
  const char* f = p.c_str();
  EXPECT_SYS_OK(setxattr(f, "user.a", "1", 1, 0));
  std::string big(4000, 'v');
  EXPECT_SYS_OK(setxattr(f, "user.b", big.data(), big.size(), XATTR_CREATE));
  EXPECT_SYS_ERR(setxattr(f, "user.a", "2", 1, XATTR_CREATE), EEXIST);
  EXPECT_SYS_ERR(setxattr(f, "user.zz", "2", 1, XATTR_REPLACE), ENODATA);
  EXPECT_SYS_OK(setxattr(f, "user.a", "22", 2, XATTR_REPLACE));
  char buf[8192];
  ASSERT_EQ(getxattr(f, "user.a", buf, sizeof buf), 2);
  EXPECT_EQ(std::string(buf, 2), "22");
  EXPECT_EQ(getxattr(f, "user.b", nullptr, 0), 4000) << "size query";
  ASSERT_EQ(getxattr(f, "user.b", buf, sizeof buf), 4000);
  EXPECT_EQ(std::string(buf, 4000), big);
  EXPECT_SYS_ERR(getxattr(f, "user.b", buf, 10), ERANGE);
  EXPECT_SYS_ERR(getxattr(f, "user.none", buf, sizeof buf), ENODATA);
  ssize_t n = listxattr(f, buf, sizeof buf);
  ASSERT_GT(n, 0);
  std::set<std::string> names;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(buf + i)) + 1) {
    names.insert(buf + i);
  }
  EXPECT_EQ(names, (std::set<std::string>{"user.a", "user.b"}));
  EXPECT_EQ(listxattr(f, nullptr, 0), n);
  EXPECT_SYS_ERR(listxattr(f, buf, 3), ERANGE);
  EXPECT_SYS_OK(removexattr(f, "user.a"));
  EXPECT_SYS_ERR(getxattr(f, "user.a", buf, sizeof buf), ENODATA);
  EXPECT_SYS_ERR(removexattr(f, "user.a"), ENODATA);
  EXPECT_EQ(listxattr(f, buf, sizeof buf), 7);  // "user.b\0"
}

TEST_F(FusePosixTest, UserXattrsFollowFilePermissions) {
  MakeDir("pub", 0755);
  MakeFile("pub/ro", "", 0644);
  ASSERT_SYS_OK(setxattr(Path("pub/ro").c_str(), "user.k", "v", 1, 0));
  std::string ro = Path("pub/ro");
  EXPECT_ERRNO(
      RunAs(Alice(),
            [&] {
              char b[16];
              return ErrnoOf(getxattr(ro.c_str(), "user.k", b, sizeof b));
            }),
      0);
  EXPECT_ERRNO(
      RunAs(Alice(),
            [&] { return ErrnoOf(setxattr(ro.c_str(), "user.k", "w", 1, 0)); }),
      EACCES);
  EXPECT_ERRNO(
      RunAs(Alice(),
            [&] { return ErrnoOf(removexattr(ro.c_str(), "user.k")); }),
      EACCES);
  char b[16];
  ASSERT_EQ(getxattr(ro.c_str(), "user.k", b, sizeof b), 1);
  EXPECT_EQ(b[0], 'v');
}

TEST_F(FusePosixTest, SelinuxLabelsAreNotSupportedOtherSecurityNamesAre) {
  MakeFile("lab", "", 0644);
  std::string f = Path("lab");
  char b[64];
  // As on an NFS mount: `ls -l` then stops asking every entry.
  EXPECT_SYS_ERR(lgetxattr(f.c_str(), "security.selinux", b, sizeof b),
                 EOPNOTSUPP);
  EXPECT_SYS_ERR(setxattr(f.c_str(), "security.selinux", "x", 1, 0),
                 EOPNOTSUPP);
  EXPECT_SYS_ERR(getxattr(f.c_str(), "security.other", b, sizeof b), ENODATA);
  EXPECT_SYS_OK(setxattr(f.c_str(), "security.other", "v", 1, 0));
  ASSERT_EQ(getxattr(f.c_str(), "security.other", b, sizeof b), 1);
  EXPECT_EQ(b[0], 'v');
}

TEST_F(FusePosixTest, WriteDropsFileCapabilitiesEveryTime) {
  // The mount takes FUSE_HANDLE_KILLPRIV_V2, so the kernel skips its check
  // before writes to files known to carry no capabilities; a file given
  // capabilities again must lose them again on its next write.
  MakeFile("capped", "abc", 0755);
  std::string f = Path("capped");
  // vfs_cap_data, revision 2: CAP_NET_BIND_SERVICE permitted.
  const uint32_t caps[5] = {0x02000000, 1u << 10, 0, 0, 0};
  char b[64];
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    ASSERT_SYS_OK(
        setxattr(f.c_str(), "security.capability", caps, sizeof(caps), 0));
    ASSERT_EQ(getxattr(f.c_str(), "security.capability", b, sizeof b),
              static_cast<ssize_t>(sizeof(caps)));
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(pwrite(fd, "z", 1, round), 1);
    EXPECT_EQ(pwrite(fd, "y", 1, round + 1), 1);  // a second write as well
    close(fd);
    EXPECT_SYS_ERR(getxattr(f.c_str(), "security.capability", b, sizeof b),
                   ENODATA);
  }
}

// ---------------------------------------------------------- names, links --

TEST_F(FusePosixTest, NameLengthLimit) {
  std::string ok_name(255, 'n'), long_name(256, 'n');
  std::string ok = Path(ok_name), too_long = Path(long_name);
  EXPECT_ERRNO(OpenErr(ok, O_CREAT | O_WRONLY), 0);
  EXPECT_EQ(Stat(ok).st_size, 0);
  EXPECT_ERRNO(OpenErr(too_long, O_CREAT | O_WRONLY), ENAMETOOLONG);
  EXPECT_SYS_ERR(mkdir(too_long.c_str(), 0755), ENAMETOOLONG);
  EXPECT_ERRNO(StatErr(too_long), ENAMETOOLONG);
  EXPECT_SYS_ERR(symlink("x", too_long.c_str()), ENAMETOOLONG);
  EXPECT_SYS_ERR(rename(ok.c_str(), too_long.c_str()), ENAMETOOLONG);
  EXPECT_SYS_ERR(link(ok.c_str(), too_long.c_str()), ENAMETOOLONG);
  // The 255-byte name is listed intact.
  DIR* d = opendir(Path().c_str());
  ASSERT_NE(d, nullptr);
  bool found = false;
  while (dirent* e = readdir(d)) found |= ok_name == e->d_name;
  closedir(d);
  EXPECT_TRUE(found);
}

TEST_F(FusePosixTest, SymlinksAndLoops) {
  std::string a = Path("a"), b = Path("b"), l = Path("l");
  ASSERT_SYS_OK(symlink("b", a.c_str()));
  ASSERT_SYS_OK(symlink("a", b.c_str()));
  EXPECT_ERRNO(OpenErr(a, O_RDONLY), ELOOP);
  EXPECT_ERRNO(StatErr(a), ELOOP);
  struct stat st = Lstat(a);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 1);
  char buf[64];
  ASSERT_EQ(readlink(a.c_str(), buf, sizeof buf), 1);
  EXPECT_EQ(buf[0], 'b');
  ASSERT_ERRNO(WriteFile(Path("target"), "T"), 0);
  ASSERT_SYS_OK(symlink("target", l.c_str()));
  EXPECT_EQ(Read("l"), "T");
  EXPECT_ERRNO(OpenErr(l, O_RDONLY | O_NOFOLLOW), ELOOP);
  EXPECT_SYS_ERR(readlink(Path("target").c_str(), buf, sizeof buf), EINVAL);
}

// ---------------------------------------------------------------- readdir --

struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

TEST_F(FusePosixTest, ReaddirDuringChangesHasNoDuplicatesOrLosses) {
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  constexpr int kFiles = 600;
  auto name = [](const char* prefix, int i) {
    char b[32];
    snprintf(b, sizeof b, "%s%04d", prefix, i);
    return std::string(b);
  };
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_ERRNO(WriteFile(Path("d/" + name("f", i)), ""), 0);
  }
  std::set<std::string> removed;
  std::map<std::string, int> seen;
  UniqueFd dir(open(Path("d").c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(dir.ok());
  alignas(8) char buf[1024];  // a few entries per call
  int step = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    ASSERT_GE(n, 0) << strerror(errno);
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* e = reinterpret_cast<Dirent64*>(buf + off);
      ++seen[e->d_name];
      off += e->d_reclen;
    }
    // Between calls: add a name and remove one not read yet (odd, from the
    // end) or already read (even, from the start).
    // (Additions stop after a while: a listing that keeps returning new
    // names is correct, and would never end.)
    if (step < 100) {
      ASSERT_ERRNO(WriteFile(Path("d/" + name("n", step)), ""), 0);
    }
    int victim = step % 2 == 0 ? step : kFiles - 1 - step;
    if (victim >= 0 && victim < kFiles && removed.size() < 100) {
      std::string v = name("f", victim);
      if (!removed.count(v) && unlink(Path("d/" + v).c_str()) == 0) {
        removed.insert(v);
      }
    }
    ++step;
    ASSERT_LT(step, 10000) << "readdir does not terminate";
  }
  for (const auto& [n, count] : seen) EXPECT_EQ(count, 1) << "duplicate " << n;
  EXPECT_EQ(seen.count("."), 1u);
  EXPECT_EQ(seen.count(".."), 1u);
  for (int i = 0; i < kFiles; ++i) {
    std::string n = name("f", i);
    if (!removed.count(n)) {
      EXPECT_EQ(seen.count(n), 1u) << "lost " << n;
    }
  }
  EXPECT_GT(step, 10) << "the listing came in too few calls to interleave";
}

TEST_F(FusePosixTest, ReaddirTypesAndInodesMatchStat) {
  ASSERT_SYS_OK(mkdir(Path("d").c_str(), 0755));
  ASSERT_SYS_OK(mkdir(Path("d/sub").c_str(), 0755));
  ASSERT_ERRNO(WriteFile(Path("d/file"), ""), 0);
  ASSERT_SYS_OK(symlink("file", Path("d/link").c_str()));
  ASSERT_SYS_OK(mkfifo(Path("d/fifo").c_str(), 0644));
  std::map<std::string, std::pair<ino_t, unsigned char>> got;
  DIR* d = opendir(Path("d").c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d)) got[e->d_name] = {e->d_ino, e->d_type};
  closedir(d);
  std::map<std::string, unsigned char> want = {
      {"sub", DT_DIR}, {"file", DT_REG}, {"link", DT_LNK}, {"fifo", DT_FIFO}};
  EXPECT_EQ(got.size(), want.size() + 2);
  for (const auto& [n, type] : want) {
    ASSERT_EQ(got.count(n), 1u) << n;
    EXPECT_EQ(got[n].second, type) << n;
    EXPECT_EQ(got[n].first, Lstat(Path("d/" + n)).st_ino) << n;
  }
}

// ------------------------------------------------------ filesystem, space --

TEST_F(FusePosixTest, StatfsReportsNameMaxAndSaneCounts) {
  struct statvfs sv;
  ASSERT_SYS_OK(statvfs(Path().c_str(), &sv));
  EXPECT_EQ(sv.f_namemax, 255u);
  EXPECT_GT(sv.f_bsize, 0u);
  EXPECT_GT(sv.f_blocks, 0u);
  EXPECT_LE(sv.f_bfree, sv.f_blocks);
  EXPECT_LE(sv.f_bavail, sv.f_bfree);
  EXPECT_LE(sv.f_ffree, sv.f_files);
  struct statfs sf;
  ASSERT_SYS_OK(statfs(Path().c_str(), &sf));
  EXPECT_EQ(sf.f_namelen, 255);
}

TEST_F(FusePosixTest, FallocateAllocatesAndPunchesHoles) {
  std::string p = Path("f");
  UniqueFd fd(open(p.c_str(), O_RDWR | O_CREAT, 0644));
  ASSERT_TRUE(fd.ok());
  ASSERT_SYS_OK(fallocate(fd.get(), 0, 0, 10000));
  struct stat st;
  ASSERT_SYS_OK(fstat(fd.get(), &st));
  EXPECT_EQ(st.st_size, 10000);
  EXPECT_GE(st.st_blocks * 512, 10000) << "mode 0 reserves the space";
  EXPECT_EQ(PreadAll(fd.get()), std::string(10000, '\0'));
  ASSERT_SYS_OK(fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 0, 20000));
  ASSERT_SYS_OK(fstat(fd.get(), &st));
  EXPECT_EQ(st.st_size, 10000);

  std::string data = Pattern(3 * 4096, 7);
  ASSERT_EQ(pwrite(fd.get(), data.data(), data.size(), 0),
            static_cast<ssize_t>(data.size()));
  ASSERT_SYS_OK(fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          4096, 4096));
  ASSERT_SYS_OK(
      fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 50));
  std::string want = data;
  std::fill(want.begin() + 4096, want.begin() + 8192, '\0');
  std::fill(want.begin() + 100, want.begin() + 150, '\0');
  ASSERT_SYS_OK(fstat(fd.get(), &st));
  EXPECT_EQ(st.st_size, static_cast<off_t>(data.size()));
  EXPECT_TRUE(PreadAll(fd.get()) == want) << "punched ranges read as zeros";
  // Read back through a fresh mount too (no page cache).
  fd.Reset();
  Remount();
  EXPECT_TRUE(Read("f") == want);
  fd = UniqueFd(open(p.c_str(), O_RDWR));
  EXPECT_SYS_ERR(fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
}

TEST_F(FusePosixTest, SeekDataAndSeekHole) {
  std::string p = Path("f");
  UniqueFd fd(open(p.c_str(), O_RDWR | O_CREAT, 0644));
  ASSERT_TRUE(fd.ok());
  const off_t mib = 1 << 20;
  std::string block(4096, 'd');
  ASSERT_EQ(pwrite(fd.get(), block.data(), 4096, 0), 4096);
  ASSERT_EQ(pwrite(fd.get(), block.data(), 4096, mib), 4096);
  ASSERT_SYS_OK(ftruncate(fd.get(), 2 * mib));  // a hole at the end too
  EXPECT_EQ(lseek(fd.get(), 0, SEEK_DATA), 0);
  EXPECT_EQ(lseek(fd.get(), 0, SEEK_HOLE), 4096);
  EXPECT_EQ(lseek(fd.get(), 4096, SEEK_DATA), mib);
  EXPECT_EQ(lseek(fd.get(), 5000, SEEK_DATA), mib);
  EXPECT_EQ(lseek(fd.get(), mib + 10, SEEK_DATA), mib + 10);
  EXPECT_EQ(lseek(fd.get(), mib, SEEK_HOLE), mib + 4096);
  EXPECT_SYS_ERR(lseek(fd.get(), mib + 4096, SEEK_DATA), ENXIO);
  EXPECT_EQ(lseek(fd.get(), mib + 8192, SEEK_HOLE), mib + 8192);
  EXPECT_SYS_ERR(lseek(fd.get(), 2 * mib, SEEK_DATA), ENXIO);
  EXPECT_SYS_ERR(lseek(fd.get(), 2 * mib, SEEK_HOLE), ENXIO);
  EXPECT_SYS_ERR(lseek(fd.get(), 3 * mib, SEEK_HOLE), ENXIO);
}

TEST_F(FusePosixTest, CopyFileRangeCopiesAndStopsAtEof) {
  std::string src = Pattern(300000, 11);
  ASSERT_ERRNO(WriteFile(Path("src"), src), 0);
  UniqueFd in(open(Path("src").c_str(), O_RDONLY));
  UniqueFd out(open(Path("dst").c_str(), O_RDWR | O_CREAT, 0644));
  ASSERT_TRUE(in.ok() && out.ok());
  loff_t off_in = 1000, off_out = 500;
  size_t left = 200000;
  while (left > 0) {
    ssize_t n =
        copy_file_range(in.get(), &off_in, out.get(), &off_out, left, 0);
    ASSERT_GT(n, 0) << strerror(errno);
    left -= static_cast<size_t>(n);
  }
  EXPECT_EQ(off_in, 201000);
  EXPECT_EQ(off_out, 200500);
  EXPECT_EQ(lseek(in.get(), 0, SEEK_CUR), 0) << "explicit offsets leave fds";
  std::string dst = PreadAll(out.get());
  ASSERT_EQ(dst.size(), 200500u);
  EXPECT_EQ(dst.substr(0, 500), std::string(500, '\0'));
  EXPECT_TRUE(dst.substr(500) == src.substr(1000, 200000));
  // Short copy at the end of the source, then nothing.
  off_in = 299000;
  off_out = 0;
  EXPECT_EQ(copy_file_range(in.get(), &off_in, out.get(), &off_out, 5000, 0),
            1000);
  EXPECT_EQ(copy_file_range(in.get(), &off_in, out.get(), &off_out, 5000, 0),
            0);
  EXPECT_TRUE(PreadAll(out.get()).substr(0, 1000) == src.substr(299000));
}

TEST_F(FusePosixTest, MknodFifoAndRegular) {
  std::string fifo = Path("fifo");
  ASSERT_SYS_OK(mkfifo(fifo.c_str(), 0640));
  struct stat st = Stat(fifo);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  UniqueFd rd(open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_TRUE(rd.ok()) << strerror(errno);
  UniqueFd wr(open(fifo.c_str(), O_WRONLY));
  ASSERT_TRUE(wr.ok()) << strerror(errno);
  ASSERT_EQ(write(wr.get(), "ping", 4), 4);
  char buf[8];
  ASSERT_EQ(read(rd.get(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  EXPECT_SYS_ERR(mkfifo(fifo.c_str(), 0640), EEXIST);

  std::string reg = Path("reg");
  ASSERT_SYS_OK(mknod(reg.c_str(), S_IFREG | 0600, 0));
  st = Stat(reg);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  std::string chr = Path("null");
  ASSERT_SYS_OK(mknod(chr.c_str(), S_IFCHR | 0666, makedev(1, 3)));
  st = Stat(chr);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

// ------------------------------------------- changes from other front ends --

// Polls `cond` for up to 500 ms: less than the 1 s the kernel may cache
// names and attributes, so only an invalidation makes it true in time.
bool SoonTrue(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + milliseconds(500);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return cond();
}

TEST_F(FusePosixTest, ChangesThroughOtherFrontEndsReachTheKernelCaches) {
  OpContext nfs;  // root, arriving over NFS
  nfs.origin = Origin::kNfs;
  std::string f = Path("f"), g = Path("g");
  ASSERT_ERRNO(WriteFile(f, "aaaa"), 0);
  EXPECT_EQ(Read("f"), "aaaa");  // now in the page cache
  ino_t ino = Stat(f).st_ino;
  ASSERT_TRUE(vfs()->Write(nfs, ino, 0, 0, "bbbbbbbb").ok());
  EXPECT_TRUE(SoonTrue([&] { return Read("f") == "bbbbbbbb"; }))
      << "stale data or size after a remote write: " << Read("f");
  // Each check below starts from freshly cached attributes and names.
  std::string h = Path("h"), k = Path("k");
  ASSERT_ERRNO(WriteFile(h, ""), 0);
  ino_t h_ino = Stat(h).st_ino;
  SetAttrRequest chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(vfs()->SetAttr(nfs, h_ino, chmod).ok());
  EXPECT_TRUE(SoonTrue([&] { return (Stat(h).st_mode & 07777) == 0600; }))
      << "stale mode after a remote chmod";
  // A remembered "no such name" must go when the name appears elsewhere.
  EXPECT_ERRNO(StatErr(g), ENOENT);
  ASSERT_TRUE(vfs()->Mknod(nfs, kRootInode, "g", S_IFREG | 0644, 0).ok());
  EXPECT_TRUE(SoonTrue([&] { return StatErr(g) == 0; }))
      << "a name created remotely stays invisible";
  ASSERT_ERRNO(WriteFile(k, ""), 0);
  EXPECT_ERRNO(StatErr(k), 0);
  ASSERT_TRUE(vfs()->Unlink(nfs, kRootInode, "k").ok());
  EXPECT_TRUE(SoonTrue([&] { return StatErr(k) == ENOENT; }))
      << "a name removed remotely is still visible";
}

}  // namespace
}  // namespace concordfs::fusetest
