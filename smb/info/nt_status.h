// NT status codes the SMB front end puts on the wire, and the one place that
// maps vfs errno values to them.
//
// Values are from MS-ERREF (NTSTATUS). Severity is in the top two bits:
// 0x0 success, 0x4 informational, 0x8 warning (the response may still carry
// data, e.g. BUFFER_OVERFLOW), 0xC error. Constants and pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace concordfs::smb {

using NtStatus = uint32_t;

// Success and informational.
inline constexpr NtStatus kStatusSuccess = 0x00000000;
inline constexpr NtStatus kStatusPending = 0x00000103;
inline constexpr NtStatus kStatusNotifyCleanup = 0x0000010B;
inline constexpr NtStatus kStatusNotifyEnumDir = 0x0000010C;
// Warnings.
inline constexpr NtStatus kStatusBufferOverflow = 0x80000005;
inline constexpr NtStatus kStatusNoMoreFiles = 0x80000006;
inline constexpr NtStatus kStatusStoppedOnSymlink = 0x8000002D;
// Errors.
inline constexpr NtStatus kStatusUnsuccessful = 0xC0000001;
inline constexpr NtStatus kStatusNotImplemented = 0xC0000002;
inline constexpr NtStatus kStatusInvalidInfoClass = 0xC0000003;
inline constexpr NtStatus kStatusInfoLengthMismatch = 0xC0000004;
inline constexpr NtStatus kStatusInvalidHandle = 0xC0000008;
inline constexpr NtStatus kStatusInvalidParameter = 0xC000000D;
inline constexpr NtStatus kStatusNoSuchFile = 0xC000000F;
inline constexpr NtStatus kStatusInvalidDeviceRequest = 0xC0000010;
inline constexpr NtStatus kStatusEndOfFile = 0xC0000011;
inline constexpr NtStatus kStatusMoreProcessingRequired = 0xC0000016;
inline constexpr NtStatus kStatusNoMemory = 0xC0000017;
inline constexpr NtStatus kStatusAccessDenied = 0xC0000022;
inline constexpr NtStatus kStatusBufferTooSmall = 0xC0000023;
inline constexpr NtStatus kStatusObjectTypeMismatch = 0xC0000024;
inline constexpr NtStatus kStatusObjectNameInvalid = 0xC0000033;
inline constexpr NtStatus kStatusObjectNameNotFound = 0xC0000034;
inline constexpr NtStatus kStatusObjectNameCollision = 0xC0000035;
inline constexpr NtStatus kStatusObjectPathInvalid = 0xC0000039;
inline constexpr NtStatus kStatusObjectPathNotFound = 0xC000003A;
inline constexpr NtStatus kStatusObjectPathSyntaxBad = 0xC000003B;
inline constexpr NtStatus kStatusSharingViolation = 0xC0000043;
inline constexpr NtStatus kStatusQuotaExceeded = 0xC0000044;
inline constexpr NtStatus kStatusEasNotSupported = 0xC000004F;
inline constexpr NtStatus kStatusEaTooLarge = 0xC0000050;
inline constexpr NtStatus kStatusNonexistentEaEntry = 0xC0000051;
inline constexpr NtStatus kStatusNoEasOnFile = 0xC0000052;
inline constexpr NtStatus kStatusFileLockConflict = 0xC0000054;
inline constexpr NtStatus kStatusLockNotGranted = 0xC0000055;
inline constexpr NtStatus kStatusDeletePending = 0xC0000056;
inline constexpr NtStatus kStatusPrivilegeNotHeld = 0xC0000061;
inline constexpr NtStatus kStatusNoSuchUser = 0xC0000064;
inline constexpr NtStatus kStatusWrongPassword = 0xC000006A;
inline constexpr NtStatus kStatusLogonFailure = 0xC000006D;
inline constexpr NtStatus kStatusAccountRestriction = 0xC000006E;
inline constexpr NtStatus kStatusPasswordExpired = 0xC0000071;
inline constexpr NtStatus kStatusAccountDisabled = 0xC0000072;
inline constexpr NtStatus kStatusInvalidSecurityDescr = 0xC0000079;
inline constexpr NtStatus kStatusRangeNotLocked = 0xC000007E;
inline constexpr NtStatus kStatusDiskFull = 0xC000007F;
inline constexpr NtStatus kStatusInsufficientResources = 0xC000009A;
inline constexpr NtStatus kStatusMediaWriteProtected = 0xC00000A2;
inline constexpr NtStatus kStatusBadImpersonationLevel = 0xC00000A5;
inline constexpr NtStatus kStatusIoTimeout = 0xC00000B5;
inline constexpr NtStatus kStatusFileIsADirectory = 0xC00000BA;
inline constexpr NtStatus kStatusNotSupported = 0xC00000BB;
inline constexpr NtStatus kStatusNetworkNameDeleted = 0xC00000C9;
inline constexpr NtStatus kStatusNetworkAccessDenied = 0xC00000CA;
inline constexpr NtStatus kStatusBadDeviceType = 0xC00000CB;
inline constexpr NtStatus kStatusBadNetworkName = 0xC00000CC;
inline constexpr NtStatus kStatusRequestNotAccepted = 0xC00000D0;
inline constexpr NtStatus kStatusRequestOutOfSequence = 0xC000042A;
inline constexpr NtStatus kStatusInvalidOplockProtocol = 0xC00000E3;
inline constexpr NtStatus kStatusNotSameDevice = 0xC00000D4;
inline constexpr NtStatus kStatusFileRenamed = 0xC00000D5;
inline constexpr NtStatus kStatusOplockNotGranted = 0xC00000E2;
inline constexpr NtStatus kStatusInternalError = 0xC00000E5;
inline constexpr NtStatus kStatusUnexpectedIoError = 0xC00000E9;
inline constexpr NtStatus kStatusDirectoryNotEmpty = 0xC0000101;
inline constexpr NtStatus kStatusFileCorruptError = 0xC0000102;
inline constexpr NtStatus kStatusNotADirectory = 0xC0000103;
inline constexpr NtStatus kStatusNameTooLong = 0xC0000106;
inline constexpr NtStatus kStatusCancelled = 0xC0000120;
inline constexpr NtStatus kStatusCannotDelete = 0xC0000121;
inline constexpr NtStatus kStatusFileDeleted = 0xC0000123;
inline constexpr NtStatus kStatusFileClosed = 0xC0000128;
inline constexpr NtStatus kStatusInvalidLevel = 0xC0000148;
inline constexpr NtStatus kStatusInvalidDeviceState = 0xC0000184;
inline constexpr NtStatus kStatusPossibleDeadlock = 0xC0000194;
inline constexpr NtStatus kStatusFsDriverRequired = 0xC000019C;
inline constexpr NtStatus kStatusInvalidLockRange = 0xC00001A1;
inline constexpr NtStatus kStatusUserSessionDeleted = 0xC0000203;
inline constexpr NtStatus kStatusInsuffServerResources = 0xC0000205;
inline constexpr NtStatus kStatusNotFound = 0xC0000225;
inline constexpr NtStatus kStatusTooManyLinks = 0xC0000265;
inline constexpr NtStatus kStatusNotAReparsePoint = 0xC0000275;
inline constexpr NtStatus kStatusNetworkSessionExpired = 0xC000035C;
inline constexpr NtStatus kStatusFileNotAvailable = 0xC0000467;

