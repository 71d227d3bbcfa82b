"""A Forward-protocol receiver in Python asyncio with msgpack's streaming
Unpacker, writing JSON lines: what a developer writes when they need a local
Fluentd stand-in and reach for Python (Message, Forward and PackedForward
modes; no acks, no gzip).

usage: asyncio_forward_receiver.py PORT OUT_FILE
"""
import asyncio
import json
import sys

import msgpack


def ext_hook(code, data):
    if code == 0:
        return int.from_bytes(data[:4], "big") + int.from_bytes(data[4:], "big") / 1e9
    return msgpack.ExtType(code, data)


async def handle(reader, writer):
    unpacker = msgpack.Unpacker(raw=False, ext_hook=ext_hook, strict_map_key=False)
    while True:
        data = await reader.read(65536)
        if not data:
            break
        unpacker.feed(data)
        lines = []
        for request in unpacker:
            if request is None:
                continue
            tag, second = request[0], request[1]
            if isinstance(second, (bytes, str)):
                raw = second if isinstance(second, bytes) else second.encode("utf-8", "surrogateescape")
                entries = msgpack.Unpacker(raw=False, ext_hook=ext_hook, strict_map_key=False)
                entries.feed(raw)
            elif isinstance(second, list):
                entries = second
            else:
                entries = [(second, request[2])]
            for time, record in entries:
                lines.append(json.dumps({"tag": tag, "time": time, "record": record}))
        if lines:
            OUT.write("\n".join(lines) + "\n")
            OUT.flush()
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port, path = int(sys.argv[1]), sys.argv[2]
    OUT = open(path, "a", encoding="utf-8")
    asyncio.run(main(port))
