// OPLOCK_BREAK: oplock and lease break notifications sent to this
// connection's client, and its acknowledgements (MS-SMB2 2.2.23-2.2.25,
// 3.3.5.22). The state lives in the server-wide OplockTable.
#include "smb/core/connection.h"
#include "smb/info/nt_status.h"
#include "smb/wire/le.h"

namespace concordfs::smb {

BreakSender SmbConnection::MakeBreakSender() {
  auto post = transport_->Poster();
  SmbServerState* st = st_;
  std::string guid(client_guid_, 16);
  uint64_t serial = serial_;
  return [this, post, st, guid, serial](const BreakNotice& n) {
    // A lease is its client's: its break goes to the client's first
    // connection.
    if (n.lease && serial) {
      auto first = st->clients.First(guid);
      if (first && first->first != serial) {
        first->second([n](SmbConnection* c) { c->SendBreak(n); });
        return;
      }
    }
    // A break this connection's own request causes goes out at once, ahead
    // of the answers to requests queued behind it (the client expects it
    // before them); others are posted to this connection's queue.
    if (SmbConnection::Handling() == this) return SendBreak(n);
    post([this, n] { SendBreak(n); });
  };
}

void SmbConnection::SendBreak(const BreakNotice& n) {
  if (closing_) return;
  std::string out;
  Smb2Header h;
  h.command = kOplockBreak;
  h.flags = kFlagServerToRedir;
  h.message_id = ~0ULL;
  h.credits = 0;
  AppendHeader(h, &out);
  LeWriter w(&out);
  if (n.lease) {
    w.U16(44);
    w.U16(n.epoch);
    w.U32(n.ack_required ? 1 : 0);
    w.Bytes(n.lease_key);
    w.U32(n.current);
    w.U32(n.new_state);
    w.U32(0);  // break reason
    w.U32(0);  // access mask hint
    w.U32(0);  // share mask hint
  } else {
    w.U16(24);
    w.U8(n.oplock_level);
    w.U8(0);
    w.U32(0);
    w.U64(n.persistent);
    w.U64(n.volatile_id);
  }
  // Not signed (there is no request to answer); encrypted when the
  // session that holds the grant is (a lease break sent on another
  // connection of the client: when one of its sessions there is).
  Session* s = FindSession(n.session_id);
  if (!s && n.lease) {
    for (auto& [id, sess] : sessions_) {
      if (sess->state == Session::State::kValid && sess->encrypt) {
        s = sess.get();
        break;
      }
    }
  }
  SendChain(std::move(out), s, s && s->encrypt);
}

void SmbConnection::BreakReaders(const Open& o) {
  if (st_->oplocks && o.oplock_registered) {
    st_->oplocks->BreakReadersForWrite(o.ino, o.fid.volatile_id);
  }
}

void SmbConnection::OplockBreak(Call* c) {
  LeReader r(c->msg);
  r.Seek(kSmb2HeaderSize);
  uint16_t size = r.U16();
  if (!st_->oplocks) {
    c->status = kStatusInvalidParameter;
    return;
  }
  if (size == 24) {
    uint8_t level = r.U8();
    r.Skip(5);
    SmbFileId fid = ReadFileId(&r);
    if (!r.ok()) {
      c->status = kStatusInvalidParameter;
      return;
    }
    Open* o = OpenOrClosed(c, fid);
    if (!o) return;
    uint8_t granted = 0;
    uint32_t st = st_->oplocks->AckOplock(o->fid.volatile_id, level, &granted);
    if (st != kStatusSuccess) {
      c->status = st;
      return;
    }
    LeWriter w(&c->body);
    w.U16(24);
    w.U8(granted);
    w.U8(0);
    w.U32(0);
    w.U64(o->fid.persistent);
    w.U64(o->fid.volatile_id);
    return;
  }
  if (size == 36 && dialect_ >= kDialect210) {
    r.Skip(2);  // reserved
    r.Skip(4);  // flags
    std::string key(r.Bytes(16));
    uint32_t state = r.U32();
    r.Skip(8);  // duration
    if (!r.ok()) {
      c->status = kStatusInvalidParameter;
      return;
    }
    uint32_t st =
        st_->oplocks->AckLease(std::string(client_guid_, 16) + key, state);
    if (st != kStatusSuccess) {
      c->status = st;
      return;
    }
    LeWriter w(&c->body);
    w.U16(36);
    w.U16(0);
    w.U32(0);
    w.Bytes(key);
    w.U32(state);
    w.U64(0);
    return;
  }
  c->status = kStatusInvalidParameter;
}

}  // namespace concordfs::smb
