/**
 * Opening an HTTP/2 connection: TLS with ALPN `h2` (a server that picks anything else is refused),
 * and the first bytes the client sends (the preface, its SETTINGS and a connection window update).
 *
 * @module
 */
import { concat, encodeFrame, Type } from "./frames.ts";
import { MAX_WINDOW } from "./send_windows.ts";

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

/** A TLS connection that negotiated h2; the handshake is complete. */
export async function connectH2(options: H2ConnectOptions): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({
    hostname: options.hostname,
    port: options.port,
    caCerts: options.caCerts,
    alpnProtocols: ["h2"],
    ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
  });
  try {
    const { alpnProtocol } = await conn.handshake();
    if (alpnProtocol !== "h2") throw new Error(`the server chose ${alpnProtocol} over h2`);
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

/**
 * The client's opening bytes: the preface; SETTINGS turning server push off and stream windows to
 * the largest allowed (answers are tiny, so receiving never waits on a window update); and the
 * connection window raised to match.
 */
export function clientPreface(): Uint8Array {
  const preface = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const settings = new Uint8Array(12);
  const view = new DataView(settings.buffer);
  view.setUint16(0, 2); // ENABLE_PUSH
  view.setUint32(2, 0);
  view.setUint16(6, 4); // INITIAL_WINDOW_SIZE
  view.setUint32(8, MAX_WINDOW);
  const increment = new Uint8Array(4);
  new DataView(increment.buffer).setUint32(0, MAX_WINDOW - 65_535);
  const frames = [
    preface,
    encodeFrame(Type.SETTINGS, 0, 0, settings),
    encodeFrame(Type.WINDOW_UPDATE, 0, 0, increment),
  ];
  return concat(frames, frames.reduce((n, f) => n + f.length, 0));
}

/** The server's SETTINGS that matter to the client; each undefined when not sent. */
export interface ServerSettings {
  headerTableSize?: number;
  maxConcurrentStreams?: number;
  initialWindowSize?: number;
  maxFrameSize?: number;
}

/** Reads a SETTINGS payload (its length already checked to be a multiple of 6). */
export function parseSettings(payload: Uint8Array): ServerSettings {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const out: ServerSettings = {};
  for (let i = 0; i + 6 <= payload.length; i += 6) {
    const key = view.getUint16(i);
    const value = view.getUint32(i + 2);
    if (key === 1) out.headerTableSize = value;
    else if (key === 3) out.maxConcurrentStreams = value;
    else if (key === 4) out.initialWindowSize = value;
    else if (key === 5) out.maxFrameSize = value;
  }
  return out;
}
