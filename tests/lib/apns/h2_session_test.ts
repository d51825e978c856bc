/**
 * edgepush's HTTP/2 client session (lib/apns/h2/session.ts) against a scripted server over real
 * TLS, for what the mock APNs (a Node HTTP/2 server) never does on its own: answers split over
 * CONTINUATION and padded frames, a tiny flow-control window, a PING from the server, a GOAWAY
 * naming a last stream, and malformed frames. Everything else (GOAWAY by count, resets, 429,
 * timeouts, PINGs, client certificates) runs against the mock in transport_test.ts and its
 * neighbours.
 */
import { assertEquals, assertOk } from "../../support/assert.ts";
import { createTestCa, type TestCa } from "../../support/test_ca.ts";
import { waitFor } from "../../support/redis_server.ts";
import { H2Session, type StreamEnd } from "../../../lib/apns/h2/session.ts";

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Uint8Array;
}

/** The server side of one connection: frames in, frames out. */
interface Peer {
  frames: Frame[];
  send(type: number, flags: number, id: number, payload: Uint8Array | number[]): Promise<void>;
  /** Resolves with the next frame of `type` (after those already seen by this call site). */
  next(type: number, from?: number): Promise<Frame>;
  closed: boolean;
}

function frameBytes(type: number, flags: number, id: number, payload: Uint8Array | number[]) {
  const p = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const f = new Uint8Array(9 + p.length);
  f[0] = p.length >> 16;
  f[1] = (p.length >> 8) & 255;
  f[2] = p.length & 255;
  f[3] = type;
  f[4] = flags;
  new DataView(f.buffer).setUint32(5, id);
  f.set(p, 9);
  return f;
}

/** A TLS server speaking raw frames; `script` runs per connection. */
function scriptedServer(ca: TestCa, script: (peer: Peer) => Promise<void>) {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: ca.server.certPem,
    key: ca.server.keyPem,
    alpnProtocols: ["h2"],
  });
  const tasks: Promise<void>[] = [];
  (async () => {
    for await (const conn of listener) {
      tasks.push((async () => {
        const peer: Peer = {
          frames: [],
          closed: false,
          async send(type, flags, id, payload) {
            const bytes = frameBytes(type, flags, id, payload);
            let at = 0;
            while (at < bytes.length) at += await conn.write(bytes.subarray(at));
          },
          async next(type, from = 0) {
            let found: Frame | undefined;
            await waitFor(() => {
              found = peer.frames.slice(from).find((f) => f.type === type);
              return found !== undefined || peer.closed;
            }, { what: `frame type ${type}`, timeoutMs: 5_000 });
            if (!found) throw new Error(`connection closed before frame type ${type}`);
            return found;
          },
        };
        const reading = (async () => {
          let buf = new Uint8Array(0);
          const chunk = new Uint8Array(65_536);
          let prefaceSeen = false;
          try {
            while (true) {
              const n = await conn.read(chunk);
              if (n === null) break;
              const joined = new Uint8Array(buf.length + n);
              joined.set(buf);
              joined.set(chunk.subarray(0, n), buf.length);
              buf = joined;
              if (!prefaceSeen) {
                if (buf.length < 24) continue;
                buf = buf.slice(24);
                prefaceSeen = true;
              }
              while (buf.length >= 9) {
                const len = (buf[0] << 16) | (buf[1] << 8) | buf[2];
                if (buf.length < 9 + len) break;
                peer.frames.push({
                  type: buf[3],
                  flags: buf[4],
                  id: new DataView(buf.buffer, buf.byteOffset).getUint32(5) & 0x7fffffff,
                  payload: buf.slice(9, 9 + len),
                });
                buf = buf.slice(9 + len);
              }
            }
          } catch { /* reset by the client */ }
          peer.closed = true;
        })();
        try {
          await script(peer);
        } finally {
          await waitFor(() => peer.closed, { what: "the client to close", timeoutMs: 5_000 })
            .catch(() => {});
          try {
            conn.close();
          } catch { /* closed */ }
          await reading;
        }
      })());
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await Promise.allSettled(tasks);
    },
  };
}

/** An empty SETTINGS, then `extra` settings. */
function settings(extra: Array<[number, number]> = []): number[] {
  const out: number[] = [];
  for (const [key, value] of extra) {
    out.push(
      key >> 8,
      key & 255,
      value >>> 24,
      (value >> 16) & 255,
      (value >> 8) & 255,
      value & 255,
    );
  }
  return out;
}

