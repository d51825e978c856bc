/**
 * What comes back on one stream: the answer's headers (a final status after any 1xx), its body
 * (kept up to {@linkcode MAX_BODY} bytes; APNs' error bodies are a few dozen) and how the stream
 * ended. The server's input is untrusted: an answer without a valid `:status`, or a body before
 * the headers, ends the stream as retryable.
 *
 * @module
 */
import { concat } from "./frames.ts";

/** Body bytes kept per answer. */
export const MAX_BODY = 4_096;

/** How a stream ended. */
export type StreamEnd =
  | { kind: "response"; status: number; headers: Record<string, string>; body: Uint8Array }
  /** No complete answer: refused, reset, cut off by GOAWAY or by the connection's end. */
  | { kind: "retry"; error: Error };

/** An open stream and what has arrived on it. */
export interface OpenStream {
  id: number;
  done: (end: StreamEnd) => void;
  status?: number;
  headers?: Record<string, string>;
  chunks: Uint8Array[];
  size: number;
}

/** A stream that ended without an answer. */
export function retry(message: string): StreamEnd {
  return { kind: "retry", error: new Error(message) };
}

/**
 * Takes a decoded header block; returns how the stream ended, or null while it goes on. A block
 * after the final headers is trailers: nothing APNs sends, and nothing read here.
 */
export function takeHeaders(
  stream: OpenStream,
  fields: Array<[string, string]>,
  endStream: boolean,
): StreamEnd | null {
  if (stream.status === undefined) {
    const headers: Record<string, string> = {};
    for (const [name, value] of fields) {
      if (!(name in headers)) headers[name] = value;
    }
    const status = Number(headers[":status"]);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      return retry(`an answer without a valid :status on stream ${stream.id}`);
    }
    if (status >= 200) {
      stream.status = status;
      stream.headers = headers;
    } else if (endStream) {
      return retry(`stream ${stream.id} ended after a ${status}`);
    }
  }
  return endStream && stream.status !== undefined ? answer(stream) : null;
}

/** Takes body bytes; returns how the stream ended, or null while it goes on. */
export function takeData(stream: OpenStream, data: Uint8Array, endStream: boolean) {
  if (stream.status === undefined) {
    return retry(`DATA before the answer's headers on stream ${stream.id}`);
  }
  if (stream.size < MAX_BODY) stream.chunks.push(data.slice(0, MAX_BODY - stream.size));
  stream.size += data.length;
  return endStream ? answer(stream) : null;
}

function answer(stream: OpenStream): StreamEnd {
  const body = stream.chunks.length === 1
    ? stream.chunks[0]
    : concat(stream.chunks, Math.min(stream.size, MAX_BODY));
  return { kind: "response", status: stream.status!, headers: stream.headers!, body };
}
