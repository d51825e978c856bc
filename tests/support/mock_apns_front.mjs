/**
 * The mock APNs' HTTP/2 front: the TLS + HTTP/2 servers (production and development ports) and
 * nothing else. Every complete request goes out as an event to the mock's state (mock_apns.ts),
 * which answers it with a directive; sessions opening and closing go out too, so the state can
 * mirror them. It holds no APNs logic.
 *
 * Plain JavaScript so that Node runs it (mock_apns_front_node.mjs): Deno's `node:http2` server
 * can abort inside nghttp2 when a client closes after heavy traffic (denoland/deno#36788), Node's
 * does not. Without Node, mock_apns_link.ts imports it into Deno and calls it directly.
 *
 * Events (to the state):
 *   {t:"open", session, env, authorized, cert?}  a connection; `cert`: the client's DER, base64
 *   {t:"close", session}                         it ended
 *   {t:"peak", peak}                             a new high of streams open on one connection
 *   {t:"req", n, session, stream, env, headers, body}  a complete request; `body` base64
 *   {t:"lost"}                                   a stream whose request never went out (the
 *                                                client reset it, or a GOAWAY refused it)
 *   {t:"dropped", id}                            `drop` done
 * Commands (from the state):
 *   {t:"res", n, status?, headers?, body?, delayMs?, goaway?, refuse?}  answer request n:
 *     after `delayMs`, GOAWAY (last stream id `goaway`, raised to the highest request already
 *     sent out: see goaway()) if set, then RST_STREAM(REFUSED_STREAM) if `refuse`, else
 *     respond `status` with `headers` and `body`
 *   {t:"goAwayAfter", n}   GOAWAY each connection at its n-th stream (null: never)
 *   {t:"drop", id}         TCP-reset every connection, then send `dropped`
 *
 * @module
 */
import http2 from "node:http2";
import { Buffer } from "node:buffer";

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
const END = { endStream: true };

/**
 * Starts both listeners. `config`: {key, cert, ca: string[], hostname, ports: {production,
 * development}, refuseUnknownClients, maxConcurrentStreams, goAwayAfter}. `emit(event)` gets
 * every event, in order. Resolves to {ports, command(cmd), close()}.
 *
 * @param {Record<string, any>} config
 * @param {(event: Record<string, unknown>) => void} emit
 */
