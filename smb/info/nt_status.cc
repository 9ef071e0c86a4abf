#include "smb/info/nt_status.h"

#include <cerrno>
#include <cstdio>

namespace concordfs::smb {

NtStatus ErrnoToNtStatus(int err) {
  switch (err) {
    case 0:
      return kStatusSuccess;
    case ENOENT:
      return kStatusObjectNameNotFound;
    case ENOTDIR:
      return kStatusNotADirectory;
    case EEXIST:
      return kStatusObjectNameCollision;
    case EACCES:
    case EPERM:
      return kStatusAccessDenied;
    case ENOTEMPTY:
      return kStatusDirectoryNotEmpty;
    case EISDIR:
      return kStatusFileIsADirectory;
    case ENOSPC:
    case EFBIG:
      return kStatusDiskFull;
    case EDQUOT:
      return kStatusQuotaExceeded;
    case EROFS:
      return kStatusMediaWriteProtected;
    case ENAMETOOLONG:
      return kStatusObjectNameInvalid;
    case EXDEV:
      return kStatusNotSameDevice;
    case EMLINK:
      return kStatusTooManyLinks;
    case EINVAL:
    case EOVERFLOW:
      return kStatusInvalidParameter;
    case ELOOP:
      return kStatusStoppedOnSymlink;
    case EOPNOTSUPP:
#if ENOTSUP != EOPNOTSUPP
    case ENOTSUP:
#endif
    case ENOSYS:
      return kStatusNotSupported;
    case EBUSY:
    case ETXTBSY:
      return kStatusSharingViolation;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      return kStatusFileLockConflict;
    case EDEADLK:
      return kStatusLockNotGranted;
    case EBADF:
      return kStatusInvalidHandle;
    case ENOMEM:
      return kStatusNoMemory;
    case ENODATA:
      return kStatusNonexistentEaEntry;
    case ERANGE:
      return kStatusBufferTooSmall;
    case ENXIO:
      return kStatusEndOfFile;
    case ENODEV:
    case ENOTTY:
      return kStatusInvalidDeviceRequest;
    case ECANCELED:
    case EINTR:
      return kStatusCancelled;
    case ETIMEDOUT:
      return kStatusIoTimeout;
    case EUCLEAN:
      return kStatusFileCorruptError;
    case ESTALE:
      return kStatusFileDeleted;
    default:
      return kStatusUnexpectedIoError;
  }
}

NtStatus ErrnoToNtStatusForPath(int err, bool last_component) {
  if (!last_component && (err == ENOENT || err == ENOTDIR)) {
    return kStatusObjectPathNotFound;
  }
  return ErrnoToNtStatus(err);
}

std::string NtStatusName(NtStatus s) {
  switch (s) {
#define CFS_NT_NAME(sym, val) \
  case val:                   \
    return "STATUS_" #sym;
    CFS_NT_NAME(SUCCESS, kStatusSuccess)
    CFS_NT_NAME(PENDING, kStatusPending)
    CFS_NT_NAME(NOTIFY_CLEANUP, kStatusNotifyCleanup)
    CFS_NT_NAME(NOTIFY_ENUM_DIR, kStatusNotifyEnumDir)
    CFS_NT_NAME(BUFFER_OVERFLOW, kStatusBufferOverflow)
    CFS_NT_NAME(NO_MORE_FILES, kStatusNoMoreFiles)
    CFS_NT_NAME(STOPPED_ON_SYMLINK, kStatusStoppedOnSymlink)
    CFS_NT_NAME(UNSUCCESSFUL, kStatusUnsuccessful)
    CFS_NT_NAME(NOT_IMPLEMENTED, kStatusNotImplemented)
    CFS_NT_NAME(INVALID_INFO_CLASS, kStatusInvalidInfoClass)
    CFS_NT_NAME(INFO_LENGTH_MISMATCH, kStatusInfoLengthMismatch)
    CFS_NT_NAME(INVALID_HANDLE, kStatusInvalidHandle)
    CFS_NT_NAME(INVALID_PARAMETER, kStatusInvalidParameter)
    CFS_NT_NAME(NO_SUCH_FILE, kStatusNoSuchFile)
    CFS_NT_NAME(INVALID_DEVICE_REQUEST, kStatusInvalidDeviceRequest)
    CFS_NT_NAME(END_OF_FILE, kStatusEndOfFile)
    CFS_NT_NAME(MORE_PROCESSING_REQUIRED, kStatusMoreProcessingRequired)
    CFS_NT_NAME(NO_MEMORY, kStatusNoMemory)
    CFS_NT_NAME(ACCESS_DENIED, kStatusAccessDenied)
    CFS_NT_NAME(BUFFER_TOO_SMALL, kStatusBufferTooSmall)
    CFS_NT_NAME(OBJECT_TYPE_MISMATCH, kStatusObjectTypeMismatch)
    CFS_NT_NAME(OBJECT_NAME_INVALID, kStatusObjectNameInvalid)
    CFS_NT_NAME(OBJECT_NAME_NOT_FOUND, kStatusObjectNameNotFound)
    CFS_NT_NAME(OBJECT_NAME_COLLISION, kStatusObjectNameCollision)
    CFS_NT_NAME(OBJECT_PATH_INVALID, kStatusObjectPathInvalid)
    CFS_NT_NAME(OBJECT_PATH_NOT_FOUND, kStatusObjectPathNotFound)
    CFS_NT_NAME(OBJECT_PATH_SYNTAX_BAD, kStatusObjectPathSyntaxBad)
    CFS_NT_NAME(SHARING_VIOLATION, kStatusSharingViolation)
    CFS_NT_NAME(QUOTA_EXCEEDED, kStatusQuotaExceeded)
    CFS_NT_NAME(EAS_NOT_SUPPORTED, kStatusEasNotSupported)
    CFS_NT_NAME(EA_TOO_LARGE, kStatusEaTooLarge)
    CFS_NT_NAME(NONEXISTENT_EA_ENTRY, kStatusNonexistentEaEntry)
    CFS_NT_NAME(NO_EAS_ON_FILE, kStatusNoEasOnFile)
    CFS_NT_NAME(FILE_LOCK_CONFLICT, kStatusFileLockConflict)
    CFS_NT_NAME(LOCK_NOT_GRANTED, kStatusLockNotGranted)
    CFS_NT_NAME(DELETE_PENDING, kStatusDeletePending)
    CFS_NT_NAME(PRIVILEGE_NOT_HELD, kStatusPrivilegeNotHeld)
    CFS_NT_NAME(NO_SUCH_USER, kStatusNoSuchUser)
    CFS_NT_NAME(WRONG_PASSWORD, kStatusWrongPassword)
    CFS_NT_NAME(LOGON_FAILURE, kStatusLogonFailure)
    CFS_NT_NAME(ACCOUNT_RESTRICTION, kStatusAccountRestriction)
    CFS_NT_NAME(PASSWORD_EXPIRED, kStatusPasswordExpired)
    CFS_NT_NAME(ACCOUNT_DISABLED, kStatusAccountDisabled)
    CFS_NT_NAME(INVALID_SECURITY_DESCR, kStatusInvalidSecurityDescr)
    CFS_NT_NAME(RANGE_NOT_LOCKED, kStatusRangeNotLocked)
    CFS_NT_NAME(DISK_FULL, kStatusDiskFull)
    CFS_NT_NAME(INSUFFICIENT_RESOURCES, kStatusInsufficientResources)
    CFS_NT_NAME(MEDIA_WRITE_PROTECTED, kStatusMediaWriteProtected)
    CFS_NT_NAME(BAD_IMPERSONATION_LEVEL, kStatusBadImpersonationLevel)
    CFS_NT_NAME(IO_TIMEOUT, kStatusIoTimeout)
    CFS_NT_NAME(FILE_IS_A_DIRECTORY, kStatusFileIsADirectory)
    CFS_NT_NAME(NOT_SUPPORTED, kStatusNotSupported)
    CFS_NT_NAME(NETWORK_NAME_DELETED, kStatusNetworkNameDeleted)
    CFS_NT_NAME(NETWORK_ACCESS_DENIED, kStatusNetworkAccessDenied)
    CFS_NT_NAME(BAD_DEVICE_TYPE, kStatusBadDeviceType)
    CFS_NT_NAME(BAD_NETWORK_NAME, kStatusBadNetworkName)
    CFS_NT_NAME(REQUEST_NOT_ACCEPTED, kStatusRequestNotAccepted)
    CFS_NT_NAME(REQUEST_OUT_OF_SEQUENCE, kStatusRequestOutOfSequence)
    CFS_NT_NAME(NOT_SAME_DEVICE, kStatusNotSameDevice)
    CFS_NT_NAME(FILE_RENAMED, kStatusFileRenamed)
    CFS_NT_NAME(OPLOCK_NOT_GRANTED, kStatusOplockNotGranted)
    CFS_NT_NAME(INTERNAL_ERROR, kStatusInternalError)
    CFS_NT_NAME(UNEXPECTED_IO_ERROR, kStatusUnexpectedIoError)
    CFS_NT_NAME(DIRECTORY_NOT_EMPTY, kStatusDirectoryNotEmpty)
    CFS_NT_NAME(FILE_CORRUPT_ERROR, kStatusFileCorruptError)
    CFS_NT_NAME(NOT_A_DIRECTORY, kStatusNotADirectory)
    CFS_NT_NAME(NAME_TOO_LONG, kStatusNameTooLong)
    CFS_NT_NAME(CANCELLED, kStatusCancelled)
    CFS_NT_NAME(CANNOT_DELETE, kStatusCannotDelete)
    CFS_NT_NAME(FILE_DELETED, kStatusFileDeleted)
    CFS_NT_NAME(FILE_CLOSED, kStatusFileClosed)
    CFS_NT_NAME(INVALID_LEVEL, kStatusInvalidLevel)
    CFS_NT_NAME(INVALID_DEVICE_STATE, kStatusInvalidDeviceState)
    CFS_NT_NAME(POSSIBLE_DEADLOCK, kStatusPossibleDeadlock)
    CFS_NT_NAME(FS_DRIVER_REQUIRED, kStatusFsDriverRequired)
    CFS_NT_NAME(INVALID_LOCK_RANGE, kStatusInvalidLockRange)
    CFS_NT_NAME(USER_SESSION_DELETED, kStatusUserSessionDeleted)
    CFS_NT_NAME(INSUFF_SERVER_RESOURCES, kStatusInsuffServerResources)
    CFS_NT_NAME(NOT_FOUND, kStatusNotFound)
    CFS_NT_NAME(TOO_MANY_LINKS, kStatusTooManyLinks)
    CFS_NT_NAME(NOT_A_REPARSE_POINT, kStatusNotAReparsePoint)
    CFS_NT_NAME(NETWORK_SESSION_EXPIRED, kStatusNetworkSessionExpired)
    CFS_NT_NAME(FILE_NOT_AVAILABLE, kStatusFileNotAvailable)
#undef CFS_NT_NAME
    default: {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "0x%08X", s);
      return buf;
    }
  }
}

}  // namespace concordfs::smb
