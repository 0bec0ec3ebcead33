/**
 * One page's event stream (server-sent events), bounded in what it queues.
 * The kept runs are replayed at the pace the client takes them (written
 * while the response's buffer is below its high-water mark, the rest on
 * "drain"); live events are written as they come (after the replay). A
 * client that falls behind by more than the limit (bytes written and not yet
 * taken) has its stream ended, its connection closed: the page reconnects and
 * is sent the kept runs again. A stalled page never slows the run and holds
 * at most about the limit of jx's memory.
 *
 * @module
 */
import type { ServerResponse } from "node:http";

/** What a stream may have queued (written, not yet taken by its client) before it is ended. */
export const STREAM_LIMIT = 4 * 1024 * 1024;

/**
 * An event stream's writer: the replay of `history`, then live events.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { EventStream } from "./stream.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const server = createServer((_req, res) => {
 *   res.writeHead(200, { "content-type": "text/event-stream" });
 *   const s = new EventStream(res, ['{"n":1}'], 1024);
 *   s.send('{"n":2}');
 *   s.end("");
 * });
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const text = await (await fetch(`http://127.0.0.1:${port}/`)).text();
 * server.close();
 * assertEquals(text, 'data: {"n":1}\n\ndata: {"n":2}\n\n');
 * ```
 */
export class EventStream {
  /** The kept events not written yet; undefined once the replay is done. */
  private replay: Iterator<string> | undefined;
  /** Live events that came during the replay, written after it. */
  private later: string[] = [];
  private laterBytes = 0;
  private closed = false;

  constructor(private res: ServerResponse, history: Iterable<string>, private limit: number) {
    this.replay = history[Symbol.iterator]();
    res.on("drain", () => this.pump());
    this.pump();
  }

  /** A live event (JSON); past the limit the stream is ended instead. */
  send(json: string): void {
    if (this.closed) return;
    const text = `data: ${json}\n\n`;
    if (this.replay) {
      this.later.push(text);
      this.laterBytes += text.length;
    } else this.res.write(text);
    if (this.res.writableLength + this.laterBytes > this.limit) this.drop();
  }

  /** Ends the stream with a last message (the server is going). */
  end(last: string): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end(last);
  }

  /** Writes kept events until the buffer is full (the rest on "drain"), then the live ones. */
  private pump(): void {
    while (this.replay && !this.closed) {
      const next = this.replay.next();
      if (next.done) return this.flush();
      if (!this.res.write(`data: ${next.value}\n\n`)) return;
    }
  }

  private flush(): void {
    this.replay = undefined;
    for (const text of this.later) this.res.write(text);
    this.later = [];
    this.laterBytes = 0;
  }

  /** The client is too far behind: its connection is closed, what was queued for it dropped. */
  private drop(): void {
    this.closed = true;
    this.later = [];
    this.res.destroy();
  }
}
