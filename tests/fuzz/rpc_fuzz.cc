// libFuzzer target: one RPC message, as a server receives it, through
// ParseCall and then a Dispatcher holding the real portmapper, MOUNT and
// NFSv3 programs over an in-memory backend.
//
// Every input runs against a fresh, identical world (stores, vfs, exports,
// programs, dispatcher), so a finding reproduces from its input alone. The
// world holds a small tree (/dir/sub, /file with data, /link, /fifo, /ro
// exported read-only with root squash) and file handles are sealed with a
// fixed key, so inputs can carry valid handles. The xid's low bits choose
// the transport and the peer (allowed / not allowed by the exports, IPv6).
//
// Checked beyond "no crash": ParseCall's header views lie inside the input
// and respect the RFC 5531 limits; every reply parses as a reply to the
// call's xid and is a whole number of XDR words; a retransmitted
// non-idempotent call gets the identical reply from the duplicate-request
// cache.
//
// Seeds: run with CFS_RPC_FUZZ_WRITE_SEEDS=<dir> to (re)write the seed
// corpus (NULL, MNT "/", GETATTR of the root handle, READDIRPLUS of the
// root, WRITE to /file, ...) built against this world, then exit. The root
// (mode 0777, generation fixed), /file and /dir (owned by uid 1000, the
// seeds' AUTH_SYS user) are set up so that most seeds succeed.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "rpc/exports.h"
#include "rpc/file_handle.h"
#include "rpc/mount/mount.h"
#include "rpc/nfs3/nfs3.h"
#include "rpc/nlm/nlm.h"
#include "rpc/portmap/portmap.h"
#include "rpc/program.h"
#include "rpc/rpc_msg.h"
#include "rpc/xdr.h"
#include "util/clock.h"
#include "util/log.h"
#include "vfs/vfs.h"

using namespace concordfs;       // NOLINT
using namespace concordfs::rpc;  // NOLINT

