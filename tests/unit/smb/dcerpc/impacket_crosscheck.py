#!/usr/bin/python3
"""Development-time cross-check of smb/dcerpc against impacket, an
independent DCE/RPC + NDR implementation (Debian package python3-impacket).
The unit tests never run this; they replay what it produced
(impacket_fixtures.h).

  1. ./impacket_crosscheck.py requests > impacket_requests.txt
     Client PDUs encoded by impacket (BIND, srvsvc requests).
  2. Paste them into impacket_fixtures.h (kImpacketRequests), build, run
       CONCORDFS_DCERPC_DUMP=/tmp/dcerpc_dump.txt smb_dcerpc_test \
         --gtest_filter='Impacket*'
     which writes the server's answers to the dump file.
  3. ./impacket_crosscheck.py check /tmp/dcerpc_dump.txt
     Decodes every answer with impacket's structures and checks the values;
     on success prints the C++ golden table for impacket_fixtures.h.

The shares the test serves must match SHARES below.
"""
import binascii
import sys

from impacket.dcerpc.v5 import rpcrt, srvs
from impacket.dcerpc.v5.ndr import NULL
from impacket.uuid import uuidtup_to_bin

NDR = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')

SHARES = [
    ('IPC$', 0x80000003, 'IPC Service (concordfs)', ''),
    ('data', 0, 'Team data', 'C:\\srv\\data'),
    ('Ünïcode', 0, 'Grüße ✓', 'C:\\srv\\u'),
]
MANY = [('share_%d' % i, 0, 'comment number %d' % i) for i in range(60)]


def bind_pdu(max_rfrag):
    bind = rpcrt.MSRPCBind()
    bind['max_tfrag'] = 4280
    bind['max_rfrag'] = max_rfrag
    item = rpcrt.CtxItem()
    item['AbstractSyntax'] = srvs.MSRPC_UUID_SRVS
    item['TransferSyntax'] = uuidtup_to_bin(NDR)
    item['ContextID'] = 0
    item['TransItems'] = 1
    bind.addCtxItem(item)
    pkt = rpcrt.MSRPCHeader()
    pkt['type'] = rpcrt.MSRPC_BIND
    pkt['pduData'] = bind.getData()
    pkt['call_id'] = 1
    return pkt.get_packet()


def request_pdu(call, call_id=2, opnum=None):
    pkt = rpcrt.MSRPCRequestHeader()
    pkt['type'] = rpcrt.MSRPC_REQUEST
    pkt['call_id'] = call_id
    pkt['ctx_id'] = 0
    pkt['op_num'] = call.opnum if opnum is None else opnum
    pkt['pduData'] = call.getData()
    pkt['alloc_hint'] = len(pkt['pduData'])
    return pkt.get_packet()


def share_enum(level):
    req = srvs.NetrShareEnum()
    req['ServerName'] = '\\\\127.0.0.1\x00'
    req['PreferedMaximumLength'] = 0xffffffff
    req['ResumeHandle'] = 0
    req['InfoStruct']['Level'] = level
    req['InfoStruct']['ShareInfo']['tag'] = level
    req['InfoStruct']['ShareInfo']['Level%d' % level]['Buffer'] = NULL
    return req


def share_get_info(name, level):
    req = srvs.NetrShareGetInfo()
    req['ServerName'] = NULL
    req['NetName'] = name + '\x00'
    req['Level'] = level
    return req


def server_get_info(level):
    req = srvs.NetrServerGetInfo()
    req['ServerName'] = '\\\\CONCORDFS\x00'
    req['Level'] = level
    return req


# name -> (max_rfrag of the bind, request PDU)
def exchanges():
    return [
        ('enum0', 4280, request_pdu(share_enum(0))),
        ('enum1', 4280, request_pdu(share_enum(1))),
        ('enum2', 4280, request_pdu(share_enum(2))),
        ('enum501', 4280, request_pdu(share_enum(501))),
        ('enum502', 4280, request_pdu(share_enum(502))),
        ('enum1_many', 1024, request_pdu(share_enum(1))),
        ('get2_data', 4280, request_pdu(share_get_info('DATA', 2))),
        ('get501_unicode', 4280, request_pdu(share_get_info('ünïcode', 501))),
        ('get1005_ipc', 4280, request_pdu(share_get_info('IPC$', 1005))),
        ('get1_missing', 4280, request_pdu(share_get_info('nosuch', 1))),
        ('server100', 4280, request_pdu(server_get_info(100))),
        ('server101', 4280, request_pdu(server_get_info(101))),
        ('opnum99', 4280, request_pdu(server_get_info(101), opnum=99)),
    ]


def hexs(b):
    return binascii.hexlify(b).decode()


def cmd_requests():
    print('bind4280', hexs(bind_pdu(4280)))
    print('bind1024', hexs(bind_pdu(1024)))
    for name, frag, pdu in exchanges():
        print(name, frag, hexs(pdu))


def split_pdus(data):
    pdus = []
    while data:
        n = rpcrt.MSRPCHeader(data)['frag_len']
        pdus.append(data[:n])
        data = data[n:]
    return pdus


