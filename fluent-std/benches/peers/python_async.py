"""fluent-logger-python's asyncsender: N events of a 5-field record to PORT.
Prints the emit loop's seconds (the caller's cost) on stdout."""
import sys
import time

from fluent import asyncsender

port, n = int(sys.argv[1]), int(sys.argv[2])
sender = asyncsender.FluentSender("bench", host="127.0.0.1", port=port, queue_maxsize=100_000)
record = {"host": "web-7.example.internal", "status": 200, "latency": 0.01731, "cached": True, "path": "/api/v1/orders/42"}
start = time.perf_counter()
for _ in range(n):
    sender.emit("access", record)
emit_seconds = time.perf_counter() - start
sender.close()
print(emit_seconds)