namespace {

// The fixed handle key of the fuzz world (handles in the seeds use it).
const std::string kKey = "concordfs-rpc-fuzz-fixed-key-32b";

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "rpc_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// One NSM state for every world (it lives in files): created once.
NsmState* SharedNsm() {
  static NsmState* nsm = [] {
    char tmpl[] = "/tmp/cfs-rpc-fuzz-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    Check(dir != nullptr, "mkdtemp");
    auto s = NsmState::Open(dir);
    Check(s.ok(), "nsm state");
    return s->release();
  }();
  return nsm;
}

struct World {
  ManualClock clock{2'000'000'000LL * kNanosPerSecond};
  std::unique_ptr<MetadataStore> md = NewMemoryStore();
  std::unique_ptr<ContentStore> content = NewMemoryContentStore();
  std::unique_ptr<Vfs> vfs;
  std::unique_ptr<ExportRegistry> exports;
  HandleCodec codec{kKey};
  PortmapRegistry registry;
  std::unique_ptr<PortmapProgram> portmap;
  std::unique_ptr<MountProgram> mount;
  std::unique_ptr<Nfs3Program> nfs;
  locking::LockManager locks;
  locking::ShareModeTable shares;
  std::unique_ptr<NlmProgram> nlm;
  std::unique_ptr<NsmProgram> nsm;
  std::unique_ptr<Dispatcher> dispatcher;
  InodeId file = kInvalidInode, dir = kInvalidInode, ro = kInvalidInode,
          link = kInvalidInode;

  World() {
    Check(md->Initialize(0, 0, 0755).ok(), "initialize");
    // The root gets a random generation and the wall-clock time at
    // Initialize: fix both so the root handle and its attributes are the
    // same in every world.
    auto root_inode = md->GetInode(kRootInode);
    Check(root_inode.ok(), "root inode");
    root_inode->generation = 0x5eed0001;
    root_inode->mode = 0777;  // the seeds' user (uid 1000) may create here
    root_inode->atime = root_inode->mtime = root_inode->ctime =
        root_inode->btime = clock.Now();
    MetadataBatch fix;
    fix.PutInode(*root_inode);
    Check(md->Write(fix).ok(), "fix root inode");
    VfsOptions vo;
    vo.clock = &clock;
    vfs = std::make_unique<Vfs>(md.get(), content.get(), vo);
    Check(vfs->Recover().ok(), "recover");
    OpContext root;
    auto d = vfs->Mkdir(root, kRootInode, "dir", 0755);
    Check(d.ok(), "mkdir dir");
    dir = d->inode.id;
    Check(vfs->Mkdir(root, dir, "sub", 0700).ok(), "mkdir sub");
    auto f = vfs->Mknod(root, kRootInode, "file", S_IFREG | 0644, 0);
    Check(f.ok(), "mknod file");
    file = f->inode.id;
    Check(vfs->Write(root, file, 0, 0, "hello, fuzzer\n").ok(), "write");
    SetAttrRequest owner;
    owner.uid = 1000;
    owner.gid = 1000;
    Check(vfs->SetAttr(root, file, owner).ok(), "chown file");
    Check(vfs->SetAttr(root, dir, owner).ok(), "chown dir");
    auto l = vfs->Symlink(root, kRootInode, "link", "file");
    Check(l.ok(), "symlink");
    link = l->inode.id;
    Check(vfs->Mknod(root, kRootInode, "fifo", S_IFIFO | 0600, 0).ok(), "fifo");
    auto r = vfs->Mkdir(root, kRootInode, "ro", 0755);
    Check(r.ok(), "mkdir ro");
    ro = r->inode.id;
    Check(vfs->Mknod(root, ro, "f", S_IFREG | 0644, 0).ok(), "mknod ro/f");

    ExportOptions all;
    all.path = "/";
    all.clients = {"127.0.0.0/8", "::1"};
    all.squash = Squash::kNone;
    ExportOptions ro_export;
    ro_export.path = "/ro";
    ro_export.clients = {"*"};
    ro_export.read_only = true;
    ro_export.squash = Squash::kRoot;
    auto t = ExportTable::Build(vfs.get(), {all, ro_export});
    Check(t.ok(), "exports");
    exports = std::make_unique<ExportRegistry>(std::move(*t));

    registry.Set({nfs3::kProgram, 3, "tcp", "127.0.0.1.8.1", "concordfs"});
    registry.Set({kMountProgram, 3, "udp", "127.0.0.1.3.122", "concordfs"});
    portmap = std::make_unique<PortmapProgram>(&registry);
    mount = std::make_unique<MountProgram>(vfs.get(), exports.get(), &codec);
    Nfs3Options no;
    no.max_io = 64 * 1024;  // keeps READ replies small
    nfs = std::make_unique<Nfs3Program>(vfs.get(), exports.get(), &codec, no);
    NlmOptions lo;
    // Callbacks find no client portmapper (nothing listens on port 1) and
    // give up at once; a grant nobody takes is released.
    lo.client_portmap_port = 1;
    lo.granted_attempts = 1;
    lo.granted_timeout = std::chrono::milliseconds(1);
    nlm = std::make_unique<NlmProgram>(vfs.get(), &locks, &shares,
                                       exports.get(), &codec, nullptr, lo);
    nsm = std::make_unique<NsmProgram>(SharedNsm(), nlm.get());
    dispatcher = std::make_unique<Dispatcher>();
    dispatcher->Register(portmap.get());
    dispatcher->Register(mount.get());
    dispatcher->Register(nfs.get());
    dispatcher->Register(nlm.get());
    dispatcher->Register(nsm.get());
  }

  std::string Handle(InodeId ino, const char* export_path = "/") {
    std::string rest;
    const Export* x = exports->Current().FindForPath(export_path, &rest);
    auto a = vfs->GetAttr(ino);
    Check(x != nullptr && a.ok(), "handle");
    return codec.Encode({x->id, ino, a->inode.generation});
  }
};

// Checks ParseCall's result against the input it came from.
void CheckParsed(std::string_view in, const ParsedCall& pc) {
  if (pc.kind != ParsedCall::Kind::kCall) return;
  const CallHeader& h = pc.header;
  Check(h.args.empty() ||
            (h.args.data() >= in.data() &&
             h.args.data() + h.args.size() == in.data() + in.size()),
        "arguments are not the tail of the record");
  Check(in.size() >= 40 + h.args.size(), "header shorter than 40 bytes");
  Check(h.flavor == kAuthNone || h.flavor == kAuthSys, "unsupported flavor");
  Check(h.sys.has_value() == (h.flavor == kAuthSys), "AUTH_SYS body");
  if (h.sys) {
    Check(h.sys->machine.size() <= kMaxMachineName, "machine name limit");
    Check(h.sys->gids.size() <= kMaxAuthSysGroups, "group limit");
  }
}

void CheckReply(const CallHeader& h, const std::string& reply) {
  Check(reply.size() % 4 == 0, "reply is not a whole number of XDR words");
  Check(reply.size() >= 20, "reply shorter than a reply header");
  XdrDecoder d(reply);
  Check(d.U32() == h.xid, "reply xid differs from the call's");
  Check(d.U32() == kMsgReply, "reply is not a REPLY");
  ParsedReply p = ParseReply(reply);
  Check(p.xid == h.xid, "ParseReply xid");
}

std::string MakeCall(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                     const std::string& args, bool auth_sys = true) {
  std::string msg;
  AuthSys cred;
  cred.machine = "fuzz";
  cred.uid = 1000;
  cred.gid = 1000;
  cred.gids = {1000, 10};
  AppendCallHeader(&msg, xid, prog, vers, proc, auth_sys ? &cred : nullptr);
  msg += args;
  return msg;
}

void WriteSeeds(const char* dir) {
  World w;
  std::string root = w.Handle(kRootInode);
  std::string file = w.Handle(w.file);
  std::string ro = w.Handle(w.ro, "/ro");
  struct Seed {
    const char* name;
    std::string msg;
  };
  std::vector<Seed> seeds;
  auto add = [&](const char* name, uint32_t prog, uint32_t vers, uint32_t proc,
                 const std::string& args, bool sys = true) {
    // xid low bits 0: TCP from 127.0.0.1.
    seeds.push_back(
        {name, MakeCall(0x1000u + static_cast<uint32_t>(seeds.size() << 4),
                        prog, vers, proc, args, sys)});
  };
  std::string a;
  XdrEncoder e(&a);
  add("nfs_null", nfs3::kProgram, 3, nfs3::kNull, "", false);
  a.clear();
  e.String("/");
  add("mnt_root", kMountProgram, 3, 1, a);
  a.clear();
  e.String("/dir");
  add("mnt_subdir", kMountProgram, 3, 1, a);
  a.clear();
  e.String("/dir/sub");
  add("mnt_subdir_denied", kMountProgram, 3, 1, a);
  add("mnt_export", kMountProgram, 3, 5, "");
  a.clear();
  e.Opaque(root);
  add("getattr_root", nfs3::kProgram, 3, nfs3::kGetattr, a);
  a.clear();
  e.Opaque(root);
  e.String("file");
  add("lookup_file", nfs3::kProgram, 3, nfs3::kLookup, a);
  a.clear();
  e.Opaque(root);
  e.U64(0);
  e.Fixed(std::string(8, '\0'));
  e.U32(4096);
  e.U32(32768);
  add("readdirplus_root", nfs3::kProgram, 3, nfs3::kReaddirplus, a);
  a.clear();
  e.Opaque(file);
  e.U64(3);
  e.U32(5);
  e.U32(nfs3::kFileSync);
  e.Opaque("FUZZ!");
  add("write_file", nfs3::kProgram, 3, nfs3::kWrite, a);
  a.clear();
  e.Opaque(file);
  e.U64(0);
  e.U32(100);
  add("read_file", nfs3::kProgram, 3, nfs3::kRead, a);
  a.clear();
  e.Opaque(root);
  e.String("new");
  e.U32(nfs3::kUnchecked);
  e.Bool(true);  // mode
  e.U32(0640);
  e.Bool(false);
  e.Bool(false);
  e.Bool(true);  // size
  e.U64(10);
  e.U32(1);  // atime: server time
  e.U32(0);  // mtime: don't change
  add("create_new", nfs3::kProgram, 3, nfs3::kCreate, a);
  a.clear();
  e.Opaque(root);
  e.String("file");
  e.Opaque(ro);
  e.String("moved");
  add("rename_cross_export", nfs3::kProgram, 3, nfs3::kRename, a);
  a.clear();
  e.Opaque(file);
  e.Bool(true);  // mode
  e.U32(0600);
  e.Bool(false);
  e.Bool(false);
  e.Bool(true);  // size
  e.U64(2);
  e.U32(0);
  e.U32(2);  // mtime: client time
  e.U32(1234);
  e.U32(5678);
  e.Bool(false);  // no guard
  add("setattr_file", nfs3::kProgram, 3, nfs3::kSetattr, a);
  a.clear();
  e.Opaque(root);
  add("fsinfo_root", nfs3::kProgram, 3, nfs3::kFsinfo, a);
  a.clear();
  e.Opaque(root);
  e.U32(0x3f);
  add("access_root", nfs3::kProgram, 3, nfs3::kAccess, a);
  a.clear();
  e.Opaque(w.Handle(w.link));
  add("readlink_link", nfs3::kProgram, 3, nfs3::kReadlink, a);
  a.clear();
  e.Opaque(root);
  e.U64(0);
  e.Fixed(std::string(8, '\0'));
  e.U32(1024);
  add("readdir_root", nfs3::kProgram, 3, nfs3::kReaddir, a);
  a.clear();
  e.Opaque(root);
  e.String("newdir");
  e.Bool(true);
  e.U32(0750);
  for (int i = 0; i < 3; ++i) e.Bool(false);
  e.U32(0);
  e.U32(0);
  add("mkdir_new", nfs3::kProgram, 3, nfs3::kMkdir, a);
  a.clear();
  e.Opaque(root);
  e.String("sym");
  for (int i = 0; i < 4; ++i) e.Bool(false);
  e.U32(0);
  e.U32(0);
  e.String("dir/sub");
  add("symlink_new", nfs3::kProgram, 3, nfs3::kSymlink, a);
  a.clear();
  e.Opaque(root);
  e.String("fifo2");
  e.U32(nfs3::kFifo);
  for (int i = 0; i < 4; ++i) e.Bool(false);
  e.U32(0);
  e.U32(0);
  add("mknod_fifo", nfs3::kProgram, 3, nfs3::kMknod, a);
  a.clear();
  e.Opaque(root);
  e.String("excl");
  e.U32(nfs3::kExclusive);
  e.Fixed("verifier");
  add("create_exclusive", nfs3::kProgram, 3, nfs3::kCreate, a);
  a.clear();
  e.Opaque(root);
  e.String("file");
  add("remove_file", nfs3::kProgram, 3, nfs3::kRemove, a);
  a.clear();
  e.Opaque(root);
  e.String("file");
  e.Opaque(w.Handle(w.dir));
  e.String("renamed");
  add("rename_file", nfs3::kProgram, 3, nfs3::kRename, a);
  a.clear();
  e.Opaque(file);
  e.Opaque(w.Handle(w.dir));
  e.String("hardlink");
  add("link_file", nfs3::kProgram, 3, nfs3::kLink, a);
  a.clear();
  e.Opaque(file);
  e.U64(0);
  e.U32(0);
  add("commit_file", nfs3::kProgram, 3, nfs3::kCommit, a);
  a.clear();
  e.Opaque(root);
  add("fsstat_root", nfs3::kProgram, 3, nfs3::kFsstat, a);
  a.clear();
  e.Opaque(ro);
  add("pathconf_ro", nfs3::kProgram, 3, nfs3::kPathconf, a);
  a.clear();
  e.U32(nfs3::kProgram);
  e.U32(3);
  e.String("tcp");
  e.String("");
  e.String("");
  add("rpcb_getaddr", kPortmapProgram, 4, 3, a, false);
  a.clear();
  e.U32(kMountProgram);
  e.U32(3);
  e.U32(kIpProtoUdp);
  e.U32(0);
  add("pmap_getport", kPortmapProgram, 2, 3, a, false);
  // NLM v4: lock, test, unlock, blocking lock; NSM stat and notify.
  auto alock = [&](int32_t svid, uint64_t off, uint64_t len) {
    e.String("fuzzhost");
    e.Opaque(file);
    e.Opaque("owner");
    e.I32(svid);
    e.U64(off);
    e.U64(len);
  };
  a.clear();
  e.Opaque("c1");
  e.Bool(false);  // block
  e.Bool(true);   // exclusive
  alock(7, 0, 100);
  e.Bool(false);  // reclaim
  e.I32(1);       // state
  add("nlm_lock", kNlmProgram, 4, 2, a);
  a.clear();
  e.Opaque("c2");
  e.Bool(true);
  alock(8, 50, 0);
  add("nlm_test", kNlmProgram, 4, 1, a);
  a.clear();
  e.Opaque("c3");
  alock(7, 0, 100);
  add("nlm_unlock", kNlmProgram, 4, 4, a);
  a.clear();
  e.Opaque("c4");
  e.Bool(true);  // block
  e.Bool(false);
  alock(9, 10, 10);
  e.Bool(false);
  e.I32(1);
  add("nlm_lock_block", kNlmProgram, 4, 2, a);
  a.clear();
  e.String("fuzzhost");
  add("nsm_stat", kNsmProgram, 1, 1, a, false);
  a.clear();
  e.String("fuzzhost");
  e.I32(3);
  add("nsm_notify", kNsmProgram, 1, 6, a, false);
  for (const Seed& s : seeds) {
    std::string path = std::string(dir) + "/" + s.name;
    std::ofstream(path, std::ios::binary) << s.msg;
    // Each seed must be a valid call that succeeds at the RPC level.
    ParsedCall pc = ParseCall(s.msg);
    Check(pc.kind == ParsedCall::Kind::kCall, "seed does not parse");
    std::string reply;
    World fresh;
    Check(
        fresh.dispatcher->Dispatch(s.msg, Peer::Loopback(700), Transport::kTcp,
                                   &reply) == Dispatcher::Outcome::kReply,
        "seed got no reply");
    ParsedReply p = ParseReply(reply);
    if (!p.ok) std::fprintf(stderr, "seed %s: %s\n", s.name, p.error.c_str());
    Check(p.ok, "seed rejected");
    XdrDecoder res(p.results);
    std::fprintf(stderr, "seed %-20s %4zu bytes, first result word %u\n",
                 s.name, s.msg.size(), res.U32());
  }
  std::fprintf(stderr, "rpc_fuzz: wrote %zu seeds to %s\n", seeds.size(), dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Handlers log at debug level; keep the fuzzer's output readable.
  SetLogLevel("off");
  if (const char* dir = std::getenv("CFS_RPC_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so that AddressSanitizer sees any overread.
  std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(buf.get(), data, size);
  std::string_view in(buf.get(), size);

  ParsedCall pc = ParseCall(in);
  CheckParsed(in, pc);
  if (pc.kind == ParsedCall::Kind::kDrop) {
    // Dispatch must agree: nothing to send, close.
    World w;
    std::string reply;
    Check(w.dispatcher->Dispatch(in, Peer::Loopback(), Transport::kTcp,
                                 &reply) == Dispatcher::Outcome::kClose,
          "a dropped record was not closed");
    Check(reply.empty(), "a dropped record got a reply");
    return 0;
  }

  World w;
  uint32_t bits = pc.header.xid;
  Transport t = (bits & 1) ? Transport::kUdp : Transport::kTcp;
  Peer peer = Peer::Loopback(700);
  switch ((bits >> 1) & 3) {
    case 1:
      peer = Peer::V4(0x0a000001, 2000);  // only the /ro export allows it
      break;
    case 2:
      Peer::Parse("::1", 1023, &peer);
      break;
    case 3:
      peer = Peer::Loopback(40000);
      break;
  }

  const std::string headroom(4, '\0');
  std::string reply = headroom;
  Dispatcher::Outcome out = w.dispatcher->Dispatch(in, peer, t, &reply);
  Check(reply.compare(0, 4, headroom) == 0, "headroom overwritten");
  if (out != Dispatcher::Outcome::kReply) {
    Check(reply.size() == 4, "bytes left behind without a reply");
    return 0;
  }
  std::string body = reply.substr(4);
  CheckReply(pc.header, body);

  // A retransmission of a non-idempotent call is answered from the cache.
  if (pc.kind == ParsedCall::Kind::kCall) {
    RpcProgram* prog = w.dispatcher->Find(pc.header.prog);
    if (prog != nullptr && pc.header.vers >= prog->min_version() &&
        pc.header.vers <= prog->max_version() &&
        prog->NonIdempotent(pc.header.vers, pc.header.proc)) {
      std::string again;
      Check(w.dispatcher->Dispatch(in, peer, t, &again) ==
                Dispatcher::Outcome::kReply,
            "retransmission got no reply");
      Check(again == body, "retransmission got a different reply");
    }
  }
  return 0;
}
