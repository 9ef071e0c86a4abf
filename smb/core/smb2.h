// SMB2 wire constants and the 64-byte SMB2 header (MS-SMB2 2.2.1): pure
// parse/encode, no state.
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace concordfs::smb {

inline constexpr size_t kSmb2HeaderSize = 64;

enum Smb2Command : uint16_t {
  kNegotiate = 0,
  kSessionSetup = 1,
  kLogoff = 2,
  kTreeConnect = 3,
  kTreeDisconnect = 4,
  kCreate = 5,
  kClose = 6,
  kFlush = 7,
  kRead = 8,
  kWrite = 9,
  kLock = 10,
  kIoctl = 11,
  kCancel = 12,
  kEcho = 13,
  kQueryDirectory = 14,
  kChangeNotify = 15,
  kQueryInfo = 16,
  kSetInfo = 17,
  kOplockBreak = 18,
  kCommandCount = 19,
};

// Header flags.
inline constexpr uint32_t kFlagServerToRedir = 0x1;
inline constexpr uint32_t kFlagAsync = 0x2;
inline constexpr uint32_t kFlagRelated = 0x4;
inline constexpr uint32_t kFlagSigned = 0x8;
inline constexpr uint32_t kFlagPriorityMask = 0x70;
inline constexpr uint32_t kFlagDfs = 0x10000000;
inline constexpr uint32_t kFlagReplay = 0x20000000;

// Dialects.
inline constexpr uint16_t kDialect202 = 0x0202;
inline constexpr uint16_t kDialect210 = 0x0210;
inline constexpr uint16_t kDialect300 = 0x0300;
inline constexpr uint16_t kDialect302 = 0x0302;
inline constexpr uint16_t kDialect311 = 0x0311;
inline constexpr uint16_t kDialectWildcard = 0x02FF;

// Negotiate security mode and capabilities.
inline constexpr uint16_t kSigningEnabled = 0x1;
inline constexpr uint16_t kSigningRequired = 0x2;
inline constexpr uint32_t kCapDfs = 0x1;
inline constexpr uint32_t kCapLeasing = 0x2;
inline constexpr uint32_t kCapLargeMtu = 0x4;
inline constexpr uint32_t kCapMultiChannel = 0x8;
inline constexpr uint32_t kCapPersistentHandles = 0x10;
inline constexpr uint32_t kCapDirectoryLeasing = 0x20;
inline constexpr uint32_t kCapEncryption = 0x40;

// Session flags (SESSION_SETUP response).
inline constexpr uint16_t kSessionGuest = 0x1;
inline constexpr uint16_t kSessionNull = 0x2;
inline constexpr uint16_t kSessionEncrypt = 0x4;

// Share types / flags (TREE_CONNECT response).
inline constexpr uint8_t kShareTypeDisk = 1;
inline constexpr uint8_t kShareTypePipe = 2;
inline constexpr uint32_t kShareFlagEncrypt = 0x8000;
inline constexpr uint32_t kShareFlagNoCaching = 0x30;

struct Smb2Header {
  uint16_t credit_charge = 0;
  uint32_t status = 0;  // responses; ChannelSequence in requests
  uint16_t command = 0;
  uint16_t credits = 0;  // request: credits asked; response: granted
  uint32_t flags = 0;
  uint32_t next_command = 0;
  uint64_t message_id = 0;
  uint64_t async_id = 0;  // when kFlagAsync
  uint32_t process_id = 0;
  uint32_t tree_id = 0;
  uint64_t session_id = 0;
  char signature[16] = {};

  bool is_async() const { return flags & kFlagAsync; }
  bool related() const { return flags & kFlagRelated; }
  bool is_signed() const { return flags & kFlagSigned; }
};

// True if `msg` starts with the SMB2 protocol id (0xFE 'S' 'M' 'B').
bool IsSmb2(std::string_view msg);
// True for an SMB1 message (0xFF 'S' 'M' 'B').
bool IsSmb1(std::string_view msg);
// Parses the header at the start of `msg`; false if too short, not SMB2, or
// StructureSize is not 64.
bool ParseHeader(std::string_view msg, Smb2Header* out);
// Appends a 64-byte header.
void AppendHeader(const Smb2Header& h, std::string* out);

}  // namespace concordfs::smb
