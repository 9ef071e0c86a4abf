// One open instance of a DCE/RPC named pipe (\PIPE\srvsvc on IPC$), as the
// SMB core sees it: the client's writes (SMB2 WRITE, or the input of
// FSCTL_PIPE_TRANSCEIVE) go in through Write(), the server's PDUs come out
// through Read(). Inside: connection-oriented DCE/RPC (C706 + MS-RPCE):
// BIND / ALTER_CONTEXT negotiation, reassembly of fragmented requests and of
// PDUs split across writes, fragmentation of responses to the client's
// max_recv_frag, faults for bad calls; the calls themselves are srvsvc.h.
//
// The pipe is in message mode: every PDU fragment the server sends is one
// message. Read() never returns bytes of two messages; it reports *more when
// the message it read from has bytes left (the core then answers
// STATUS_BUFFER_OVERFLOW, and the next Read() continues that message).
//
// Client fragments longer than the negotiated max_recv_frag are tolerated.
// Memory is bounded: an incomplete PDU is at most 64 KiB (frag_length is 16
// bits), a reassembled request at most kMaxRequestStub, and Write() refuses
// input while more than kMaxPendingOutput bytes wait to be read.
//
// PipeEndpoint owns its state and copies of the lister and server info. Not
// thread-safe: the SMB core serializes calls per open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "smb/dcerpc/pdu.h"
#include "smb/dcerpc/srvsvc.h"

namespace concordfs::smb {

// Which pipe names are served: "srvsvc", case-insensitive, with or without a
// leading backslash (or "\PIPE\" prefix). Others: the core answers
// STATUS_OBJECT_NAME_NOT_FOUND.
bool IsServedPipe(std::string_view name);

class PipeEndpoint {
 public:
  // NT statuses Write() returns (class members so as not to clash with the
  // SMB core's status table in the same namespace).
  static constexpr uint32_t kStatusSuccess = 0;
  static constexpr uint32_t kStatusInvalidParameter = 0xc000000d;
  static constexpr uint32_t kStatusInsufficientResources = 0xc000009a;

  // Fragment size this server sends and accepts at most (as Windows does on
  // named pipes); the client's smaller max_recv_frag wins.
  static constexpr uint16_t kMaxFragment = 4280;
  // Smallest max_recv_frag a client may ask for; below, the bind is refused.
  static constexpr uint16_t kMinFragment = 256;
  static constexpr size_t kMaxRequestStub = 64 * 1024;
  static constexpr size_t kMaxPendingOutput = 8 * 1024 * 1024;

  PipeEndpoint(std::string pipe_name, ShareLister shares, PipeServerInfo info);

  // Data the client wrote: one or more complete PDUs, or parts of them.
  // Returns kStatusSuccess, kStatusInvalidParameter when the byte stream is
  // not DCE/RPC (bad version or data representation, frag_length too small;
  // buffered input is then dropped), or kStatusInsufficientResources when
  // the client does not read its responses. Protocol errors in well-formed
  // PDUs are answered in-band (BIND_NAK, FAULT) with kStatusSuccess.
  uint32_t Write(std::string_view data);
  // Response bytes waiting to be read.
  bool HasOutput() const { return !out_.empty(); }
  // Up to `max` bytes of the next message; *more = true if that message has
  // bytes left after them.
  std::string Read(size_t max, bool* more);

 private:
  // Handles one complete PDU; false if it is garbage.
  bool HandlePdu(const dcerpc::PduHeader& h, std::string_view pdu);
  void HandleBind(const dcerpc::PduHeader& h, std::string_view pdu);
  void HandleAlterContext(const dcerpc::PduHeader& h, std::string_view pdu);
  std::vector<dcerpc::ContextResult> NegotiateContexts(
      const dcerpc::BindBody& body, bool allow_features);
  void HandleRequest(const dcerpc::PduHeader& h, std::string_view pdu);
  void Execute();
  void Fault(uint32_t call_id, uint16_t context_id, uint32_t status);
  bool IsAcceptedContext(uint16_t id) const;
  void Emit(std::string pdu);

  bool served_;  // the pipe name is srvsvc; otherwise no interface binds
  ShareLister shares_;
  PipeServerInfo info_;

  std::string in_;  // bytes of an incomplete PDU
  std::deque<std::string> out_;
  size_t out_offset_ = 0;  // bytes of out_.front() already read
  size_t out_bytes_ = 0;   // unread bytes in out_

  bool bound_ = false;
  uint16_t max_xmit_ = kMaxFragment;  // negotiated fragment sizes
  uint16_t max_recv_ = kMaxFragment;
  uint32_t assoc_group_ = 0;
  std::vector<uint16_t> contexts_;  // accepted presentation context ids

  // The request being reassembled.
  bool in_call_ = false;
  uint32_t call_id_ = 0;
  uint16_t call_context_ = 0;
  uint16_t call_opnum_ = 0;
  std::string call_stub_;
  // A failed fragmented call whose remaining fragments are dropped.
  bool discarding_ = false;
  uint32_t discard_call_id_ = 0;
};

}  // namespace concordfs::smb