const literal = (name: string, value: string) => {
  const n = new TextEncoder().encode(name);
  const v = new TextEncoder().encode(value);
  return [0x00, n.length, ...n, v.length, ...v];
};

function request(session: H2Session, body = '{"aps":{}}'): Promise<StreamEnd> {
  return new Promise((resolve) =>
    session.request(
      [["apns-topic", "com.example"]],
      `/3/device/${"ab".repeat(32)}`,
      new TextEncoder().encode(body),
      resolve,
    )
  );
}

async function withServer(
  script: (peer: Peer) => Promise<void>,
  test: (s: H2Session) => Promise<void>,
) {
  const ca = await createTestCa();
  const server = scriptedServer(ca, script);
  const session = new H2Session({ hostname: "127.0.0.1", port: server.port, caCerts: [ca.caPem] });
  try {
    await test(session);
  } finally {
    session.destroy();
    await server.close();
    await ca.cleanup();
  }
}

Deno.test("h2 session reads an answer split over padded HEADERS, CONTINUATION and padded DATA", async () => {
  await withServer(async (peer) => {
    await peer.send(4, 0, 0, settings());
    const headers = await peer.next(1);
    await peer.next(0); // the body
    const block = [0x88, ...literal("apns-id", "0C4A4D26-8F0B-4B0B-9E1D-1B2C3D4E5F60")];
    // PADDED | PRIORITY, without END_HEADERS: 2 bytes of padding, 5 of priority.
    await peer.send(1, 0x08 | 0x20, headers.id, [2, 0, 0, 0, 0, 16, ...block.slice(0, 5), 0, 0]);
    await peer.send(9, 0x04, headers.id, block.slice(5));
    const body = new TextEncoder().encode('{"reason":"BadDeviceToken"}');
    await peer.send(0, 0x08 | 0x01, headers.id, [3, ...body, 0, 0, 0]);
  }, async (session) => {
    const end = await request(session);
    assertEquals(end.kind, "response");
    if (end.kind !== "response") return;
    assertEquals(end.status, 200);
    assertEquals(end.headers["apns-id"], "0C4A4D26-8F0B-4B0B-9E1D-1B2C3D4E5F60");
    assertEquals(new TextDecoder().decode(end.body), '{"reason":"BadDeviceToken"}');
  });
});

Deno.test("h2 session reads a header block whole in one padded HEADERS, and its table entry later", async () => {
  const apnsId = "5D0A3F3C-1E2B-4C5D-8E9F-0A1B2C3D4E5F";
  const indexed = (name: string, value: string) => [0x40, ...literal(name, value).slice(1)];
  await withServer(async (peer) => {
    await peer.send(4, 0, 0, settings());
    const first = await peer.next(1);
    await peer.next(0, peer.frames.indexOf(first));
    // PADDED | PRIORITY | END_HEADERS | END_STREAM; apns-id enters the dynamic table.
    const block = [0x88, ...indexed("apns-id", apnsId)];
    await peer.send(1, 0x08 | 0x20 | 0x04 | 0x01, first.id, [3, 0, 0, 0, 0, 16, ...block, 0, 0, 0]);
    const second = await peer.next(1, peer.frames.indexOf(first) + 1);
    await peer.next(0, peer.frames.indexOf(second));
    // The same value by its table index (62), read long after the first frame's bytes.
    await peer.send(1, 0x04 | 0x01, second.id, [0x88, 0xbe]);
  }, async (session) => {
    for (const end of [await request(session), await request(session)]) {
      assertEquals(end.kind, "response");
      if (end.kind !== "response") return;
      assertEquals(end.status, 200);
      assertEquals(end.headers["apns-id"], apnsId);
    }
  });
});

