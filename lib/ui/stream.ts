/**
 * One page's event stream (server-sent events), bounded in what it holds.
 * The kept runs are replayed at the pace the client takes them (written
 * while the response's buffer is below its high-water mark, the rest on
 * "drain"), read from the feed as they are written (`RunFeed.replay`: the
 * stream holds no copy of them); live events that come meanwhile wait, then
 * are written as they come. Two bounds close a stream's connection (the
 * page reconnects and is sent the kept runs again):
 *
 * - what it holds for its client, written and not yet taken plus the live
 *   events waiting for the replay, passes the limit (`STREAM_LIMIT`);
 * - its client leaves a full buffer unemptied for `STALL_MS`: a write found
 *   the buffer full, and no "drain" came since (as nginx's `send_timeout`).
 *   A client that never reads and is sent no new event holds its
 *   connection, and what is queued for it, no longer than that.
 *
 * A stalled page never slows the run and holds at most about the limit of
 * jx's memory, for at most about `STALL_MS`.
 *
 * @module
 */
import type { ServerResponse } from "node:http";

/** What a stream may hold for its client (written, not yet taken; live events waiting) before it is closed. */
export const STREAM_LIMIT = 4 * 1024 * 1024;

/** How long a stream may wait for its client to empty a full buffer ("drain") before it is closed, in ms. */
export const STALL_MS = 60_000;

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
  /** The last message, once `end` was called: written after the replay and the waiting events. */
  private last: string | undefined;
  /** When a write found the buffer full, until the next "drain"; undefined while it is not. */
  private fullSince: number | undefined;
  private stallTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private res: ServerResponse,
    history: Iterable<string>,
    private limit: number,
    private stallMs: number = STALL_MS,
  ) {
    this.replay = history[Symbol.iterator]();
    res.on("drain", () => {
      this.fullSince = undefined;
      this.pump();
    });
    res.on("close", () => this.forget());
    this.pump();
  }

  /** A live event (JSON); past the limit the stream is ended instead. */
  send(json: string): void {
    if (this.closed || this.last !== undefined) return;
    const text = `data: ${json}\n\n`;
    if (this.replay) {
      this.later.push(text);
      this.laterBytes += text.length;
      this.withinLimit();
    } else this.write(text);
  }

  /** Ends the stream with a last message (the server is going). */
  end(last: string, stallMs = this.stallMs): Promise<void> {
    const gone = new Promise<void>((ok) => {
      if (this.res.destroyed || this.res.writableFinished) return ok();
      this.res.once("close", () => ok());
      this.res.once("finish", () => ok());
    });
    if (this.closed || this.last !== undefined) return gone;
    // The rest of the replay and the live events waiting for it are still the page's: written
    // first (at its pace), then `last`. A page that takes nothing for `stallMs` is dropped.
    this.last = last;
    this.stallMs = Math.min(this.stallMs, stallMs);
    if (this.stallTimer !== undefined) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      this.checkStall();
    }
    if (!this.replay) this.finish();
    return gone;
  }

  /** Everything is written: `last`, and the response ended. */
  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end(this.last);
    // What is still queued waits for its client as long as a live stream's would.
    if (this.res.writableLength > 0) this.full();
  }

  /** Writes kept events until the buffer is full (the rest on "drain"), then the live ones. */
  private pump(): void {
    while (this.replay && !this.closed) {
      const next = this.replay.next();
      if (next.done) return this.flush();
      if (!this.write(`data: ${next.value}\n\n`)) return;
    }
  }

  private flush(): void {
    this.replay = undefined;
    const later = this.later;
    this.later = [];
    this.laterBytes = 0;
    for (const text of later) {
      this.write(text);
      if (this.closed) return; // past the limit
    }
    if (this.last !== undefined) this.finish();
  }

  /** Writes `text`; false when the buffer is full (or the stream was closed for the limit). */
  private write(text: string): boolean {
    if (this.closed) return false;
    const room = this.res.write(text);
    if (!room) this.full();
    return this.withinLimit() && room;
  }

  /** Closes the stream when what it holds passes the limit; whether it is still open. */
  private withinLimit(): boolean {
    if (this.res.writableLength + this.laterBytes <= this.limit) return true;
    this.drop();
    return false;
  }

  /** A write found the buffer full: the client has `stallMs` to empty it. */
  private full(): void {
    this.fullSince ??= Date.now();
    this.stallTimer ??= setTimeout(() => this.checkStall(), this.stallMs);
  }

  /** The stall timer: closes a stream whose buffer stayed full for `stallMs`, else waits on. */
  private checkStall(): void {
    this.stallTimer = undefined;
    if (this.fullSince === undefined || this.res.destroyed) return;
    const waited = Date.now() - this.fullSince;
    if (waited >= this.stallMs) return this.drop();
    this.stallTimer = setTimeout(() => this.checkStall(), this.stallMs - waited);
  }

  /** The client is too far behind or stalled: its connection is closed, what was queued for it dropped. */
  private drop(): void {
    this.forget();
    this.res.destroy();
  }

  /** The connection is gone (or going): nothing more is written, nothing kept for it. */
  private forget(): void {
    this.closed = true;
    this.replay = undefined;
    this.later = [];
    this.laterBytes = 0;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}
