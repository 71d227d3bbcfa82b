"""fluent-logger-python's asyncsender, default configuration, against PORT
(a server that refuses, never answers SYNs, or never reads): N emits of a
5-field record, stopped after BUDGET seconds. Prints one JSON object: the
emits done, their total seconds, p50 / p99.99 / max of one emit in
nanoseconds, and the first emit's nanoseconds."""
import json
import sys
import time

from fluent import asyncsender

port, n, budget = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
record = {"host": "web-7.example.internal", "status": 200, "latency": 0.01731, "cached": True, "path": "/api/v1/orders/42"}
sender = asyncsender.FluentSender("bench", host="127.0.0.1", port=port)
lat = []
start = time.perf_counter()
for _ in range(n):
    t = time.perf_counter_ns()
    sender.emit("access", record)
    lat.append(time.perf_counter_ns() - t)
    if time.perf_counter() - start > budget:
        break
total = time.perf_counter() - start
first = lat[0]
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(json.dumps({"done": len(lat), "seconds": total, "p50": pick(0.5), "p9999": pick(0.9999), "max": lat[-1], "first": first}))
sys.stdout.flush()
# close() would flush for as long as the server misbehaves; the numbers are out.
import os
os._exit(0)
