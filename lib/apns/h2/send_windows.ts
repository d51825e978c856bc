/**
 * Flow control of what the client sends (RFC 9113 §5.2): request bodies leave as DATA frames as
 * far as the connection's window, their stream's window and the peer's largest frame allow; what
 * does not fit waits, oldest first, for the peer's WINDOW_UPDATE. APNs' windows dwarf a payload
 * (at most 5 KB), so a body normally leaves at once, in one frame.
 *
 * @module
 */
import { Code, H2Error, MAX_FRAME } from "./frames.ts";

/** The largest window the protocol allows. */
export const MAX_WINDOW = 2 ** 31 - 1;

interface Body {
  id: number;
  bytes: Uint8Array;
  at: number;
}

/** Sends `bytes[from, to)` of stream `id`'s body; `last` ends the stream. */
export type SendData = (id: number, chunk: Uint8Array, last: boolean) => void;

/** The send windows of one connection and the bodies waiting for them. */
export class SendWindows {
  #connection = 65_535;
  #initial = 65_535;
  #maxFrame = MAX_FRAME;
  #streams = new Map<number, number>();
  #waiting: Body[] = [];
  #send: SendData;

  constructor(send: SendData) {
    this.#send = send;
  }

  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  get maxFrame(): number {
    return this.#maxFrame;
  }

  /** Opens stream `id` with the current initial window and sends what fits of `body`. */
  open(id: number, body: Uint8Array): void {
    this.#streams.set(id, this.#initial);
    this.#waiting.push({ id, bytes: body, at: 0 });
    this.drain();
  }

  /** The stream ended: its window and any unsent body are dropped. */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  /** SETTINGS_INITIAL_WINDOW_SIZE: every open stream's window moves by the difference. */
  setInitial(value: number): void {
    if (value > MAX_WINDOW) throw new H2Error(Code.FLOW_CONTROL_ERROR, "initial window too large");
    const delta = value - this.#initial;
    this.#initial = value;
    for (const [id, window] of this.#streams) this.#streams.set(id, window + delta);
  }

  /** SETTINGS_MAX_FRAME_SIZE. */
  setMaxFrame(value: number): void {
    this.#maxFrame = value;
  }

  /** A WINDOW_UPDATE: for the connection (`id` 0) or one stream. */
  update(id: number, increment: number): void {
    if (id === 0) {
      this.#connection += increment;
      if (this.#connection > MAX_WINDOW) {
        throw new H2Error(Code.FLOW_CONTROL_ERROR, "connection window overflow");
      }
    } else {
      const window = this.#streams.get(id);
      if (window !== undefined) this.#streams.set(id, window + increment);
    }
    this.drain();
  }

  /** Sends what the windows allow of the waiting bodies, oldest first. */
  drain(): void {
    while (this.#waiting.length && this.#connection > 0) {
      const body = this.#waiting[0];
      const window = this.#streams.get(body.id);
      if (window === undefined) {
        this.#waiting.shift();
        continue;
      }
      const left = body.bytes.length - body.at;
      const n = Math.min(left, this.#connection, window, this.#maxFrame);
      if (n <= 0) {
        // This stream waits for its own window; a later one may go.
        const rest = this.#waiting.slice(1);
        if (!rest.some((b) => (this.#streams.get(b.id) ?? 0) > 0)) return;
        this.#waiting = [...rest, body];
        continue;
      }
      const last = n === left;
      this.#send(body.id, body.bytes.subarray(body.at, body.at + n), last);
      body.at += n;
      this.#streams.set(body.id, window - n);
      this.#connection -= n;
      if (last) this.#waiting.shift();
    }
  }
}