// True for success and informational codes (severity 0 or 1).
inline bool NtSuccess(NtStatus s) { return (s >> 30) <= 1; }
// True for errors (severity 3); warnings still carry a response body.
inline bool NtError(NtStatus s) { return (s >> 30) == 3; }

// Maps a vfs errno (positive; 0 → success) to a status:
//   ENOENT→OBJECT_NAME_NOT_FOUND, ENOTDIR→NOT_A_DIRECTORY,
//   EEXIST→OBJECT_NAME_COLLISION, EACCES/EPERM→ACCESS_DENIED,
//   ENOTEMPTY→DIRECTORY_NOT_EMPTY, EISDIR→FILE_IS_A_DIRECTORY,
//   ENOSPC/EFBIG→DISK_FULL, EDQUOT→QUOTA_EXCEEDED,
//   EROFS→MEDIA_WRITE_PROTECTED, ENAMETOOLONG→OBJECT_NAME_INVALID,
//   EXDEV→NOT_SAME_DEVICE, EMLINK→TOO_MANY_LINKS, EINVAL→INVALID_PARAMETER,
//   ELOOP→STOPPED_ON_SYMLINK (the vfs returns it for opening a symlink; the
//   caller adds the symlink error context), EOPNOTSUPP→NOT_SUPPORTED,
//   EBUSY/ETXTBSY→SHARING_VIOLATION, EAGAIN→FILE_LOCK_CONFLICT,
//   EDEADLK→LOCK_NOT_GRANTED, EBADF→INVALID_HANDLE, ENOMEM→NO_MEMORY,
//   ENODATA→NONEXISTENT_EA_ENTRY, ERANGE→BUFFER_TOO_SMALL,
//   ENXIO→END_OF_FILE, ENODEV/ENOTTY→INVALID_DEVICE_REQUEST,
//   ECANCELED/EINTR→CANCELLED, ETIMEDOUT→IO_TIMEOUT,
//   EUCLEAN→FILE_CORRUPT_ERROR, ESTALE→FILE_DELETED,
//   EIO and anything else→UNEXPECTED_IO_ERROR.
NtStatus ErrnoToNtStatus(int err);

// The same for errors of a path walk, where Windows tells a missing or
// non-directory intermediate component (OBJECT_PATH_NOT_FOUND) from a
// missing last component (OBJECT_NAME_NOT_FOUND). `last_component` says
// which component the error is about.
NtStatus ErrnoToNtStatusForPath(int err, bool last_component);

// "STATUS_OBJECT_NAME_NOT_FOUND" for known codes, "0xC0000034" style text
// otherwise (logs).
std::string NtStatusName(NtStatus s);

}  // namespace concordfs::smb
