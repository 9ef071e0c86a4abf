// Connection-oriented DCE/RPC PDUs (C706 chapter 12, with the MS-RPCE
// additions): the 16-byte common header, the BIND / ALTER_CONTEXT and REQUEST
// bodies a server decodes, and the BIND_ACK / ALTER_CONTEXT_RESP, BIND_NAK,
// RESPONSE and FAULT PDUs it sends. Only the little-endian, ASCII, IEEE data
// representation is spoken (every Windows, Samba and impacket client uses it).
//
// Pure functions over byte strings: decoders validate every length against
// the bytes present and bound every allocation by the PDU size. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace concordfs::smb::dcerpc {

enum class PduType : uint8_t {
  kRequest = 0,
  kResponse = 2,
  kFault = 3,
  kBind = 11,
  kBindAck = 12,
  kBindNak = 13,
  kAlterContext = 14,
  kAlterContextResp = 15,
  kAuth3 = 16,
  kShutdown = 17,
  kCoCancel = 18,
  kOrphaned = 19,
};

// pfc_flags.
inline constexpr uint8_t kPfcFirstFrag = 0x01;
inline constexpr uint8_t kPfcLastFrag = 0x02;
inline constexpr uint8_t kPfcDidNotExecute = 0x20;
inline constexpr uint8_t kPfcObjectUuid = 0x80;

inline constexpr size_t kPduHeaderSize = 16;
// Header + alloc_hint, context id, opnum / cancel count.
inline constexpr size_t kRequestHeaderSize = 24;
inline constexpr size_t kResponseHeaderSize = 24;

// Fault statuses (C706 appendix E, MS-RPCE 2.2.2.11 / 3.1.1.5.5).
inline constexpr uint32_t kNcaOpRangeError = 0x1c010002;
inline constexpr uint32_t kNcaUnknownInterface = 0x1c010003;
inline constexpr uint32_t kNcaProtoError = 0x1c01000b;
inline constexpr uint32_t kNcaInvalidTag = 0x1c000006;
inline constexpr uint32_t kNcaRemoteNoMemory = 0x1c00001b;
inline constexpr uint32_t kRpcBadStubData = 0x000006f7;  // nca_s_fault_ndr

// p_cont_def_result_t and p_provider_reason_t (MS-RPCE adds negotiate_ack).
inline constexpr uint16_t kResultAcceptance = 0;
inline constexpr uint16_t kResultProviderRejection = 2;
inline constexpr uint16_t kResultNegotiateAck = 3;
inline constexpr uint16_t kReasonNotSpecified = 0;
inline constexpr uint16_t kReasonAbstractSyntaxNotSupported = 1;
inline constexpr uint16_t kReasonTransferSyntaxesNotSupported = 2;
inline constexpr uint16_t kReasonLocalLimitExceeded = 3;

// BIND_NAK p_reject_reason_t (C706 plus MS-RPCE 2.2.2.5).
inline constexpr uint16_t kNakReasonNotSpecified = 0;
inline constexpr uint16_t kNakLocalLimitExceeded = 2;
inline constexpr uint16_t kNakProtocolVersionNotSupported = 4;
inline constexpr uint16_t kNakAuthenticationTypeNotRecognized = 8;

// A UUID in its textual field order; on the wire the first three fields are
// little-endian and the last eight bytes go as they are.
struct Uuid {
  uint32_t time_low = 0;
  uint16_t time_mid = 0;
  uint16_t time_hi = 0;
  std::array<uint8_t, 8> tail{};
  bool operator==(const Uuid&) const = default;
};

// p_syntax_id_t: interface or transfer syntax with version (major in the low
// 16 bits, minor in the high 16 bits, as the u32 goes on the wire).
struct SyntaxId {
  Uuid uuid;
  uint32_t version = 0;
  bool operator==(const SyntaxId&) const = default;
};

// 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0
inline constexpr SyntaxId kSrvsvcSyntax{
    {0x4b324fc8,
     0x1670,
     0x01d3,
     {0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88}},
    3};
