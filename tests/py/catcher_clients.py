"""Sends events to the catcher with real Python clients and prints, one JSON
line each, what it sent, for the Rust test to compare with what arrived.

usage: catcher_clients.py FORWARD_PORT SOCKETHANDLER_PORT

Clients: fluent-logger's sync FluentSender (integer time, and nanosecond
EventTime with explicit float times), its asyncsender.FluentSender, and the
stdlib logging.handlers.SocketHandler.
"""
import json
import logging
import logging.handlers
import sys

from fluent import asyncsender, sender

RECORD = {
    "s": "text \u00fc \u2211",
    "i": -5,
    "big": 2**63 - 1,
    "f": 1.5,
    "t": True,
    "n": None,
    "l": [1, "a", [2]],
    "d": {"x": {"y": 1}},
    "raw": b"bytes",
}


def as_json(record):
    """The record as the catcher writes it (bin as text)."""
    return json.loads(json.dumps(record, default=lambda b: b.decode()))


def out(**line):
    print(json.dumps(line), flush=True)


def main():
    port, pickle_port = int(sys.argv[1]), int(sys.argv[2])

    s = sender.FluentSender("py.sync", host="127.0.0.1", port=port)
    for i in range(20):
        record = dict(RECORD, seq=i)
        assert s.emit_with_time("int", 1490061367 + i, record), s.last_error
        out(client="sync", tag="py.sync.int", time=1490061367 + i, record=as_json(record))
    s.close()

    s = sender.FluentSender("py.nano", host="127.0.0.1", port=port, nanosecond_precision=True)
    for i in range(20):
        t = 1490061367.8616468906402588 + i
        record = dict(RECORD, seq=i)
        assert s.emit_with_time("evt", t, record), s.last_error
        out(client="nano", tag="py.nano.evt", time=[int(t), int(t % 1 * 10**9)], record=as_json(record))
    s.close()

    a = asyncsender.FluentSender("py.async", host="127.0.0.1", port=port, queue_maxsize=10000)
    for i in range(500):
        record = {"seq": i, "msg": "async %d" % i}
        a.emit_with_time("bulk", 1490061367, record)
        out(client="async", tag="py.async.bulk", time=1490061367, record=record)
    a.close()

    handler = logging.handlers.SocketHandler("127.0.0.1", pickle_port)
    log = logging.getLogger("py.logging")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    for i in range(50):
        log.warning("record %d of %s", i, "fifty", extra={"seq": i, "user": "ada", "tags": ["a", "b"]})
    handler.close()
    out(client="sockethandler", count=50)


main()
