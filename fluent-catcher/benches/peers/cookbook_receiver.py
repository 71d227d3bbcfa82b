"""The Python logging cookbook's LogRecordSocketReceiver ("Sending and
receiving logging events across a network"), writing each record as a JSON
line instead of re-logging it: what a Python user runs today to collect
SocketHandler output. Note it calls pickle.loads on network input, which runs
arbitrary code; fluent-catcher does not.

usage: cookbook_receiver.py PORT OUT_FILE
"""
import json
import pickle
import socketserver
import struct
import sys
import threading

lock = threading.Lock()


class LogRecordStreamHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            chunk = self.connection.recv(4)
            if len(chunk) < 4:
                break
            slen = struct.unpack(">L", chunk)[0]
            chunk = self.connection.recv(slen)
            while len(chunk) < slen:
                chunk = chunk + self.connection.recv(slen - len(chunk))
            obj = pickle.loads(chunk)
            line = json.dumps({"tag": obj["name"], "time": obj["created"], "record": obj}, default=str)
            with lock:
                OUT.write(line + "\n")
                OUT.flush()


class LogRecordSocketReceiver(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    port, path = int(sys.argv[1]), sys.argv[2]
    OUT = open(path, "a", encoding="utf-8")
    server = LogRecordSocketReceiver(("127.0.0.1", port), LogRecordStreamHandler)
    print("ready", flush=True)
    server.serve_forever()
