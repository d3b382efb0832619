#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into fuzz/corpus/TARGET/ (committed; rerun after a
format changes). Each seed starts with the configuration bytes its target reads first (see
fuzz/targets/*.cpp). The model-file seeds need the gru4rec program:

  fuzz/make_seeds.py build/cli/gru4rec
"""
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, seeds):
    folder = os.path.join(ROOT, target)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for seed in seeds:
        data = seed if isinstance(seed, bytes) else seed.encode()
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data)


def http_request_seeds():
    body = b'{"item":"100001","k":5}'
    plain = [
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",
        b"POST /v1/sessions/a/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
        b"POST /v1/sessions/a/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\n{\"ite\r\n12\r\nm\":\"100001\",\"k\":5}\r\n0\r\n\r\n",
        b"POST /v1/sessions/a/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\nX-Trailer: 1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /ready HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"
        b"DELETE /v1/sessions/victim HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        b"POST /v1/recommend HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /v1/recommend HTTP/1.1\r\nHost: localhost:8080\r\nOrigin: http://localhost:8080\r\n"
        b"Sec-Fetch-Site: same-origin\r\nContent-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /admin/reload HTTP/1.1\r\nHost: [::1]:9090\r\nAuthorization: Bearer token\r\n"
        b"Content-Length: 0\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n",
        b"POST /v1/recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    ]
    seeds = []
    for i, request in enumerate(plain):
        seeds.append(bytes([i % 16, (i * 37) % 256]) + request)
    return seeds


def api_request_seeds():
    # Method byte: 0 GET, 1 POST, 2 DELETE, 3 PUT; +4: the admin listener.
    rows = [
        (1, "visitor/events", '{"item":"100001","k":5}'),
        (1, "visitor/events", '{"items":["100001","100002",100003,"unknown"],"k":3,"exclude_seen":true}'),
        (1, "visitor/events", '{"item":"100004","exclude":["100001"],"include":["100005","100006"]}'),
        (0, "visitor/recommendations?k=5&exclude_seen=true", ""),
        (2, "visitor", ""),
        (1, "caf%C3%A9%20au%20lait/events", '{"item":"100007"}'),
        (1, "/v1/recommend", '{"items":["100001","100009"],"k":10,"variant":"default"}'),
        (0, "/v1/model", ""),
        (0, "/v1/experiments", ""),
        (0, "/metrics", ""),
        (0, "/health", ""),
        (4, "/ready", ""),
        (1, "a/events", '{"item":"100001","k":18446744073709551615}'),
        (1, "a/events", '{"item":"100001","x":{"a":1,"a":2}}'),
        (0, "a/recommendations?k=5&k=6", ""),
    ]
    return [bytes([m]) + (target + "\n" + body).encode() for m, target, body in rows]


def seal(magic, body):
    framed = magic + struct.pack("<I", 2) + body
    return framed + struct.pack("<I", zlib.crc32(framed) & 0xFFFFFFFF)


def record_body(model_id, events, state, items):
    out = struct.pack("<QQI", model_id, events, len(state))
    out += b"".join(struct.pack("<f", v) for v in state)
    out += struct.pack("<I", len(items))
    for item in items:
        out += struct.pack("<H", len(item)) + item
    return out


def answer_body(events, items):
    out = struct.pack("<QI", events, len(items))
    for item in items:
        out += struct.pack("<H", len(item)) + item
    return out


def session_record_seeds():
    records = [
        record_body(0x0123456789ABCDEF, 3, [0.1, -0.5, 0.9], [b"100001", b"100002", "ütf8".encode()]),
        record_body(0, 0, [], []),
        record_body(7, 1, [0.0] * 16, [b"x" * 1024]),
    ]
    answers = [answer_body(3, [b"100003", b"100004"]), answer_body(0, [])]
    seeds = []
    for body in records:
        seeds.append(b"\x00" + seal(b"G4RS", body))  # a whole record
        seeds.append(b"\x02" + body)  # resealed by the target
    for body in answers:
        seeds.append(b"\x01" + seal(b"G4RA", body))
        seeds.append(b"\x03" + body)
    return seeds


def bulk(data):
    return b"$%d\r\n%s\r\n" % (len(data), data)


def redis_reply_seeds():
    record = seal(b"G4RS", record_body(42, 1, [0.25, -0.25], [b"100001"]))
    answer = seal(b"G4RA", answer_body(1, [b"100002"]))
    counts = [b"events", b"10", b"measured", b"4", b"hit_1", b"2", b"latency_bucket_0", b"5",
              b"sessions", b"3", b"latency_us", b"1200"]
    hostile = [b"events", b"-5", b"hit_1", b"99999999999999999999"]
    return [
        b"+OK\r\n:5\r\n$-1\r\n-ERR wrong type\r\n",
        b"*%d\r\n" % len(counts) + b"".join(bulk(c) for c in counts),
        b"*%d\r\n" % len(hostile) + b"".join(bulk(c) for c in hostile),
        b"*2\r\n" + bulk(record) + bulk(answer),
        bulk(record),
        b"*2\r\n*1\r\n:1\r\n*-1\r\n",
        b"%2\r\n+events\r\n:3\r\n+measured\r\n,1.5\r\n",  # RESP3 map and double
        b"*3\r\n$4\r\nQUEU\r\n$-1\r\n_\r\n",
    ]


def model_file_seeds(gru4rec):
    if not gru4rec:
        return None
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([gru4rec, "synth", os.path.join(work, "d"), "--items", "12", "--sessions",
                        "40", "--topics", "2"], check=True, capture_output=True)
        seeds = []
        for i, (ps, extra) in enumerate([
                ("n_epochs=1,layers=4,n_sample=4,batch_size=4,loss=cross-entropy", []),
                ("n_epochs=1,layers=3/2,n_sample=4,batch_size=4,loss=bpr-max,momentum=0.1,"
                 "constrained_embedding=False,embedding=2", ["--save-optimizer-state"]),
                ("n_epochs=1,layers=3,n_sample=0,batch_size=4,loss=cross-entropy,"
                 "constrained_embedding=False,embedding=0", [])]):
            path = os.path.join(work, "m%d.g4r" % i)
            subprocess.run([gru4rec, "train", os.path.join(work, "d", "train.tsv"), "-ps", ps,
                            "-s", path, "-q", "--progress", "none"] + extra, check=True,
                           capture_output=True)
            data = open(path, "rb").read()
            seeds.append(b"\x00" + data)
            seeds.append(b"\x01" + data[:-16])  # resealed by the target
        return seeds


def session_log_seeds():
    tsv = "SessionId\tItemId\tTime\n1\t1\t10\n1\t2\t11\n2\t2\t5\n2\t3\t6.5\n3\ta\t1\n3\tb\t2\n"
    csv = ('\ufeffSessionId,ItemId,Time\n"1","1",10\n"1","a,b",11\n2,2,5\n\n2,3,4\n')
    return [
        b"\x00" + tsv.encode(),
        b"\x01" + tsv.encode(),
        b"\x02" + csv.encode(),
        b"\x00" + b"UserId\tSessionId\tItemId\tTime\tExtra\n9\t1\t1\t1\tx\n9\t1\t2\t2\ty\n",
        b"\x03" + b"SessionId;ItemId;Time\n1;1;1\n1;2;2\n",
        b"\x00" + b"SessionId\tItemId\tTime\n1\t214829\t1e9\n1\t214829\t-1e9\n",
    ]


def raw_events_seeds():
    # a: bit 0 JSON lines, bit 1 header, bits 2-3 separator, bits 4-5 time format (seconds,
    # ms, ISO 8601), bit 6 event types, bit 7 nested events; b: bit 0 time offset, bit 1 skip.
    csv = b"session,item,time,type,offset\n1,a,100,view,5\n1,b,101,buy,7\n2,a,99,view,0\n"
    headerless = b"1\ta\t100\n1\tb\t101\n2\ta\t102\n"
    iso = b"session,item,time\n1,a,2014-04-07T10:51:09.277Z\n1,b,2019-10-01 00:00:00 UTC\n" \
          b"2,c,2016-05-09\n2,d,2016-05-09T01:00:00+02:00\n"
    jsonl = b'{"session":1,"item":"a","time":1000,"type":"view"}\n' \
            b'{"user":2,"item":7,"time":1001,"type":"buy"}\n'
    nested = b'{"session":1,"events":[{"item":1,"time":1000,"type":"view"},' \
             b'{"item":2,"time":2000,"type":"buy"}]}\n'
    return [
        bytes([0b01001010, 0b01]) + csv,
        bytes([0b00000000, 0b00]) + headerless,
        bytes([0b00101010, 0b00]) + iso,
        bytes([0b01000001, 0b10]) + jsonl,
        bytes([0b11010001, 0b00]) + nested,
        bytes([0b00000010, 0b00]) + gzip.compress(csv),
        bytes([0b00011010, 0b10]) + b"session,item,time\n1,a,100000\n1,b,bad\n2,a,100001\n",
    ]


def params_seeds():
    python = ("from collections import OrderedDict\ngru4rec_params = OrderedDict([\n"
              "('loss', 'bpr-max'),\n('constrained_embedding', True),\n('embedding', 0),\n"
              "('elu_param', 0.5),\n('layers', [224]),\n('n_epochs', 10),\n('batch_size', 80),\n"
              "('dropout_p_embed', 0.5),\n('dropout_p_hidden', 0.05),\n('learning_rate', 0.05),\n"
              "('momentum', 0.4),\n('n_sample', 2048),\n('sample_alpha', 0.4),\n('bpreg', 1.95),\n"
              "('logq', 0.0)\n])\n")
    return [
        b"\x00loss=bpr-max,layers=100/100,n_epochs=2,momentum=0.3,final_act=elu-0.5",
        b"\x00loss=cross-entropy,logq=1,constrained_embedding=False,embedding=0,threads=2",
        b'\x01loss = "bpr-max"\nlayers = [200, 200]\nconstrained_embedding = false\n'
        b"learning_rate = 0.07\nn_sample = 0\n",
        b"\x02" + python.encode(),
    ]


def main():
    gru4rec = sys.argv[1] if len(sys.argv) > 1 else None
    write("http_request", http_request_seeds())
    write("api_request", api_request_seeds())
    write("session_record", session_record_seeds())
    write("redis_reply", redis_reply_seeds())
    models = model_file_seeds(gru4rec)
    if models is not None:
        write("model_file", models)
    else:
        print("model_file: give the gru4rec program to write its seeds", file=sys.stderr)
    write("session_log", session_log_seeds())
    write("raw_events", raw_events_seeds())
    write("params", params_seeds())


if __name__ == "__main__":
    main()