Deno.test("h2 session sends a body through a 10-byte stream window as the server opens it", async () => {
  const body = JSON.stringify({ aps: { alert: "x".repeat(95) } });
  let received = "";
  await withServer(async (peer) => {
    await peer.send(4, 0, 0, settings([[4, 10]])); // SETTINGS_INITIAL_WINDOW_SIZE = 10
    const headers = await peer.next(1);
    let seen = 0;
    while (true) {
      const data = peer.frames.slice(seen).find((f) => f.type === 0);
      if (!data) {
        await peer.next(0, seen);
        continue;
      }
      seen = peer.frames.indexOf(data) + 1;
      assertOk(data.payload.length <= 10, `a ${data.payload.length}-byte DATA frame`);
      received += new TextDecoder().decode(data.payload);
      if (data.flags & 1) break;
      await peer.send(8, 0, headers.id, [0, 0, 0, data.payload.length]);
    }
    await peer.send(1, 0x04 | 0x01, headers.id, [0x88]);
  }, async (session) => {
    const end = await request(session, body);
    assertEquals(end.kind, "response");
    assertEquals(received, body);
  });
});

Deno.test("h2 session answers the server's PING with the same payload", async () => {
  let ack: Frame | undefined;
  await withServer(async (peer) => {
    await peer.send(4, 0, 0, settings());
    await peer.send(6, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]);
    ack = await peer.next(6);
    const headers = await peer.next(1);
    await peer.send(1, 0x05, headers.id, [0x88]);
  }, async (session) => {
    assertEquals((await request(session)).kind, "response");
    assertEquals(ack?.flags, 1);
    assertEquals([...ack!.payload], [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

Deno.test("h2 session: a GOAWAY ends streams above its last id unprocessed, finishes the rest, then closes", async () => {
  await withServer(async (peer) => {
    await peer.send(4, 0, 0, settings());
    await waitFor(() => peer.frames.filter((f) => f.type === 1).length === 3, {
      what: "three requests",
    });
    const ids = peer.frames.filter((f) => f.type === 1).map((f) => f.id);
    await peer.send(7, 0, 0, [0, 0, 0, ids[0], 0, 0, 0, 0]); // last stream: the first
    await peer.send(1, 0x05, ids[0], [0x88]);
  }, async (session) => {
    const gone = new Promise<void>((resolve) => (session.onGone = resolve));
    const ends = await Promise.all([request(session), request(session), request(session)]);
    await gone;
    assertEquals(ends.map((e) => e.kind), ["response", "retry", "retry"]);
    assertOk(session.closed);
    await waitFor(() => session.destroyed, { what: "the session to close" });
  });
});

function attackFrame(type: number, flags: number, id: number, payload: Uint8Array | number[]) {
  return { type, flags, id, payload };
}

for (
  const [what, code, attack] of [
    ["a header block that does not decode", 9, (id: number) => attackFrame(1, 0x05, id, [0x80])],
    [
      "a PUSH_PROMISE (push is off)",
      1,
      (id: number) => attackFrame(5, 0x04, id, [0, 0, 0, 2, 0x88]),
    ],
    [
      "a frame over the size we allow",
      6,
      (id: number) => attackFrame(0, 0, id, new Uint8Array(20_000)),
    ],
  ] as const
) {
  Deno.test(`h2 session treats ${what} as a connection error: GOAWAY ${code}, streams cut off`, async () => {
    let goaway: Frame | undefined;
    await withServer(async (peer) => {
      await peer.send(4, 0, 0, settings());
      const headers = await peer.next(1);
      const { type, flags, id, payload } = attack(headers.id);
      await peer.send(type, flags, id, payload);
      goaway = await peer.next(7);
    }, async (session) => {
      const end = await request(session);
      assertEquals(end.kind, "retry");
      await waitFor(() => session.destroyed && goaway !== undefined, { what: "the GOAWAY" });
      assertEquals(new DataView(goaway!.payload.buffer).getUint32(4), code);
    });
  });
}

Deno.test("h2 session: a server that is not HTTP/2 (no h2 in ALPN) ends the request, unsettled", async () => {
  const ca = await createTestCa();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: ca.server.certPem,
    key: ca.server.keyPem,
    alpnProtocols: ["http/1.1"],
  });
  const accepted = (async () => {
    for await (const conn of listener) {
      await conn.handshake().catch(() => {});
      await conn.read(new Uint8Array(1024)).catch(() => null);
      conn.close();
    }
  })();
  try {
    const session = new H2Session({
      hostname: "127.0.0.1",
      port: listener.addr.port,
      caCerts: [ca.caPem],
    });
    const end = await request(session);
    assertEquals(end.kind, "retry");
    assertOk(!session.settled && session.destroyed);
  } finally {
    listener.close();
    await accepted.catch(() => {});
    await ca.cleanup();
  }
});
