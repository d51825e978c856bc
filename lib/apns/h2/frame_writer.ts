/**
 * The write side of one HTTP/2 connection: frames queued during an event-loop turn leave in one
 * socket write (a campaign's thousands of streams would otherwise cost a syscall each), writes
 * never overlap, and a partial write is finished before the next.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** Queues frames for `conn`; see the module doc. */
export class FrameWriter {
  #conn: Deno.Conn;
  #onError: (error: Error) => void;
  /** Two buffers take turns: one is being written while frames fill the other. */
  #buffers = [new Uint8Array(64 * 1024), new Uint8Array(64 * 1024)];
  #current = 0;
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
    if (this.#closed) return;
    const out = this.#reserve(bytes.length);
    out.set(bytes, this.#bytes);
    this.#bytes += bytes.length;
    this.#schedule();
  }

  /** Queues one frame: its 9-byte header and payload, copied straight into the next write. */
  frame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#closed) return;
    const length = payload.length;
    const out = this.#reserve(9 + length);
    let at = this.#bytes;
    out[at++] = length >>> 16;
    out[at++] = (length >>> 8) & 0xff;
    out[at++] = length & 0xff;
    out[at++] = type;
    out[at++] = flags;
    out[at++] = (id >>> 24) & 0x7f;
    out[at++] = (id >>> 16) & 0xff;
    out[at++] = (id >>> 8) & 0xff;
    out[at++] = id & 0xff;
    out.set(payload, at);
    this.#bytes = at + length;
    this.#schedule();
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

  /** The buffer being filled, grown to take `extra` more bytes. */
  #reserve(extra: number): Uint8Array {
    const out = this.#buffers[this.#current];
    if (this.#bytes + extra <= out.length) return out;
    const grown = new Uint8Array(Math.max(out.length * 2, this.#bytes + extra));
    grown.set(out.subarray(0, this.#bytes));
    this.#buffers[this.#current] = grown;
    return grown;
  }

  #schedule(): void {
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
    // Written in full before the next flush, which then fills this buffer again.
    const data = this.#buffers[this.#current].subarray(0, this.#bytes);
    this.#current ^= 1;
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
