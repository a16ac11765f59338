#!/usr/bin/env python3
"""A loopback incoming-webhook receiver for the drift tests.

usage: webhook.py PREFIX STATUS
Listens on 127.0.0.1 (free port, written to PREFIX.port), appends every POST body as one
line to PREFIX.bodies and answers STATUS. Stops by itself after 120 s.
"""
import http.server
import sys
import threading

prefix, status = sys.argv[1], int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace").replace("\n", " ")
        with open(prefix + ".bodies", "a") as f:
            f.write(body + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(prefix + ".port.tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os

os.rename(prefix + ".port.tmp", prefix + ".port")
threading.Timer(120, srv.shutdown).start()
srv.serve_forever()