// 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0
inline constexpr SyntaxId kNdrSyntax{
    {0x8a885d04,
     0x1ceb,
     0x11c9,
     {0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}},
    2};
// 71710533-beba-4937-8319-b5dbef9ccc36 v1.0
inline constexpr SyntaxId kNdr64Syntax{
    {0x71710533,
     0xbeba,
     0x4937,
     {0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36}},
    1};
// Bind time feature negotiation (MS-RPCE 3.3.1.5.3): a transfer syntax whose
// UUID starts with 6cb71c2c-9812-4540 and whose last eight bytes are the
// feature bitmask.
bool IsBindTimeFeatureSyntax(const SyntaxId& s);
inline constexpr uint8_t kFeatureSecurityContextMultiplexing = 0x01;
inline constexpr uint8_t kFeatureKeepConnectionOnOrphan = 0x02;

struct PduHeader {
  uint8_t version = 5;
  uint8_t version_minor = 0;
  PduType type = PduType::kRequest;
  uint8_t flags = 0;
  std::array<uint8_t, 4> drep{};
  uint16_t frag_length = 0;
  uint16_t auth_length = 0;
  uint32_t call_id = 0;
};

// Decodes the first kPduHeaderSize bytes (which must be present). Returns
// false when the data representation is not little-endian ASCII IEEE: then
// frag_length cannot be trusted and the stream is garbage to this server.
bool ParsePduHeader(std::string_view in, PduHeader* h);

struct ContextElement {
  uint16_t context_id = 0;
  SyntaxId abstract_syntax;
  std::vector<SyntaxId> transfer_syntaxes;
};

// BIND and ALTER_CONTEXT share one body.
struct BindBody {
  uint16_t max_xmit_frag = 0;
  uint16_t max_recv_frag = 0;
  uint32_t assoc_group_id = 0;
  std::vector<ContextElement> contexts;
};

// `pdu` is the whole PDU (header included, frag_length bytes).
bool ParseBindBody(std::string_view pdu, BindBody* body);

struct RequestBody {
  uint32_t alloc_hint = 0;
  uint16_t context_id = 0;
  uint16_t opnum = 0;
  std::string_view stub;  // points into the PDU
};

// `pdu` is the whole PDU; h.auth_length must be 0 (the server speaks no RPC
// authentication), so everything after the body header is stub data.
bool ParseRequestBody(const PduHeader& h, std::string_view pdu,
                      RequestBody* body);

struct ContextResult {
  uint16_t result = kResultAcceptance;
  uint16_t reason = kReasonNotSpecified;
  SyntaxId transfer_syntax;  // all zero unless accepted
};

struct BindAck {
  uint16_t max_xmit_frag = 0;
  uint16_t max_recv_frag = 0;
  uint32_t assoc_group_id = 0;
  std::string secondary_address;  // "\PIPE\srvsvc"; empty for ALTER_CONTEXT
  std::vector<ContextResult> results;
};

// BIND_ACK or ALTER_CONTEXT_RESP (`type`).
std::string EncodeBindAck(PduType type, uint32_t call_id, const BindAck& ack);
// BIND_NAK listing 5.0 as the supported protocol version.
std::string EncodeBindNak(uint32_t call_id, uint16_t reason);
// FAULT with PFC_DID_NOT_EXECUTE (every fault of this server is raised
// before the operation runs).
std::string EncodeFault(uint32_t call_id, uint16_t context_id, uint32_t status);
// RESPONSE fragments carrying `stub`, none longer than `max_frag` bytes
// (>= kResponseHeaderSize + 8); each fragment but the last carries a multiple
// of 8 stub bytes so NDR alignment survives reassembly.
std::vector<std::string> EncodeResponse(uint32_t call_id, uint16_t context_id,
                                        std::string_view stub,
                                        uint16_t max_frag);

}  // namespace concordfs::smb::dcerpc
