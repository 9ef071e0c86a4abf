#include "smb/dcerpc/pipe.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "smb/wire/unicode.h"

namespace concordfs::smb {

namespace {

using dcerpc::BindAck;
using dcerpc::BindBody;
using dcerpc::ContextElement;
using dcerpc::ContextResult;
using dcerpc::EncodeBindAck;
using dcerpc::EncodeBindNak;
using dcerpc::EncodeFault;
using dcerpc::EncodeResponse;
using dcerpc::IsBindTimeFeatureSyntax;
using dcerpc::kFeatureKeepConnectionOnOrphan;
using dcerpc::kNakAuthenticationTypeNotRecognized;
using dcerpc::kNakLocalLimitExceeded;
using dcerpc::kNakProtocolVersionNotSupported;
using dcerpc::kNakReasonNotSpecified;
using dcerpc::kNcaProtoError;
using dcerpc::kNcaRemoteNoMemory;
using dcerpc::kNcaUnknownInterface;
using dcerpc::kNdrSyntax;
using dcerpc::kPduHeaderSize;
using dcerpc::kPfcFirstFrag;
using dcerpc::kPfcLastFrag;
using dcerpc::kReasonAbstractSyntaxNotSupported;
using dcerpc::kReasonLocalLimitExceeded;
using dcerpc::kReasonTransferSyntaxesNotSupported;
using dcerpc::kResultAcceptance;
using dcerpc::kResultNegotiateAck;
using dcerpc::kResultProviderRejection;
using dcerpc::kSrvsvcSyntax;
using dcerpc::ParseBindBody;
using dcerpc::ParsePduHeader;
using dcerpc::ParseRequestBody;
using dcerpc::PduHeader;
using dcerpc::PduType;
using dcerpc::RequestBody;
using dcerpc::SyntaxId;

constexpr std::string_view kSrvsvcPipe = "srvsvc";
constexpr std::string_view kSecondaryAddress = "\\PIPE\\srvsvc";
// Presentation contexts one pipe keeps at most (clients use one or two).
constexpr size_t kMaxContexts = 64;

// Association groups are per process; ids only need to be distinct.
uint32_t NextAssocGroup() {
  static std::atomic<uint32_t> next{0x53f0};
  uint32_t id = next.fetch_add(1, std::memory_order_relaxed);
  return id == 0 ? next.fetch_add(1, std::memory_order_relaxed) : id;
}

}  // namespace

bool IsServedPipe(std::string_view name) {
  if (!name.empty() && name.front() == '\\') name.remove_prefix(1);
  constexpr std::string_view kPipePrefix = "PIPE\\";
  if (name.size() > kPipePrefix.size() &&
      Utf8EqualsIgnoreCase(name.substr(0, kPipePrefix.size()), kPipePrefix)) {
    name.remove_prefix(kPipePrefix.size());
  }
  return Utf8EqualsIgnoreCase(name, kSrvsvcPipe);
}

PipeEndpoint::PipeEndpoint(std::string pipe_name, ShareLister shares,
                           PipeServerInfo info)
    : served_(IsServedPipe(pipe_name)),
      shares_(std::move(shares)),
      info_(std::move(info)) {}

uint32_t PipeEndpoint::Write(std::string_view data) {
  if (out_bytes_ > kMaxPendingOutput) return kStatusInsufficientResources;
  in_.append(data);
  size_t pos = 0;
  while (in_.size() - pos >= kPduHeaderSize) {
    std::string_view rest = std::string_view(in_).substr(pos);
    PduHeader h;
    bool framed = ParsePduHeader(rest, &h) && h.frag_length >= kPduHeaderSize;
    if (framed && rest.size() < h.frag_length) break;  // wait for the rest
    if (!framed || !HandlePdu(h, rest.substr(0, h.frag_length))) {
      // Not DCE/RPC: the framing is lost, so is everything buffered.
      in_.clear();
      in_call_ = false;
      call_stub_.clear();
      return kStatusInvalidParameter;
    }
    pos += h.frag_length;
  }
  in_.erase(0, pos);
  return kStatusSuccess;
}

std::string PipeEndpoint::Read(size_t max, bool* more) {
  bool left = false;
  std::string data;
  if (!out_.empty()) {
    const std::string& msg = out_.front();
    size_t n = std::min(max, msg.size() - out_offset_);
    data = msg.substr(out_offset_, n);
    out_offset_ += n;
    out_bytes_ -= n;
    if (out_offset_ == msg.size()) {
      out_.pop_front();
      out_offset_ = 0;
    } else {
      left = true;
    }
  }
  if (more != nullptr) *more = left;
  return data;
}

bool PipeEndpoint::HandlePdu(const PduHeader& h, std::string_view pdu) {
  if (h.version != 5) {
    if (h.type != PduType::kBind) return false;
    Emit(EncodeBindNak(h.call_id, kNakProtocolVersionNotSupported));
    return true;
  }
  switch (h.type) {
    case PduType::kBind:
      HandleBind(h, pdu);
      return true;
    case PduType::kAlterContext:
      HandleAlterContext(h, pdu);
      return true;
    case PduType::kRequest:
      HandleRequest(h, pdu);
      return true;
    case PduType::kOrphaned:
      // The client gave up on the call it was sending.
      if (in_call_ && h.call_id == call_id_) {
        in_call_ = false;
        call_stub_.clear();
      }
      return true;
    case PduType::kAuth3:
    case PduType::kCoCancel:
      return true;  // nothing to cancel: calls complete synchronously
    default:
      Fault(h.call_id, 0, kNcaProtoError);
      return true;
  }
}

void PipeEndpoint::HandleBind(const PduHeader& h, std::string_view pdu) {
  BindBody body;
  if (bound_) {
    // One association per connection; a second BIND is a protocol error.
    Emit(EncodeBindNak(h.call_id, kNakReasonNotSpecified));
    return;
  }
  if (h.auth_length != 0) {
    // RPC-level authentication is not offered; the SMB session is the
    // caller's identity.
    Emit(EncodeBindNak(h.call_id, kNakAuthenticationTypeNotRecognized));
    return;
  }
  if (!ParseBindBody(pdu, &body) || body.contexts.empty()) {
    Emit(EncodeBindNak(h.call_id, kNakReasonNotSpecified));
    return;
  }
  if (body.max_recv_frag < kMinFragment || body.max_xmit_frag < kMinFragment) {
    Emit(EncodeBindNak(h.call_id, kNakLocalLimitExceeded));
    return;
  }
  max_xmit_ = std::min(body.max_recv_frag, kMaxFragment);
  max_recv_ = std::min(body.max_xmit_frag, kMaxFragment);
  assoc_group_ =
      body.assoc_group_id != 0 ? body.assoc_group_id : NextAssocGroup();
  BindAck ack;
  ack.max_xmit_frag = max_xmit_;
  ack.max_recv_frag = max_recv_;
  ack.assoc_group_id = assoc_group_;
  ack.secondary_address = std::string(kSecondaryAddress);
  ack.results = NegotiateContexts(body, /*allow_features=*/true);
  bound_ = true;
  Emit(EncodeBindAck(PduType::kBindAck, h.call_id, ack));
}

void PipeEndpoint::HandleAlterContext(const PduHeader& h,
                                      std::string_view pdu) {
  BindBody body;
  if (!bound_ || h.auth_length != 0 || !ParseBindBody(pdu, &body) ||
      body.contexts.empty()) {
    Fault(h.call_id, 0, kNcaProtoError);
    return;
  }
  BindAck ack;
  ack.max_xmit_frag = max_xmit_;
  ack.max_recv_frag = max_recv_;
  ack.assoc_group_id = assoc_group_;
  ack.results = NegotiateContexts(body, /*allow_features=*/false);
  Emit(EncodeBindAck(PduType::kAlterContextResp, h.call_id, ack));
}

std::vector<ContextResult> PipeEndpoint::NegotiateContexts(
    const BindBody& body, bool allow_features) {
  std::vector<ContextResult> results;
  results.reserve(body.contexts.size());
  for (const ContextElement& c : body.contexts) {
    ContextResult r;
    r.result = kResultProviderRejection;
    const std::vector<SyntaxId>& ts = c.transfer_syntaxes;
    if (allow_features && ts.size() == 1 && IsBindTimeFeatureSyntax(ts[0])) {
      // Acknowledge the features this server has: it never closes the
      // connection on an orphaned call; it has no security contexts.
      r.result = kResultNegotiateAck;
      r.reason = ts[0].uuid.tail[0] & kFeatureKeepConnectionOnOrphan;
    } else if (!served_ || c.abstract_syntax != kSrvsvcSyntax) {
      r.reason = kReasonAbstractSyntaxNotSupported;
    } else if (std::find(ts.begin(), ts.end(), kNdrSyntax) == ts.end()) {
      r.reason = kReasonTransferSyntaxesNotSupported;  // e.g. NDR64 only
    } else if (!IsAcceptedContext(c.context_id) &&
               contexts_.size() >= kMaxContexts) {
      r.reason = kReasonLocalLimitExceeded;
    } else {
      r.result = kResultAcceptance;
      r.transfer_syntax = kNdrSyntax;
      if (!IsAcceptedContext(c.context_id)) contexts_.push_back(c.context_id);
    }
    results.push_back(r);
  }
  return results;
}

void PipeEndpoint::HandleRequest(const PduHeader& h, std::string_view pdu) {
  bool first = h.flags & kPfcFirstFrag;
  bool last = h.flags & kPfcLastFrag;
  RequestBody body;
  bool parsed = ParseRequestBody(h, pdu, &body);
  if (discarding_ && h.call_id == discard_call_id_ && !first) {
    discarding_ = !last;
    return;
  }
  discarding_ = false;
  uint32_t fault = 0;
  if (!parsed || !bound_ || h.auth_length != 0) {
    fault = kNcaProtoError;
  } else if (first) {
    // A call still being reassembled is abandoned by a new one.
    call_stub_.clear();
    in_call_ = IsAcceptedContext(body.context_id);
    if (!in_call_) fault = kNcaUnknownInterface;
    call_id_ = h.call_id;
    call_context_ = body.context_id;
    call_opnum_ = body.opnum;
  } else if (!in_call_ || h.call_id != call_id_) {
    fault = kNcaProtoError;
  }
  if (fault == 0 && body.stub.size() > kMaxRequestStub - call_stub_.size()) {
    fault = kNcaRemoteNoMemory;
  }
  if (fault != 0) {
    Fault(h.call_id, body.context_id, fault);
    in_call_ = false;
    call_stub_.clear();
    if (!last) {
      discarding_ = true;
      discard_call_id_ = h.call_id;
    }
    return;
  }
  call_stub_.append(body.stub);
  if (last) Execute();
}

void PipeEndpoint::Execute() {
  SrvsvcResult r = SrvsvcCall(call_opnum_, call_stub_, shares_, info_);
  in_call_ = false;
  call_stub_.clear();
  if (r.fault != 0) {
    Fault(call_id_, call_context_, r.fault);
    return;
  }
  for (std::string& frag :
       EncodeResponse(call_id_, call_context_, r.stub, max_xmit_)) {
    Emit(std::move(frag));
  }
}

void PipeEndpoint::Fault(uint32_t call_id, uint16_t context_id,
                         uint32_t status) {
  Emit(EncodeFault(call_id, context_id, status));
}

bool PipeEndpoint::IsAcceptedContext(uint16_t id) const {
  return std::find(contexts_.begin(), contexts_.end(), id) != contexts_.end();
}

void PipeEndpoint::Emit(std::string pdu) {
  out_bytes_ += pdu.size();
  out_.push_back(std::move(pdu));
}

}  // namespace concordfs::smb
