/**
 * The write side of one HTTP/2 connection: frames queued during an event-loop turn leave in one
 * socket write (a campaign's thousands of streams would otherwise cost a syscall each), writes
 * never overlap, and a partial write is finished before the next.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { concat, encodeFrame } from "./frames.ts";

/** Queues frames for `conn`; see the module doc. */
export class FrameWriter {
  #conn: Deno.Conn;
  #onError: (error: Error) => void;
  #out: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  #writing = false;
  #closed = false;

  /** `onError` hears of a failed write (the connection is then unusable). */
  constructor(conn: Deno.Conn, onError: (error: Error) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Queues raw bytes (the connection preface). */
  raw(bytes: Uint8Array): void {
    this.#queue(bytes);
  }

  /** Queues one frame. */
  frame(type: number, flags: number, id: number, payload: Uint8Array): void {
    this.#queue(encodeFrame(type, flags, id, payload));
  }

  /** Sends what is queued (a GOAWAY, say), then closes the socket. Frames queued after are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#writing) return this.#flush();
    // A peer that stopped reading must not keep the socket open.
    const timer = setTimeout(() => this.#closeSocket(), 1_000);
    Deno.unrefTimer(timer);
  }

  #queue(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#bytes += bytes.length;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#writing) return;
    if (this.#bytes === 0) {
      if (this.#closed) this.#closeSocket();
      return;
    }
    const data = concat(this.#out, this.#bytes);
    this.#out = [];
    this.#bytes = 0;
    this.#writing = true;
    const conn = this.#conn;
    (async () => {
      let at = 0;
      while (at < data.length) at += await conn.write(data.subarray(at));
    })().then(
      () => {
        this.#writing = false;
        if (this.#bytes > 0 || this.#closed) this.#flush();
      },
      (error) => {
        this.#writing = false;
        this.#out = [];
        this.#bytes = 0;
        if (this.#closed) return this.#closeSocket();
        this.#onError(error as Error);
      },
    );
  }

  #closeSocket(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
