#include "smb/core/smb2.h"

#include <cstring>

#include "smb/wire/le.h"

namespace concordfs::smb {

bool IsSmb2(std::string_view msg) {
  return msg.size() >= 4 && static_cast<uint8_t>(msg[0]) == 0xFE &&
         msg.substr(1, 3) == "SMB";
}

bool IsSmb1(std::string_view msg) {
  return msg.size() >= 4 && static_cast<uint8_t>(msg[0]) == 0xFF &&
         msg.substr(1, 3) == "SMB";
}

bool ParseHeader(std::string_view msg, Smb2Header* h) {
  if (msg.size() < kSmb2HeaderSize || !IsSmb2(msg)) return false;
  LeReader r(msg);
  r.Skip(4);
  if (r.U16() != 64) return false;
  h->credit_charge = r.U16();
  h->status = r.U32();
  h->command = r.U16();
  h->credits = r.U16();
  h->flags = r.U32();
  h->next_command = r.U32();
  h->message_id = r.U64();
  if (h->flags & kFlagAsync) {
    h->async_id = r.U64();
    h->process_id = 0;
    h->tree_id = 0;
  } else {
    h->process_id = r.U32();
    h->tree_id = r.U32();
    h->async_id = 0;
  }
  h->session_id = r.U64();
  std::memcpy(h->signature, msg.data() + 48, 16);
  return r.ok();
}

void AppendHeader(const Smb2Header& h, std::string* out) {
  LeWriter w(out);
  w.U8(0xFE);
  w.Bytes("SMB");
  w.U16(64);
  w.U16(h.credit_charge);
  w.U32(h.status);
  w.U16(h.command);
  w.U16(h.credits);
  w.U32(h.flags);
  w.U32(h.next_command);
  w.U64(h.message_id);
  if (h.flags & kFlagAsync) {
    w.U64(h.async_id);
  } else {
    w.U32(h.process_id);
    w.U32(h.tree_id);
  }
  w.U64(h.session_id);
  w.Bytes(std::string_view(h.signature, 16));
}

}  // namespace concordfs::smb
