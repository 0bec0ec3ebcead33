"""A tiny key-value database: TCP, one command per line (SET k v, GET k, COUNT).

Writes go to an append-only log that is replayed at start. A line
`db.compact ...` on stdin (a jx PubSub message) rewrites the log with only
the current values. SIGTERM ends it cleanly.
"""
import argparse
import asyncio
import os
import signal
import sys
import threading

args = argparse.ArgumentParser()
args.add_argument("--port", type=int, required=True)
args.add_argument("--data", required=True)
opts = args.parse_args()

data = {}
os.makedirs(os.path.dirname(opts.data) or ".", exist_ok=True)
if os.path.exists(opts.data):
    with open(opts.data) as f:
        for line in f:
            _, key, value = line.rstrip("\n").split(" ", 2)
            data[key] = value
log = open(opts.data, "a")


def compact():
    tmp = opts.data + ".tmp"
    with open(tmp, "w") as f:
        for key, value in data.items():
            f.write(f"SET {key} {value}\n")
    global log
    log.close()
    os.replace(tmp, opts.data)
    log = open(opts.data, "a")
    print(f"db: compacted the log to {len(data)} keys")


async def serve(reader, writer):
    while line := await reader.readline():
        cmd, _, rest = line.decode().rstrip("\n").partition(" ")
        if cmd == "SET":
            key, _, value = rest.partition(" ")
            data[key] = value
            log.write(f"SET {key} {value}\n")
            log.flush()
            writer.write(b"OK\n")
        elif cmd == "GET":
            value = data.get(rest)
            writer.write(b"NONE\n" if value is None else f"VALUE {value}\n".encode())
        elif cmd == "COUNT":
            writer.write(f"{len(data)}\n".encode())
        else:
            writer.write(b"ERROR unknown command\n")
        await writer.drain()
    writer.close()


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)

    def messages():  # jx PubSub: "TOPIC MESSAGE" lines on stdin
        for line in sys.stdin:
            if line.startswith("db.compact "):
                loop.call_soon_threadsafe(compact)

    threading.Thread(target=messages, daemon=True).start()
    server = await asyncio.start_server(serve, "127.0.0.1", opts.port)
    print(f"db: {len(data)} keys, listening on {opts.port}")
    async with server:
        await stop
    print("db: stopped cleanly")


asyncio.run(main())