def check_bind_ack(data, frag):
    ack = rpcrt.MSRPCBindAck(data)
    assert ack['type'] == rpcrt.MSRPC_BINDACK, ack['type']
    assert ack['max_tfrag'] == frag, ack['max_tfrag']
    assert ack['SecondaryAddrLen'] == 13, ack['SecondaryAddrLen']
    assert ack['SecondaryAddr'] == '\\PIPE\\srvsvc', ack['SecondaryAddr']
    item = ack.getCtxItems()[0]
    assert item['Result'] == 0, item['Result']
    assert item['TransferSyntax'] == uuidtup_to_bin(NDR)


def reassemble(pdus, max_frag):
    stub = b''
    for i, p in enumerate(pdus):
        resp = rpcrt.MSRPCRespHeader(p)
        assert resp['type'] == rpcrt.MSRPC_RESPONSE, resp['type']
        assert len(p) <= max_frag
        assert bool(resp['flags'] & rpcrt.PFC_FIRST_FRAG) == (i == 0)
        assert bool(resp['flags'] & rpcrt.PFC_LAST_FRAG) == (i == len(pdus) - 1)
        stub += resp['pduData']
    return stub


def check_enum(stub, level, shares):
    r = srvs.NetrShareEnumResponse(stub)
    assert r['ErrorCode'] == 0
    assert r['TotalEntries'] == len(shares)
    info = r['InfoStruct']['ShareInfo']['Level%d' % level]
    assert info['EntriesRead'] == len(shares)
    assert len(info['Buffer']) == len(shares)
    for got, want in zip(info['Buffer'], shares):
        p = 'shi%d_' % level
        assert got[p + 'netname'] == want[0] + '\x00', got[p + 'netname']
        if level == 0:
            continue
        assert got[p + 'type'] == want[1]
        assert got[p + 'remark'] == want[2] + '\x00'
        if level in (2, 502):
            assert got[p + 'path'] == want[3] + '\x00', got[p + 'path']
            assert got[p + 'max_uses'] == 0xffffffff


def check(name, frag, pdus):
    stub = None
    if name != 'opnum99':
        stub = reassemble(pdus, frag)
    if name.startswith('enum'):
        level = int(name[4:].split('_')[0])
        check_enum(stub, level, MANY if name.endswith('many') else SHARES)
        assert len(pdus) > 1 or not name.endswith('many')
    elif name == 'get2_data':
        r = srvs.NetrShareGetInfoResponse(stub)
        i = r['InfoStruct']['ShareInfo2']
        assert r['ErrorCode'] == 0
        assert i['shi2_netname'] == 'data\x00'
        assert i['shi2_path'] == 'C:\\srv\\data\x00'
    elif name == 'get501_unicode':
        r = srvs.NetrShareGetInfoResponse(stub)
        i = r['InfoStruct']['ShareInfo501']
        assert i['shi501_netname'] == 'Ünïcode\x00'
        assert i['shi501_remark'] == 'Grüße ✓\x00'
    elif name == 'get1005_ipc':
        r = srvs.NetrShareGetInfoResponse(stub)
        assert r['InfoStruct']['ShareInfo1005']['shi1005_flags'] == 0
        assert r['ErrorCode'] == 0
    elif name == 'get1_missing':
        r = srvs.NetrShareGetInfoResponse(stub)
        assert r['ErrorCode'] == 0x906, r['ErrorCode']
        assert r['InfoStruct']['tag'] == 1
    elif name.startswith('server'):
        r = srvs.NetrServerGetInfoResponse(stub)
        level = int(name[6:])
        i = r['InfoStruct']['ServerInfo%d' % level]
        p = 'sv%d_' % level
        assert r['ErrorCode'] == 0
        assert i[p + 'platform_id'] == 500
        assert i[p + 'name'] == 'CONCORDFS\x00'
        if level == 101:
            assert i['sv101_comment'] == 'concordfs\x00'
            assert i['sv101_version_major'] == 6
            assert i['sv101_type'] & 0x1003 == 0x1003
    elif name == 'opnum99':
        assert len(pdus) == 1
        hdr = rpcrt.MSRPCHeader(pdus[0])
        assert hdr['type'] == rpcrt.MSRPC_FAULT
        status = int.from_bytes(pdus[0][24:28], 'little')
        assert rpcrt.rpc_status_codes[status] == 'nca_s_op_rng_error', status
    else:
        raise AssertionError('unknown exchange ' + name)


def cmd_check(path):
    lines = [l.split() for l in open(path) if l.strip()]
    golden = []
    for name, frag, bind_ack, responses in lines:
        frag = int(frag)
        check_bind_ack(binascii.unhexlify(bind_ack), frag)
        check(name, frag, split_pdus(binascii.unhexlify(responses)))
        golden.append((name, responses))
        print('ok', name, file=sys.stderr)
    print('// Server answers decoded and checked by impacket_crosscheck.py.')
    for name, responses in golden:
        print('    {"%s",' % name)
        for i in range(0, len(responses), 64):
            print('     "%s"' % responses[i:i + 64])
        print('    },')


if __name__ == '__main__':
    if sys.argv[1:2] == ['requests']:
        cmd_requests()
    elif sys.argv[1:2] == ['check'] and len(sys.argv) == 3:
        cmd_check(sys.argv[2])
    else:
        sys.exit(__doc__)
