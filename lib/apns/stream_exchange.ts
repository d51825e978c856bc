/**
 * One notification on one HTTP/2 stream: sends the request, collects APNs' answer and says
 * whether the stream ended with an answer, was cut off before one (so another connection may
 * carry the notification), or outlived its deadline. Retrying, pooling and reading the answer
 * are the transport's.
 *
 * @module
 */
import type { Deadline, DeadlineSweep } from "../deadline_sweep.ts";
import type { HeaderList } from "./h2/hpack.ts";
import type { H2Session, StreamEnd } from "./h2/session.ts";

/** What one stream ended with. */
export type Exchange = StreamEnd | { kind: "timeout" };

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
  session: H2Session,
  req: StreamRequest,
  deadline: number,
) => Promise<Exchange>;

const encoder = new TextEncoder();

/** Creates the exchange function of one transport; `sweep` watches every stream's deadline. */
export function createStreamExchange(sweep: DeadlineSweep): StreamExchange {
  // The fixed headers are the same for every recipient of a message: listed once per (headers
  // object, authorization), and only `:path` changes per request.
  let lists = new WeakMap<Record<string, string>, Map<string, HeaderList>>();
  let listCount = 0;
  // The body too: one message's recipients follow each other.
  let lastBody = "";
  let lastBytes = new Uint8Array(0);

  function fixedHeaders(req: StreamRequest): HeaderList {
    let byAuth = lists.get(req.headers);
    if (!byAuth) lists.set(req.headers, byAuth = new Map());
    const auth = req.authorization ?? "";
    let found = byAuth.get(auth);
    if (!found) {
      // Bounded: a long-lived transport sees a new token every ~50 minutes per credential.
      if (++listCount > 1000) {
        lists = new WeakMap();
        listCount = 1;
        lists.set(req.headers, byAuth = new Map());
      }
      const fixed: Array<[string, string]> = Object.entries(req.headers)
        .map(([name, value]) => [name.toLowerCase(), String(value)]);
      if (req.authorization) fixed.push(["authorization", req.authorization]);
      byAuth.set(auth, found = fixed);
    }
    return found;
  }

  return (session, req, deadline) =>
    new Promise((resolve) => {
      if (req.body !== lastBody) {
        lastBody = req.body;
        lastBytes = encoder.encode(req.body);
      }
      let settled = false;
      let handle: { cancel(): void };
      const timer: Deadline = {
        deadline,
        expire() {
          if (settled) return;
          settled = true;
          handle?.cancel();
          resolve({ kind: "timeout" });
        },
      };
      try {
        handle = session.request(
          fixedHeaders(req),
          `/3/device/${req.deviceToken}`,
          lastBytes,
          (end) => {
            if (settled) return;
            settled = true;
            sweep.unwatch(timer);
            resolve(end);
          },
        );
      } catch (error) {
        return resolve({ kind: "retry", error: error as Error });
      }
      if (!settled) sweep.watch(timer);
    });
}
