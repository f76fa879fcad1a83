#!/usr/bin/env python3
"""Records the protobuf request bodies that kubectl sends, for the decoder's tests.

A reverse proxy in front of an API server (kubesim): every request is
forwarded unchanged, and each body sent as application/vnd.kubernetes.protobuf
is also written to OUT_DIR as NNN-METHOD-<path>.pb.

  capture.py --upstream=http://127.0.0.1:PORT --out=DIR --port-file=FILE
  # point kubectl at http://127.0.0.1:$(cat FILE) and run the commands

capture.sh drives it end to end.
"""
import argparse
import http.client
import http.server
import itertools
import os
import re
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    counter = itertools.count(1)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *unused):
            pass

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "application/vnd.kubernetes.protobuf" in (self.headers.get("Content-Type") or ""):
                with lock:
                    n = next(counter)
                path = re.sub(r"[^A-Za-z0-9]+", "_", urllib.parse.urlsplit(self.path).path).strip("_")
                with open(os.path.join(args.out, "%03d-%s-%s.pb" % (n, self.command, path)), "wb") as f:
                    f.write(body)
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
