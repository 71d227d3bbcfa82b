"""Decodes a stream of Forward-protocol frames with msgpack-python (and
Python's gzip module) and prints one canonical JSON line per frame.

usage: decode_ours.py < frames.bin
"""
import gzip
import json
import sys

import msgpack

from canonical import canonical, canonical_time


def entries(blob):
    out = []
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(blob)
    for entry in unpacker:
        time, record = entry
        out.append([canonical_time(time), canonical(record)])
    return out


def main():
    data = sys.stdin.buffer.read()
    # surrogateescape: str-wrapped PackedForward entries are binary, not text.
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    unpacker.feed(data)
    for frame in unpacker:
        if frame is None:
            print(json.dumps({"heartbeat": True}))
            continue
        tag, second = frame[0], frame[1]
        if isinstance(second, list):
            mode, rest = "forward", frame[2:]
            events = [[canonical_time(t), canonical(r)] for t, r in second]
        elif isinstance(second, (bytes, str)):
            blob = second.encode("utf-8", "surrogateescape") if isinstance(second, str) else second
            rest = frame[2:]
            options = rest[0] if rest else {}
            if options.get("compressed") == "gzip":
                mode, blob = "compressed", gzip.decompress(blob)
            else:
                mode = "packed_str" if isinstance(second, str) else "packed"
            events = entries(blob)
        else:
            mode, rest = "message", frame[3:]
            events = [[canonical_time(second), canonical(frame[2])]]
        options = rest[0] if rest else None
        print(json.dumps({"tag": tag, "mode": mode, "options": canonical(options), "events": events}))


main()
