#include "smb/info/nt_status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace concordfs::smb {
namespace {

TEST(NtStatus, Values) {
  EXPECT_EQ(kStatusBufferOverflow, 0x80000005u);
  EXPECT_EQ(kStatusNoMoreFiles, 0x80000006u);
  EXPECT_EQ(kStatusObjectNameNotFound, 0xC0000034u);
  EXPECT_EQ(kStatusObjectPathNotFound, 0xC000003Au);
  EXPECT_EQ(kStatusTooManyLinks, 0xC0000265u);
  EXPECT_TRUE(NtSuccess(kStatusSuccess));
  EXPECT_TRUE(NtSuccess(kStatusPending));
  EXPECT_FALSE(NtSuccess(kStatusBufferOverflow));
  EXPECT_FALSE(NtError(kStatusBufferOverflow));
  EXPECT_TRUE(NtError(kStatusAccessDenied));
}

TEST(NtStatus, Errno) {
  struct {
    int err;
    NtStatus st;
  } cases[] = {
      {0, kStatusSuccess},
      {ENOENT, kStatusObjectNameNotFound},
      {ENOTDIR, kStatusNotADirectory},
      {EEXIST, kStatusObjectNameCollision},
      {EACCES, kStatusAccessDenied},
      {EPERM, kStatusAccessDenied},
      {ENOTEMPTY, kStatusDirectoryNotEmpty},
      {EISDIR, kStatusFileIsADirectory},
      {ENOSPC, kStatusDiskFull},
      {EFBIG, kStatusDiskFull},
      {EDQUOT, kStatusQuotaExceeded},
      {EROFS, kStatusMediaWriteProtected},
      {ENAMETOOLONG, kStatusObjectNameInvalid},
      {EXDEV, kStatusNotSameDevice},
      {EMLINK, kStatusTooManyLinks},
      {EINVAL, kStatusInvalidParameter},
      {ELOOP, kStatusStoppedOnSymlink},
      {EOPNOTSUPP, kStatusNotSupported},
      {ENOTSUP, kStatusNotSupported},
      {EBUSY, kStatusSharingViolation},
      {EAGAIN, kStatusFileLockConflict},
      {EDEADLK, kStatusLockNotGranted},
      {EBADF, kStatusInvalidHandle},
      {ENODATA, kStatusNonexistentEaEntry},
      {ENXIO, kStatusEndOfFile},
      {ENODEV, kStatusInvalidDeviceRequest},
      {ECANCELED, kStatusCancelled},
      {EUCLEAN, kStatusFileCorruptError},
      {EIO, kStatusUnexpectedIoError},
      {9999, kStatusUnexpectedIoError},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ErrnoToNtStatus(c.err), c.st) << c.err;
  }
}

TEST(NtStatus, PathErrors) {
  EXPECT_EQ(ErrnoToNtStatusForPath(ENOENT, true), kStatusObjectNameNotFound);
  EXPECT_EQ(ErrnoToNtStatusForPath(ENOENT, false), kStatusObjectPathNotFound);
  EXPECT_EQ(ErrnoToNtStatusForPath(ENOTDIR, false), kStatusObjectPathNotFound);
  EXPECT_EQ(ErrnoToNtStatusForPath(ENOTDIR, true), kStatusNotADirectory);
  EXPECT_EQ(ErrnoToNtStatusForPath(EACCES, false), kStatusAccessDenied);
}

TEST(NtStatus, Names) {
  EXPECT_EQ(NtStatusName(kStatusObjectNameNotFound),
            "STATUS_OBJECT_NAME_NOT_FOUND");
  EXPECT_EQ(NtStatusName(kStatusSuccess), "STATUS_SUCCESS");
  EXPECT_EQ(NtStatusName(0xC0DE0001), "0xC0DE0001");
}

}  // namespace
}  // namespace concordfs::smb
