/**
 * One HTTP/2 client connection over Deno's TLS (RFC 9113), carrying only what APNs needs: POST
 * streams with a small body, whose answers are a status, a few headers and a short JSON body.
 * Deno's `node:http2` spent most of a push's CPU in its compatibility layer (45% of the relay's
 * profile); frames written here straight to the TLS socket, all the frames of one event-loop turn
 * in one write, cost a fraction of it (tests/bench/send_bench.ts).
 *
 * What it does: the connection preface and SETTINGS (no server push, large receive windows), the
 * server's SETTINGS (concurrent streams, table size, windows), flow control both ways, PING both
 * ways, GOAWAY (streams above its last id are reported unprocessed, so they can be retried), stream
 * resets, CONTINUATION, padding, and HPACK through ./hpack.ts. Everything the server sends is
 * untrusted: a malformed frame or header block is a connection error (GOAWAY, then the socket is
 * closed and every open stream is reported unprocessed or cut off).
 *
 * @module
 */
import { FrameWriter } from "./frame_writer.ts";
import {
  ACK,
  CANCEL,
  COMPRESSION_ERROR,
  concat,
  CONTINUATION,
  DATA,
  END_HEADERS,
  END_STREAM,
  FRAME_SIZE_ERROR,
  GOAWAY,
  H2Error,
  HEADERS,
  MAX_FRAME,
  NO_ERROR,
  PADDED,
  PING,
  PROTOCOL_ERROR,
  PUSH_PROMISE,
  readFrames,
  RST_STREAM,
  SETTINGS,
  unpad,
  WINDOW_UPDATE,
} from "./frames.ts";
import { type HeaderList, HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import { MAX_WINDOW, SendWindows } from "./send_windows.ts";

/** Where and how to connect. */
export interface H2ConnectOptions {
  hostname: string;
  port: number;
  /** Extra root certificates (PEM) to trust, beside the system's. */
  caCerts?: string[];
  /** A client certificate and its key (PEM), for certificate-based APNs auth. */
  cert?: string;
  key?: string;
}

/** The fixed part of a request: the same for every recipient of a message. */
export interface RequestHead {
  /** `:authority`. */
  authority: string;
  /** Headers after the pseudo-headers, lowercase names. */
  fixed: HeaderList;
}

/** How a stream ended. */
export type StreamEnd =
  | { kind: "response"; status: number; headers: Record<string, string>; body: Uint8Array }
  /** No complete answer: refused, reset, cut off by GOAWAY or by the connection's end. */
  | { kind: "retry"; error: Error };

/** Body bytes kept per answer: APNs' error bodies are a few dozen bytes. */
const MAX_BODY = 4_096;
const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

interface Stream {
  id: number;
  done: (end: StreamEnd) => void;
  status?: number;
  headers?: Record<string, string>;
  chunks: Uint8Array[];
  size: number;
}

interface Queued {
  head: RequestHead;
  path: string;
  body: Uint8Array;
  done: (end: StreamEnd) => void;
  /** Set when the caller gave up before it was sent. */
  cancelled?: boolean;
}

/** A handle on one request, for cancelling it. */
export interface StreamHandle {
  /** Resets the stream (CANCEL) or drops it if unsent; its `done` is not called after this. */
  cancel(): void;
}

/** One HTTP/2 connection; it starts connecting when constructed. */
export class H2Session {
  /** Called once with the server's first SETTINGS (its SETTINGS_MAX_CONCURRENT_STREAMS). */
  onSettings: (maxConcurrentStreams: number | undefined) => void = () => {};
  /** Called once when the session stops taking streams: GOAWAY, an error, or its end. */
  onGone: () => void = () => {};

  #conn: Deno.TlsConn | null = null;
  #writer: FrameWriter | null = null;
  #encoder = new HpackEncoder();
  #decoder = new HpackDecoder();
  #streams = new Map<number, Stream>();
  #queue: Queued[] = [];
  #nextId = 1;
  #maxConcurrent = 100;
  #windows = new SendWindows((id, chunk, last) =>
    this.#frame(DATA, last ? END_STREAM : 0, id, chunk)
  );
  #received = 0;
  #settled = false;
  #goingAway = false;
  #closing = false;
  #destroyed = false;
  #goneCalled = false;
  #closeCallbacks: Array<() => void> = [];
  #pings = new Map<string, (ok: boolean) => void>();

  /** `:authority` of its requests: the host, and the port unless 443. */
  readonly authority: string;

  constructor(options: H2ConnectOptions) {
    this.authority = options.port === 443
      ? options.hostname
      : `${options.hostname}:${options.port}`;
    this.#start(options);
  }

  /** Whether the server's SETTINGS arrived, i.e. it completed the TLS handshake. */
  get settled(): boolean {
    return this.#settled;
  }

  /** No new stream is taken: closing, told to go away, or gone. */
  get closed(): boolean {
    return this.#closing || this.#goingAway || this.#destroyed;
  }

  /** The socket is gone. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * Sends a POST of `body` to `path`; `done` is called once with how the stream ended.
   *
   * @throws {Error} when the session takes no new streams (check `closed` first).
   */
  request(
    head: RequestHead,
    path: string,
    body: Uint8Array,
    done: (end: StreamEnd) => void,
  ): StreamHandle {
    if (this.closed) throw new Error("the HTTP/2 session takes no new streams");
    const queued: Queued = { head, path, body, done };
    if (this.#settled && this.#streams.size < this.#maxConcurrent && this.#queue.length === 0) {
      const id = this.#open(queued);
      return { cancel: () => this.#cancel(id) };
    }
    this.#queue.push(queued);
    return {
      cancel: () => {
        if (queued.cancelled) return;
        queued.cancelled = true;
        const id = (queued as Queued & { id?: number }).id;
        if (id !== undefined) this.#cancel(id);
      },
    };
  }

  /**
   * Sends a PING; `answered(true)` when its ACK arrives, `answered(false)` if the connection
   * ends first. Returns false (and never calls back) when the session is gone.
   */
  ping(answered: (ok: boolean) => void): boolean {
    if (this.#destroyed || !this.#writer) return false;
    const payload = crypto.getRandomValues(new Uint8Array(8));
    this.#pings.set(payload.join(","), answered);
    this.#frame(PING, 0, 0, payload);
    return true;
  }

  /** Takes no new streams; ends the connection once its streams have ended. */
  close(callback?: () => void): void {
    if (callback) {
      if (this.#destroyed) callback();
      else this.#closeCallbacks.push(callback);
    }
    if (this.#destroyed) return;
    if (!this.#closing) {
      this.#closing = true;
      this.#gone();
      this.#failQueued(new Error("session closed before the request was sent"));
    }
    if (this.#streams.size === 0) {
      this.#goaway(NO_ERROR);
      this.#end();
    }
  }

  /** Ends the connection now; open streams end as cut off. */
  destroy(): void {
    this.#end();
  }

  async #start(options: H2ConnectOptions): Promise<void> {
    let conn: Deno.TlsConn;
    try {
      conn = await Deno.connectTls({
        hostname: options.hostname,
        port: options.port,
        caCerts: options.caCerts,
        alpnProtocols: ["h2"],
        ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
      });
    } catch (error) {
      return this.#end(error as Error);
    }
    if (this.#destroyed) {
      conn.close();
      return;
    }
    this.#conn = conn;
    try {
      const { alpnProtocol } = await conn.handshake();
      if (alpnProtocol !== "h2") throw new Error(`the server chose ${alpnProtocol} over h2`);
    } catch (error) {
      return this.#end(error as Error);
    }
    if (this.#destroyed) return;
    const settings = new Uint8Array(12);
    const view = new DataView(settings.buffer);
    view.setUint16(0, 2); // ENABLE_PUSH
    view.setUint32(2, 0);
    view.setUint16(6, 4); // INITIAL_WINDOW_SIZE
    view.setUint32(8, MAX_WINDOW);
    this.#writer = new FrameWriter(conn, (error) => this.#end(error));
    this.#writer.raw(PREFACE);
    this.#frame(SETTINGS, 0, 0, settings);
    this.#windowUpdate(0, MAX_WINDOW - 65_535);
    this.#read(conn);
  }

  async #read(conn: Deno.TlsConn): Promise<void> {
    try {
      await readFrames(conn, {
        frame: (type, flags, id, payload) => this.#onFrame(type, flags, id, payload),
        headers: (id, flags, block) => this.#onHeaders(id, flags, block),
      });
      this.#end(new Error("the server closed the connection"));
    } catch (error) {
      if (error instanceof H2Error) this.#goaway(error.code);
      else if (error instanceof HpackError) this.#goaway(COMPRESSION_ERROR);
      this.#end(error as Error);
    }
  }

  #onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    switch (type) {
      case DATA: {
        if (id === 0) throw new H2Error(PROTOCOL_ERROR, "DATA on stream 0");
        this.#received += payload.length;
        if (this.#received >= 2 ** 30) {
          this.#windowUpdate(0, this.#received);
          this.#received = 0;
        }
        const stream = this.#streams.get(id);
        if (!stream) return;
        const data = (flags & PADDED) !== 0 ? unpad(payload) : payload;
        if (stream.status === undefined) {
          return this.#finish(stream, retry(`DATA before the answer's headers on stream ${id}`));
        }
        if (stream.size < MAX_BODY) stream.chunks.push(data.slice(0, MAX_BODY - stream.size));
        stream.size += data.length;
        if ((flags & END_STREAM) !== 0) this.#answer(stream);
        return;
      }
      case RST_STREAM: {
        if (payload.length !== 4) throw new H2Error(FRAME_SIZE_ERROR, "RST_STREAM size");
        const stream = this.#streams.get(id);
        if (stream) {
          const code = new DataView(payload.buffer, payload.byteOffset).getUint32(0);
          this.#finish(stream, retry(`stream reset (code ${code})`));
        }
        return;
      }
      case SETTINGS:
        if (id !== 0) throw new H2Error(PROTOCOL_ERROR, "SETTINGS on a stream");
        if ((flags & ACK) !== 0) return;
        if (payload.length % 6 !== 0) throw new H2Error(FRAME_SIZE_ERROR, "SETTINGS size");
        return this.#onSettings(payload);
      case PUSH_PROMISE:
        throw new H2Error(PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
      case PING:
        if (payload.length !== 8) throw new H2Error(FRAME_SIZE_ERROR, "PING size");
        if ((flags & ACK) !== 0) {
          const key = payload.join(",");
          const answered = this.#pings.get(key);
          this.#pings.delete(key);
          answered?.(true);
        } else this.#frame(PING, ACK, 0, payload.slice());
        return;
      case GOAWAY: {
        if (payload.length < 8) throw new H2Error(FRAME_SIZE_ERROR, "GOAWAY size");
        const view = new DataView(payload.buffer, payload.byteOffset);
        const last = view.getUint32(0) & 0x7fffffff;
        const code = view.getUint32(4);
        this.#goingAway = true;
        this.#gone();
        const error = `GOAWAY (code ${code}, last stream ${last})`;
        for (const stream of [...this.#streams.values()]) {
          if (stream.id > last) this.#finish(stream, retry(`${error}: not processed`));
        }
        this.#failQueued(new Error(`${error}: not sent`));
        if (this.#streams.size === 0) this.#end();
        return;
      }
      case WINDOW_UPDATE: {
        if (payload.length !== 4) throw new H2Error(FRAME_SIZE_ERROR, "WINDOW_UPDATE size");
        const increment = new DataView(payload.buffer, payload.byteOffset).getUint32(0) &
          0x7fffffff;
        if (id === 0 && increment === 0) {
          throw new H2Error(PROTOCOL_ERROR, "a zero window update");
        }
        return this.#windows.update(id, increment);
      }
      default:
        return; // PRIORITY, and types this client does not know: ignored, as the spec says
    }
  }

  #onSettings(payload: Uint8Array): void {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    let maxConcurrent: number | undefined;
    for (let i = 0; i < payload.length; i += 6) {
      const key = view.getUint16(i);
      const value = view.getUint32(i + 2);
      if (key === 1) this.#encoder.setMaxSize(value);
      else if (key === 3) maxConcurrent = value;
      else if (key === 4) this.#windows.setInitial(value);
      else if (key === 5) {
        if (value < MAX_FRAME || value > 16_777_215) {
          throw new H2Error(PROTOCOL_ERROR, "invalid SETTINGS_MAX_FRAME_SIZE");
        }
        this.#windows.setMaxFrame(value);
      }
    }
    if (maxConcurrent !== undefined) this.#maxConcurrent = maxConcurrent;
    this.#frame(SETTINGS, ACK, 0, new Uint8Array(0));
    if (!this.#settled) {
      this.#settled = true;
      this.onSettings(maxConcurrent);
    }
    this.#sendQueued();
    this.#windows.drain();
  }

  #onHeaders(id: number, flags: number, block: Uint8Array): void {
    // Decoded whatever the stream: the table must follow every block the server sent.
    const fields = this.#decoder.decode(block);
    const stream = this.#streams.get(id);
    if (!stream) return;
    if (stream.status === undefined) {
      const headers: Record<string, string> = {};
      for (const [name, value] of fields) {
        if (!(name in headers)) headers[name] = value;
      }
      const status = Number(headers[":status"]);
      if (!Number.isInteger(status) || status < 100 || status > 599) {
        return this.#finish(stream, retry(`an answer without a valid :status on stream ${id}`));
      }
      if (status >= 200) {
        stream.status = status;
        stream.headers = headers;
      } else if ((flags & END_STREAM) !== 0) {
        return this.#finish(stream, retry(`stream ${id} ended after a ${status}`));
      }
    }
    // A second block is trailers: nothing APNs sends, and nothing read here.
    if ((flags & END_STREAM) !== 0 && stream.status !== undefined) this.#answer(stream);
  }

  #open(queued: Queued): number {
    const id = this.#nextId;
    this.#nextId += 2;
    const block = this.#encoder.block(
      "POST",
      queued.head.authority,
      queued.path,
      queued.head.fixed,
    );
    const stream: Stream = {
      id,
      done: queued.done,
      chunks: [],
      size: 0,
    };
    this.#streams.set(id, stream);
    const empty = queued.body.length === 0;
    this.#headerFrames(id, block, empty);
    if (!empty) this.#windows.open(id, queued.body);
    return id;
  }

  #headerFrames(id: number, block: Uint8Array, endStream: boolean): void {
    const max = this.#windows.maxFrame;
    const end = endStream ? END_STREAM : 0;
    if (block.length <= max) return this.#frame(HEADERS, END_HEADERS | end, id, block);
    this.#frame(HEADERS, end, id, block.subarray(0, max));
    for (let at = max; at < block.length; at += max) {
      const last = at + max >= block.length;
      this.#frame(CONTINUATION, last ? END_HEADERS : 0, id, block.subarray(at, at + max));
    }
  }

  #sendQueued(): void {
    while (
      this.#queue.length && this.#settled && !this.closed &&
      this.#streams.size < this.#maxConcurrent
    ) {
      const queued = this.#queue.shift()! as Queued & { id?: number };
      if (queued.cancelled) continue;
      queued.id = this.#open(queued);
    }
  }

  #answer(stream: Stream): void {
    const body = stream.chunks.length === 1
      ? stream.chunks[0]
      : concat(stream.chunks, Math.min(stream.size, MAX_BODY));
    this.#finish(stream, {
      kind: "response",
      status: stream.status!,
      headers: stream.headers!,
      body,
    });
  }

  #finish(stream: Stream, end: StreamEnd): void {
    if (!this.#streams.delete(stream.id)) return;
    this.#windows.forget(stream.id);
    stream.done(end);
    this.#sendQueued();
    if (this.#streams.size === 0 && (this.#closing || this.#goingAway)) {
      if (this.#closing && !this.#goingAway) this.#goaway(NO_ERROR);
      this.#end();
    }
  }

  #cancel(id: number): void {
    const stream = this.#streams.get(id);
    if (!stream) return;
    stream.done = () => {};
    this.#rst(id, CANCEL);
    this.#finish(stream, retry("cancelled"));
  }

  #failQueued(error: Error): void {
    const queued = this.#queue.splice(0);
    for (const q of queued) {
      if (!q.cancelled) q.done({ kind: "retry", error });
    }
  }

  #gone(): void {
    if (this.#goneCalled) return;
    this.#goneCalled = true;
    this.onGone();
  }

  /** Closes the socket and ends everything still open as cut off. */
  #end(cause?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#gone();
    const error = cause ?? new Error("the connection ended");
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) stream.done({ kind: "retry", error });
    this.#failQueued(error);
    for (const answered of this.#pings.values()) answered(false);
    this.#pings.clear();
    // Frames already queued (a GOAWAY, a PING ACK) leave first.
    if (this.#writer) this.#writer.close();
    else this.#conn?.close();
    for (const callback of this.#closeCallbacks.splice(0)) callback();
  }

  #goaway(code: number): void {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(4, code);
    this.#frame(GOAWAY, 0, 0, payload);
  }

  #rst(id: number, code: number): void {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, code);
    this.#frame(RST_STREAM, 0, id, payload);
  }

  #windowUpdate(id: number, increment: number): void {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, increment);
    this.#frame(WINDOW_UPDATE, 0, id, payload);
  }

  /** Queues one frame (./frame_writer.ts); nothing once the session is gone. */
  #frame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#destroyed) return;
    this.#writer?.frame(type, flags, id, payload);
  }
}

function retry(message: string): StreamEnd {
  return { kind: "retry", error: new Error(message) };
}
