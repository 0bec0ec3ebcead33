"""End-to-end checks against the running API; then asks the database (through
jx PubSub) to compact its log."""
import json
import os
import socket
import sys
import urllib.error
import urllib.request

base = sys.argv[1]
checks = 0


def call(method, path, body=None):
    req = urllib.request.Request(base + path, data=body and body.encode(), method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode().strip()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode().strip()


def check(what, got, want):
    global checks
    assert got == want, f"{what}: got {got!r}, want {want!r}"
    checks += 1
    print(f"ok {checks} - {what}")


items = {"apple": "red", "banana": "yellow", "cherry": "dark red"}
for key, value in items.items():
    check(f"PUT /items/{key}", call("PUT", f"/items/{key}", value), (200, "OK"))
for key, value in items.items():
    check(f"GET /items/{key}", call("GET", f"/items/{key}"), (200, value))
check("GET a missing item", call("GET", "/items/durian")[0], 404)
print(f"all {checks} checks passed")

# jx gives every job JX_CTL, its control socket: publish one message on it
# (what `jx ctl publish db.compact after-test` does).
with socket.socket(socket.AF_UNIX) as s:
    s.connect(os.environ["JX_CTL"])
    s.sendall(json.dumps({"action": "publish", "topic": "db.compact", "message": "after-test"}).encode() + b"\n")
    reply = json.loads(s.makefile().readline())
print(f"asked the database to compact its log ({reply['delivered']} subscriber)")
