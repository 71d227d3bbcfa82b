"""Packs Forward-protocol frames of every mode with msgpack-python, the way
Python peers (fluent-logger, Fluentd-compatible tools) build them.

usage: pack_frames.py FRAMES_OUT EXPECTED_OUT
Writes the frames back to back to FRAMES_OUT, and one canonical JSON line
per request (see canonical.py) to EXPECTED_OUT.
"""
import gzip
import json
import struct
import sys

import msgpack

from canonical import canonical, canonical_time


def event_time(sec, nsec):
    return msgpack.ExtType(0, struct.pack(">II", sec, nsec))


RECORDS = [
    {"bar": "baz"},
    {"n": None, "t": True, "i": -129, "u": 2**64 - 1, "f": 0.1, "s": "é" * 40, "b": b"\x00\xff" * 200},
    {"nested": {"list": [1, [2, [3]], {"k": "v"}], "empty": {}}},
    {},
]


def entries_blob(events, bin_type=True):
    return b"".join(msgpack.packb([t, r], use_bin_type=bin_type) for t, r in events)


def main():
    frames_out, expected_out = sys.argv[1], sys.argv[2]
    frames, expected = [], []

    def add(frame_bytes, tag, mode, events, options=None):
        frames.append(frame_bytes)
        expected.append({
            "tag": tag, "mode": mode,
            "chunk": (options or {}).get("chunk"),
            "size": (options or {}).get("size"),
            "events": [[canonical_time(t), canonical(r)] + ([canonical(m)] if m is not None else [])
                       for t, r, m in events],
        })

    t_int = 1490061367
    t_ext = event_time(1490061367, 861646890)
    # heartbeat
    frames.append(msgpack.packb(None))
    # Message, integer time and EventTime, with and without options
    for i, rec in enumerate(RECORDS):
        add(msgpack.packb(["py.message", t_int + i, rec]), "py.message", "message", [(t_int + i, rec, None)])
    add(msgpack.packb(["py.message", t_ext, RECORDS[0], {"chunk": "Y2h1bmsK\n", "unknown": [1, 2]}]),
        "py.message", "message", [(t_ext, RECORDS[0], None)], {"chunk": "Y2h1bmsK\n"})
    # EventTime as ext 8 (not fixext 8), which readers must accept: built by hand
    ext8 = b"\x93" + msgpack.packb("py.ext8") + b"\xc7\x08\x00" + struct.pack(">II", 5, 6) + msgpack.packb({"a": 1})
    add(ext8, "py.ext8", "message", [(event_time(5, 6), {"a": 1}, None)])
    # Forward
    evs = [(t_int, r, None) for r in RECORDS]
    add(msgpack.packb(["py.forward", [[t, r] for t, r, _ in evs], {"size": len(evs)}]),
        "py.forward", "forward", evs, {"size": len(evs)})
    # Fluent Bit v2 style [[time, metadata], record]
    meta = {"otel": {"trace_id": "abc"}}
    add(msgpack.packb(["py.v2", [[[t_ext, meta], RECORDS[0]]]]), "py.v2", "forward", [(t_ext, RECORDS[0], meta)])
    # PackedForward, bin and (Fluentd out_forward style) str
    evs = [(t_ext, r, None) for r in RECORDS]
    blob = entries_blob([(t, r) for t, r, _ in evs])
    add(msgpack.packb(["py.packed", blob, {"size": len(evs)}], use_bin_type=True),
        "py.packed", "packed", evs, {"size": len(evs)})
    add(msgpack.packb(["py.packed_str", blob, {"size": len(evs), "chunk": "abc=="}], use_bin_type=False),
        "py.packed_str", "packed", evs, {"size": len(evs), "chunk": "abc=="})
    # CompressedPackedForward: two gzip members back to back
    half = len(evs) // 2
    gz = gzip.compress(entries_blob([(t, r) for t, r, _ in evs[:half]])) + \
        gzip.compress(entries_blob([(t, r) for t, r, _ in evs[half:]]))
    add(msgpack.packb(["py.gzip", gz, {"compressed": "gzip", "size": len(evs)}]),
        "py.gzip", "compressed", evs, {"size": len(evs)})

    with open(frames_out, "wb") as f:
        f.write(b"".join(frames))
    with open(expected_out, "w", encoding="utf-8") as f:
        for line in expected:
            f.write(json.dumps(line) + "\n")


main()
