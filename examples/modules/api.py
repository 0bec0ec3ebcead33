"""The HTTP API over the database: GET /health, PUT and GET /items/KEY."""
import argparse
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = argparse.ArgumentParser()
args.add_argument("--port", type=int, required=True)
args.add_argument("--db", type=int, required=True)
opts = args.parse_args()


def db(command):
    with socket.create_connection(("127.0.0.1", opts.db), timeout=5) as s:
        s.sendall(command.encode() + b"\n")
        return s.makefile().readline().rstrip("\n")


class Api(BaseHTTPRequestHandler):
    def reply(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, f"ok, {db('COUNT')} keys")
        if self.path.startswith("/items/"):
            answer = db("GET " + self.path[len("/items/"):])
            if answer.startswith("VALUE "):
                return self.reply(200, answer[len("VALUE "):])
            return self.reply(404, "no such item")
        self.reply(404, "not found")

    def do_PUT(self):
        if not self.path.startswith("/items/"):
            return self.reply(404, "not found")
        value = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.reply(200, db(f"SET {self.path[len('/items/'):]} {value}"))

    def log_message(self, fmt, *a):
        print("api:", fmt % a)


print(f"api: listening on {opts.port}, database on {opts.db}")
ThreadingHTTPServer(("127.0.0.1", opts.port), Api).serve_forever()
