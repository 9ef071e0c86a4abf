#!/usr/bin/python3
"""Independent reference values for the smb/crypto unit tests.

Run by hand (not by the tests) with the system python, which has
pycryptodomex:  /usr/bin/python3 gen_reference_vectors.py
It recomputes every value the tests call "python reference" from hashlib,
hmac and Cryptodome only, so a mistake in the C++ code cannot leak into
its own expected values. Microsoft's published values are rechecked too.
"""
import hashlib
import hmac
import struct
from binascii import hexlify, unhexlify

from Cryptodome.Cipher import AES
from Cryptodome.Hash import CMAC


def kdf(key, label, context, bits):
    out = b""
    i = 1
    while len(out) * 8 < bits:
        data = struct.pack(">I", i) + label + b"\0" + context + struct.pack(">I", bits)
        out += hmac.new(key, data, hashlib.sha256).digest()
        i += 1
    return out[: bits // 8]


def h(b):
    return hexlify(b).decode().upper()


def zero_sig(msg):
    return msg[:48] + b"\0" * 16 + msg[64:]


def transform(cipher_gcm, key, session_id, nonce_field, plaintext):
    aad = nonce_field + struct.pack("<IHHQ", len(plaintext), 0, 1, session_id)
    n = nonce_field[:12] if cipher_gcm else nonce_field[:11]
    mode = AES.MODE_GCM if cipher_gcm else AES.MODE_CCM
    c = AES.new(key, mode, nonce=n, mac_len=16)
    c.update(aad)
    ct, tag = c.encrypt_and_digest(plaintext)
    return b"\xfdSMB" + tag + aad + ct


# Microsoft's SMB 3.1.1 encryption sample (client WRITE request, plaintext).
WRITE_311 = unhexlify(
    "FE534D4240000100000000000900010008000000000000000500000000000000"
    "FFFE000001000000250000000010000000000000000000000000000000000000"
    "3100700017000000000000000000000006000000040000000100000004000000"
    "00000000000000007000000000000000536D623320656E6372797074696F6E20"
    "74657374696E67")
# Microsoft's SMB 3.1.1 sample response (plaintext), a server->client message.
RESP_311 = unhexlify(
    "FE534D4240000100000000000900010001000000000000000500000000000000"
    "FFFE000001000000250000000010000000000000000000000000000000000000"
    "11000000170000000000000000000000")
# A CANCEL request (MessageId 7, SIGNED) built for these tests.
CANCEL = unhexlify(
    "FE534D4240000000000000000C0000000800000000000000070000000000000000"
    "000000010000002500000000100000" + "00" * 16 + "04000000")
PREAUTH_311 = unhexlify(
    "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
    "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770")
SIGN_KEY = unhexlify("73FE7A9A77BEF0BDE49C650D8CCB5F76")

print("CANCEL", len(CANCEL), h(CANCEL))
print("-- KDF")
print("kdf384 key 000102..0F label 'L\\0' ctx 'C\\0':",
      h(kdf(bytes(range(16)), b"L\0", b"C\0", 384)))
sk30 = unhexlify("B4546771B515F766A86735532DD6C4F0")
print("3.0 signing", h(kdf(sk30, b"SMB2AESCMAC\0", b"SmbSign\0", 128)))
print("3.0 app    ", h(kdf(sk30, b"SMB2APP\0", b"SmbRpc\0", 128)))
print("3.0 encrypt", h(kdf(sk30, b"SMB2AESCCM\0", b"ServerOut\0", 128)))
print("3.0 decrypt", h(kdf(sk30, b"SMB2AESCCM\0", b"ServerIn \0", 128)))
sk311 = unhexlify("419FDDF34C1E001909D362AE7FB6AF79")
print("3.1.1 signing", h(kdf(sk311, b"SMBSigningKey\0", PREAUTH_311, 128)))
print("3.1.1 app    ", h(kdf(sk311, b"SMBAppKey\0", PREAUTH_311, 128)))
print("3.1.1 encrypt", h(kdf(sk311, b"SMBS2CCipherKey\0", PREAUTH_311, 128)))
print("3.1.1 decrypt", h(kdf(sk311, b"SMBC2SCipherKey\0", PREAUTH_311, 128)))
full = bytes(range(0xA0, 0xC0))  # a 32-byte (Kerberos-sized) session key
print("3.1.1/256 signing", h(kdf(full[:16], b"SMBSigningKey\0", PREAUTH_311, 128)))
enc256 = kdf(full, b"SMBS2CCipherKey\0", PREAUTH_311, 256)
print("3.1.1/256 encrypt", h(enc256))
print("3.1.1/256 decrypt", h(kdf(full, b"SMBC2SCipherKey\0", PREAUTH_311, 256)))

print("-- signing")
print("cmac WRITE_311", h(CMAC.new(SIGN_KEY, zero_sig(WRITE_311), ciphermod=AES).digest()))
for name, msg, word in (("WRITE_311", WRITE_311, 0), ("RESP_311", RESP_311, 1),
                        ("CANCEL", CANCEL, 2)):
    mid = msg[24:32]
    g = AES.new(SIGN_KEY, AES.MODE_GCM, nonce=mid + struct.pack("<I", word), mac_len=16)
    g.update(zero_sig(msg))
    print("gmac", name, h(g.digest()))

print("-- encryption, AES-256, fixed nonce fields")
nf = unhexlify("0102030405060708090A0B0C00000000")
print("aes256gcm", h(transform(True, enc256, 0x100000000025, nf, WRITE_311)))
nf_ccm = unhexlify("0102030405060708090A0B0000000000")
print("aes256ccm", h(transform(False, enc256, 0x100000000025, nf_ccm, WRITE_311)))

print("-- preauth")
print("sha512(0^64 || 'abc')", h(hashlib.sha512(b"\0" * 64 + b"abc").digest()))