export async function startFront(config, emit) {
  let goAwayAfter = config.goAwayAfter ?? null;
  let nextSession = 0;
  let nextRequest = 0;
  let peak = 0;
  /** @type {Map<number, any>} */
  const sessions = new Map();
  /** Streams whose request went out, waiting for their directive, by request number. */
  const waiting = new Map();
  const timers = new Set();

  function onSession(env, session) {
    const id = ++nextSession;
    const socket = session.socket;
    const raw = socket?.getPeerCertificate?.()?.raw;
    session.mock = { id, streams: 0, open: 0, forwarded: 0, goawayLast: undefined };
    sessions.set(id, session);
    emit({
      t: "open",
      session: id,
      env,
      authorized: socket?.authorized === true,
      cert: raw ? Buffer.from(raw).toString("base64") : undefined,
    });
    session.on("error", () => {});
    // From the session, not the server: by the time the event runs the stream may be gone, and
    // with it `stream.session`.
    session.on("stream", (stream, headers) => onStream(env, session, stream, headers));
    session.once("close", () => {
      sessions.delete(id);
      emit({ t: "close", session: id });
    });
  }

  /**
   * GOAWAY with last stream id `last`, raised to cover every request already with the state
   * (answered as usual), at most once per connection. nghttp2 still hands over streams the
   * client sent before the GOAWAY went out; those above `last` are refused here, as the client
   * (which retries them elsewhere) expects: an answer would be a second delivery.
   */
  function goaway(session, last) {
    const counters = session.mock;
    if (counters.goawayLast !== undefined) return;
    counters.goawayLast = Math.max(last, counters.forwarded);
    session.goaway(NGHTTP2_NO_ERROR, counters.goawayLast);
  }

  function onStream(env, session, stream, raw) {
    // First: a stream can be destroyed, and say so with an 'error', before this event runs.
    stream.on("error", () => {});
    // Already reset when the event runs (seen for streams above a GOAWAY): nothing to answer.
    if (stream.destroyed) return emit({ t: "lost" });
    const counters = session.mock;
    counters.streams++;
    counters.open++;
    if (counters.open > peak) {
      peak = counters.open;
      emit({ t: "peak", peak });
    }
    const n = ++nextRequest;
    let sent = false;
    stream.once("close", () => {
      counters.open--;
      waiting.delete(n);
      if (stream.mockTimer) {
        clearTimeout(stream.mockTimer);
        timers.delete(stream.mockTimer);
      }
      if (!sent) emit({ t: "lost" });
    });
    if (counters.goawayLast !== undefined && stream.id > counters.goawayLast) {
      return void stream.close(NGHTTP2_REFUSED_STREAM);
    }
    const stats = raw[":path"] === "/_mock/stats" && raw[":method"] === "GET";
    if (!stats && goAwayAfter !== null && counters.streams === goAwayAfter) {
      // Streams after this one that the client already sent are refused by the GOAWAY and must
      // be retried on a new connection; this one is still answered.
      goaway(session, stream.id);
    }
    const headers = {};
    for (const k in raw) if (typeof raw[k] === "string") headers[k] = raw[k];
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => {
      // A client killed mid-request leaves no socket and nobody to answer.
      if (!session.socket || stream.destroyed) return;
      if (counters.goawayLast !== undefined && stream.id > counters.goawayLast) {
        return void stream.close(NGHTTP2_REFUSED_STREAM);
      }
      sent = true;
      counters.forwarded = Math.max(counters.forwarded, stream.id);
      waiting.set(n, { stream, session });
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      emit({
        t: "req",
        n,
        session: counters.id,
        stream: stream.id,
        env,
        headers,
        body: body.toString("base64"),
      });
    });
  }

  function answer(session, stream, d) {
    if (stream.destroyed || stream.closed) return;
    if (d.goaway !== undefined && d.goaway !== null) goaway(session, d.goaway);
    if (d.refuse) return stream.close(NGHTTP2_REFUSED_STREAM);
    // Headers alone (a 200) end the stream without the writable side: cheaper by a fifth.
    if (d.body === undefined) return stream.respond({ ":status": d.status, ...d.headers }, END);
    stream.respond({ ":status": d.status, ...d.headers });
    stream.end(d.body);
  }

  /** A TCP reset, as a crashed peer's kernel sends, not an orderly close. */
  function reset(session) {
    const tls = session.socket;
    // Node's TLS socket sits on the TCP socket it wraps (`_parent`), which alone can reset.
    for (const socket of [tls?._parent, tls]) {
      try {
        if (socket?.resetAndDestroy) return void socket.resetAndDestroy();
      } catch {
        // Not a TCP handle: try the next.
      }
    }
    session.destroy();
  }

  function command(cmd) {
    if (cmd.t === "res") {
      const request = waiting.get(cmd.n);
      if (!request) return;
      waiting.delete(cmd.n);
      const { stream, session } = request;
      if (!cmd.delayMs) return answer(session, stream, cmd);
      const timer = setTimeout(() => {
        timers.delete(timer);
        stream.mockTimer = undefined;
        answer(session, stream, cmd);
      }, cmd.delayMs);
      stream.mockTimer = timer;
      timers.add(timer);
    } else if (cmd.t === "goAwayAfter") {
      goAwayAfter = cmd.n ?? null;
    } else if (cmd.t === "drop") {
      for (const session of sessions.values()) reset(session);
      emit({ t: "dropped", id: cmd.id });
    }
  }

  async function listen(env, port) {
    const server = http2.createSecureServer({
      key: config.key,
      cert: config.cert,
      ca: config.ca,
      allowHTTP1: false,
      requestCert: true,
      rejectUnauthorized: config.refuseUnknownClients === true,
      settings: { maxConcurrentStreams: config.maxConcurrentStreams },
    });
    server.on("session", (session) => onSession(env, session));
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, config.hostname, () => {
        server.off("error", reject);
        resolve(undefined);
      });
    });
    return server;
  }

  const production = await listen("production", config.ports.production);
  let development;
  try {
    development = await listen("development", config.ports.development);
  } catch (error) {
    await new Promise((resolve) => production.close(resolve));
    throw error;
  }
  const servers = { production, development };
  return {
    ports: {
      production: servers.production.address().port,
      development: servers.development.address().port,
    },
    command,
    /** Stops both listeners and ends every connection. */
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = Object.values(servers).map((s) => new Promise((r) => s.close(r)));
      for (const session of sessions.values()) session.destroy();
      await Promise.all(closed);
    },
  };
}
