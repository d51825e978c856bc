/**
 * One notification on one HTTP/2 stream: writes the request, collects APNs' answer (at most
 * MAX_ANSWER_BYTES of its body) and says whether the stream ended with an answer, was cut off
 * before one (so another connection may carry the notification), or outlived its deadline.
 * Retrying, pooling and reading the answer are the transport's.
 *
 * @module
 */
import http2 from "node:http2";
import { MAX_ANSWER_BYTES } from "./answer.ts";
import type { Deadline, DeadlineSweep } from "./deadline_sweep.ts";

/** What one stream ended with. */
export type Exchange =
  | { kind: "response"; status: number; headers: http2.IncomingHttpHeaders; body: Uint8Array }
  | { kind: "retry"; error: unknown }
  | { kind: "timeout" };

/** What {@linkcode createStreamExchange}'s function sends on a stream. */
export interface StreamRequest {
  /** Hex device token, for `:path`. */
  deviceToken: string;
  /** `apns-*` headers; the same object for every recipient of a message. */
  headers: Record<string, string>;
  /** JSON payload. */
  body: string;
  /** `bearer <jwt>`, or undefined for certificate auth. */
  authorization?: string;
}

/** Sends `req` on a new stream of `session`, cancelling it at `deadline` (epoch ms). */
export type StreamExchange = (
  session: http2.ClientHttp2Session,
  req: StreamRequest,
  deadline: number,
) => Promise<Exchange>;

const EMPTY = new Uint8Array(0);

/** Creates the exchange function of one transport; `sweep` watches every stream's deadline. */
export function createStreamExchange(sweep: DeadlineSweep): StreamExchange {
  // The header block is the same for every recipient of a message: it is built once per
  // (headers object, authorization) and only `:path` changes per request.
  let templates = new WeakMap<Record<string, string>, Map<string, http2.OutgoingHttpHeaders>>();
  let templateCount = 0;

  function template(req: StreamRequest): http2.OutgoingHttpHeaders {
    let byAuth = templates.get(req.headers);
    if (!byAuth) templates.set(req.headers, byAuth = new Map());
    const auth = req.authorization ?? "";
    let headers = byAuth.get(auth);
    if (!headers) {
      // Bounded: a long-lived transport sees a new token every ~50 minutes per credential.
      if (++templateCount > 1000) {
        templates = new WeakMap();
        templateCount = 1;
        templates.set(req.headers, byAuth = new Map());
      }
      headers = { ":method": "POST", ":path": "", ...req.headers };
      if (req.authorization) headers.authorization = req.authorization;
      byAuth.set(auth, headers);
    }
    return headers;
  }

  return (session, req, deadline) =>
    new Promise((resolve) => {
      let stream: http2.ClientHttp2Stream;
      const headers = template(req);
      headers[":path"] = `/3/device/${req.deviceToken}`;
      try {
        // request() copies the headers before returning, so the template can be reused.
        stream = session.request(headers);
      } catch (error) {
        return resolve({ kind: "retry", error });
      }
      let response: http2.IncomingHttpHeaders | undefined;
      const chunks: Uint8Array[] = [];
      let size = 0;
      let timedOut = false;
      const timer: Deadline = {
        deadline,
        expire() {
          timedOut = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        },
      };
      sweep.watch(timer);
      stream.on("response", (h) => (response = h));
      stream.on("data", (chunk: Uint8Array) => {
        // APNs' body is untrusted: keep at most MAX_ANSWER_BYTES of it.
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
        size += chunk.byteLength;
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        sweep.unwatch(timer);
        if (timedOut) return resolve({ kind: "timeout" });
        if (response && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) {
          const status = Number(response[":status"]);
          const body = chunks.length === 0
            ? EMPTY
            : chunks.length === 1
            ? chunks[0]
            : Buffer.concat(chunks);
          return resolve({ kind: "response", status, headers: response, body });
        }
        // No complete answer: refused, reset, GOAWAY'd or the connection died. APNs has not
        // accepted the notification, so another connection may carry it.
        resolve({ kind: "retry", error: new Error(`stream closed (rst ${stream.rstCode})`) });
      });
      stream.end(req.body);
    });
}
