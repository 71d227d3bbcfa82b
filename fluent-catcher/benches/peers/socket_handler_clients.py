"""Many Python processes logging through the stdlib SocketHandler at once.
Each builds its records with the real SocketHandler.makePickle first; once
all are built the script prints "ready" and waits for a line on stdin, then
every client sends at once, as fast as the receiver reads, so the receiver
is what is timed.

usage: socket_handler_clients.py PORT CLIENTS RECORDS_PER_CLIENT
"""
import logging
import logging.handlers
import multiprocessing
import sys


def client(port, n, ident, built, go):
    handler = logging.handlers.SocketHandler("127.0.0.1", port)
    payload = bytearray()
    for i in range(n):
        record = logging.LogRecord(
            "bench.client%d" % ident, logging.INFO, "/app/worker.py", 42, "request %d served in %s ms", (i, 12.5), None
        )
        record.user = "ada"
        payload += handler.makePickle(record)
    built.wait()
    go.wait()
    handler.createSocket()
    handler.sock.settimeout(None)  # a slow receiver must not make the client give up
    handler.sock.sendall(bytes(payload))
    handler.close()


if __name__ == "__main__":
    port, clients, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    built, go = multiprocessing.Barrier(clients + 1), multiprocessing.Event()
    procs = [multiprocessing.Process(target=client, args=(port, n, i, built, go)) for i in range(clients)]
    for p in procs:
        p.start()
    built.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for p in procs:
        p.join()
        assert p.exitcode == 0
