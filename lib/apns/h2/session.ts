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
import { type OpenStream, retry, type StreamEnd, takeData, takeHeaders } from "./answers.ts";
import { clientPreface, connectH2, type H2ConnectOptions, parseSettings } from "./connect.ts";
import { FrameWriter } from "./frame_writer.ts";
import { Code, Flag, H2Error, MAX_FRAME, readFrames, Type, unpad, words } from "./frames.ts";
import { type HeaderList, HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import { SendWindows } from "./send_windows.ts";

export type { H2ConnectOptions, StreamEnd };

interface Queued {
  fixed: HeaderList;
  path: string;
  body: Uint8Array;
  done: (end: StreamEnd) => void;
  /** Set when the caller gave up before it was sent. */
  cancelled?: boolean;
  /** Its stream, once sent. */
  id?: number;
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
  #streams = new Map<number, OpenStream>();
  #queue: Queued[] = [];
  #nextId = 1;
  #maxConcurrent = 100;
  #windows = new SendWindows((id, chunk, last) =>
    this.#frame(Type.DATA, last ? Flag.END_STREAM : 0, id, chunk)
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
  #authority: string;

  constructor(options: H2ConnectOptions) {
    this.#authority = options.port === 443
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
   * Sends a POST of `body` to `path` with the headers `fixed` (the same list object for every
   * recipient of a message, so HPACK reuses its encoding); `done` is called once with how the
   * stream ended.
   *
   * @throws {Error} when the session takes no new streams (check `closed` first).
   */
  request(
    fixed: HeaderList,
    path: string,
    body: Uint8Array,
    done: (end: StreamEnd) => void,
  ): StreamHandle {
    if (this.closed) throw new Error("the HTTP/2 session takes no new streams");
    const queued: Queued = { fixed, path, body, done };
    if (this.#settled && this.#streams.size < this.#maxConcurrent && this.#queue.length === 0) {
      const id = this.#open(queued);
      return { cancel: () => this.#cancel(id) };
    }
    this.#queue.push(queued);
    return {
      cancel: () => {
        if (queued.cancelled) return;
        queued.cancelled = true;
        if (queued.id !== undefined) this.#cancel(queued.id);
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
    this.#frame(Type.PING, 0, 0, payload);
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
      this.#goaway(Code.NO_ERROR);
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
      conn = await connectH2(options);
    } catch (error) {
      return this.#end(error as Error);
    }
    this.#conn = conn;
    if (this.#destroyed) return conn.close();
    this.#writer = new FrameWriter(conn, (error) => this.#end(error));
    this.#writer.raw(clientPreface());
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
      else if (error instanceof HpackError) this.#goaway(Code.COMPRESSION_ERROR);
      this.#end(error as Error);
    }
  }

  #onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    switch (type) {
      case Type.DATA: {
        if (id === 0) throw new H2Error(Code.PROTOCOL_ERROR, "DATA on stream 0");
        this.#received += payload.length;
        if (this.#received >= 2 ** 30) {
          this.#frame(Type.WINDOW_UPDATE, 0, 0, words(this.#received));
          this.#received = 0;
        }
        const stream = this.#streams.get(id);
        if (!stream) return;
        const data = (flags & Flag.PADDED) !== 0 ? unpad(payload) : payload;
        const end = takeData(stream, data, (flags & Flag.END_STREAM) !== 0);
        if (end) this.#finish(stream, end);
        return;
      }
      case Type.RST_STREAM: {
        if (payload.length !== 4) throw new H2Error(Code.FRAME_SIZE_ERROR, "RST_STREAM size");
        const stream = this.#streams.get(id);
        if (stream) {
          const code = new DataView(payload.buffer, payload.byteOffset).getUint32(0);
          this.#finish(stream, retry(`stream reset (code ${code})`));
        }
        return;
      }
      case Type.SETTINGS:
        if (id !== 0) throw new H2Error(Code.PROTOCOL_ERROR, "SETTINGS on a stream");
        if ((flags & Flag.ACK) !== 0) return;
        if (payload.length % 6 !== 0) throw new H2Error(Code.FRAME_SIZE_ERROR, "SETTINGS size");
        return this.#onSettings(payload);
      case Type.PUSH_PROMISE:
        throw new H2Error(Code.PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
      case Type.PING:
        if (payload.length !== 8) throw new H2Error(Code.FRAME_SIZE_ERROR, "PING size");
        if ((flags & Flag.ACK) !== 0) {
          const key = payload.join(",");
          const answered = this.#pings.get(key);
          this.#pings.delete(key);
          answered?.(true);
        } else this.#frame(Type.PING, Flag.ACK, 0, payload.slice());
        return;
      case Type.GOAWAY: {
        if (payload.length < 8) throw new H2Error(Code.FRAME_SIZE_ERROR, "GOAWAY size");
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
      case Type.WINDOW_UPDATE: {
        if (payload.length !== 4) throw new H2Error(Code.FRAME_SIZE_ERROR, "WINDOW_UPDATE size");
        const increment = new DataView(payload.buffer, payload.byteOffset).getUint32(0) &
          0x7fffffff;
        if (id === 0 && increment === 0) {
          throw new H2Error(Code.PROTOCOL_ERROR, "a zero window update");
        }
        return this.#windows.update(id, increment);
      }
      default:
        return; // PRIORITY, and types this client does not know: ignored, as the spec says
    }
  }

  #onSettings(payload: Uint8Array): void {
    const settings = parseSettings(payload);
    if (settings.headerTableSize !== undefined) {
      this.#encoder.setMaxSize(settings.headerTableSize);
    }
    if (settings.initialWindowSize !== undefined) {
      this.#windows.setInitial(settings.initialWindowSize);
    }
    const frameSize = settings.maxFrameSize;
    if (frameSize !== undefined) {
      if (frameSize < MAX_FRAME || frameSize > 16_777_215) {
        throw new H2Error(Code.PROTOCOL_ERROR, "invalid SETTINGS_MAX_FRAME_SIZE");
      }
      this.#windows.setMaxFrame(frameSize);
    }
    const maxConcurrent = settings.maxConcurrentStreams;
    if (maxConcurrent !== undefined) this.#maxConcurrent = maxConcurrent;
    this.#frame(Type.SETTINGS, Flag.ACK, 0, new Uint8Array(0));
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
    const end = takeHeaders(stream, fields, (flags & Flag.END_STREAM) !== 0);
    if (end) this.#finish(stream, end);
  }

  #open(queued: Queued): number {
    const id = this.#nextId;
    this.#nextId += 2;
    const block = this.#encoder.block(this.#authority, queued.path, queued.fixed);
    const stream: OpenStream = { id, done: queued.done, chunks: [], size: 0 };
    this.#streams.set(id, stream);
    const empty = queued.body.length === 0;
    this.#headerFrames(id, block, empty);
    if (!empty) this.#windows.open(id, queued.body);
    return id;
  }

  #headerFrames(id: number, block: Uint8Array, endStream: boolean): void {
    const max = this.#windows.maxFrame;
    const end = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) return this.#frame(Type.HEADERS, Flag.END_HEADERS | end, id, block);
    this.#frame(Type.HEADERS, end, id, block.subarray(0, max));
    for (let at = max; at < block.length; at += max) {
      const last = at + max >= block.length;
      this.#frame(Type.CONTINUATION, last ? Flag.END_HEADERS : 0, id, block.subarray(at, at + max));
    }
  }

  #sendQueued(): void {
    while (
      this.#queue.length && this.#settled && !this.closed &&
      this.#streams.size < this.#maxConcurrent
    ) {
      const queued = this.#queue.shift()!;
      if (queued.cancelled) continue;
      queued.id = this.#open(queued);
    }
  }

  #finish(stream: OpenStream, end: StreamEnd): void {
    if (!this.#streams.delete(stream.id)) return;
    this.#windows.forget(stream.id);
    stream.done(end);
    this.#sendQueued();
    if (this.#streams.size === 0 && (this.#closing || this.#goingAway)) {
      if (this.#closing && !this.#goingAway) this.#goaway(Code.NO_ERROR);
      this.#end();
    }
  }

  #cancel(id: number): void {
    const stream = this.#streams.get(id);
    if (!stream) return;
    stream.done = () => {};
    this.#frame(Type.RST_STREAM, 0, id, words(Code.CANCEL));
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
    this.#frame(Type.GOAWAY, 0, 0, words(0, code));
  }

  /** Queues one frame (./frame_writer.ts); nothing once the session is gone. */
  #frame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#destroyed) return;
    this.#writer?.frame(type, flags, id, payload);
  }
}
