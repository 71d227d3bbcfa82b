"""Sends events with PyPI fluent-logger's FluentSender (the real client).

usage: send_with_fluent_logger.py EVENTS_FILE PORT int|nano
EVENTS_FILE is Python source defining EVENTS = [(label, time, record), ...];
`ExtType` is in scope for EventTime values inside records.
"""
import sys

from fluent import sender
from msgpack import ExtType


def main():
    events_file, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    scope = {"ExtType": ExtType}
    with open(events_file, encoding="utf-8") as f:
        exec(f.read(), scope)
    logger = sender.FluentSender(
        "golden", host="127.0.0.1", port=port, nanosecond_precision=(mode == "nano")
    )
    for label, time, record in scope["EVENTS"]:
        if not logger.emit_with_time(label, time, record):
            raise SystemExit(f"emit failed: {logger.last_error!r}")
    logger.close()


main()
