/**
 * The transport's idle-connection care, against the mock APNs through a TCP relay the test can
 * freeze (as a NAT that silently dropped the connection would): an idle connection is PINGed and
 * kept while APNs answers, replaced when a PING goes unanswered, and closed by us after
 * `idleCloseMs`, the next push opening a fresh one.
 */
import { createTransport, type TransportOptions } from "../../../lib/apns/transport.ts";
import { assertEquals } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { waitFor } from "../../support/redis_server.ts";

const AUTH = `bearer ${btoa('{"alg":"ES256","kid":"K"}')}.${
  btoa(`{"iss":"T","iat":${Math.floor(Date.now() / 1000)}}`)
}.c2ln`;
const HEADERS = { "apns-push-type": "alert", "apns-topic": "com.example", "apns-priority": "10" };

/** A TCP relay to `target`; `freeze()` stops forwarding on the connections open now. */
function startRelay(target: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<{ frozen: boolean; close(): void }>();
  const counters = { toServer: 0, connections: 0 };
  (async () => {
    for await (const client of listener) {
      counters.connections++;
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      const pair = {
        frozen: false,
        close() {
          for (const c of [client, server]) {
            try {
              c.close();
            } catch { /* closed */ }
          }
        },
      };
      open.add(pair);
      const pump = async (from: Deno.Conn, to: Deno.Conn, count: boolean) => {
        const buffer = new Uint8Array(16 * 1024);
        try {
          while (true) {
            const n = await from.read(buffer);
            if (n === null) break;
            if (pair.frozen) continue; // swallowed, as by a dead NAT mapping
            if (count) counters.toServer += n;
            await to.write(buffer.subarray(0, n));
          }
        } catch { /* closed */ }
        pair.close();
        open.delete(pair);
      };
      pump(client, server, true);
      pump(server, client, false);
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    counters,
    open,
    freeze: () => open.forEach((p) => (p.frozen = true)),
    close() {
      listener.close();
      open.forEach((p) => p.close());
    },
  };
}

async function setup(options: TransportOptions) {
  const mock = await startMockApns({ acceptUnknownKeys: true });
  const relay = startRelay(Number(mock.hosts.production.split(":")[1]));
  const transport = createTransport({
    hosts: { production: `127.0.0.1:${relay.port}` },
    caPem: mock.caPem,
    ...options,
  });
  let n = 0;
  const send = () =>
    transport.send({
      environment: "production",
      deviceToken: (++n).toString(16).padStart(64, "0"),
      headers: HEADERS,
      body: '{"aps":{"alert":"hi"}}',
      credential: { kind: "token", id: "T" },
      authorization: AUTH,
    });
  return {
    mock,
    relay,
    transport,
    send,
    async [Symbol.asyncDispose]() {
      await transport.close();
      relay.close();
      await mock.close();
    },
  };
}

Deno.test("transport PINGs an idle connection and keeps using it while APNs answers", async () => {
  await using t = await setup({ pingAfterMs: 100, idleCloseMs: 0 });
  assertEquals((await t.send()).status, 200);
  const before = t.relay.counters.toServer;
  await waitFor(() => t.relay.counters.toServer > before, { what: "a PING after 100 ms idle" });
  assertEquals((await t.send()).status, 200);
  assertEquals(t.transport.stats.connectionsOpened, 1);
  assertEquals(t.transport.stats.pingFailed, 0);
});

Deno.test("transport replaces a connection whose PING goes unanswered", async () => {
  await using t = await setup({ pingAfterMs: 100, pingTimeoutMs: 200, idleCloseMs: 0 });
  assertEquals((await t.send()).status, 200);
  t.relay.freeze();
  await waitFor(() => t.transport.stats.pingFailed === 1, { what: "the unanswered PING" });
  assertEquals((await t.send()).status, 200);
  assertEquals(t.transport.stats.connectionsOpened, 2);
  assertEquals(t.mock.stats.accepted, 2);
});

Deno.test("transport closes a connection idle for idleCloseMs; the next push opens a fresh one", async () => {
  await using t = await setup({ pingAfterMs: 0, idleCloseMs: 300 });
  assertEquals((await t.send()).status, 200);
  await waitFor(() => t.transport.stats.idleClosed === 1, { what: "the idle close" });
  await waitFor(() => t.relay.open.size === 0, { what: "the connection to go away" });
  assertEquals((await t.send()).status, 200);
  assertEquals(t.transport.stats.connectionsOpened, 2);
  assertEquals(t.mock.stats.sessions, 2);
});

Deno.test("transport keeps a busy connection: no PING or idle close while requests flow", async () => {
  await using t = await setup({ pingAfterMs: 200, idleCloseMs: 400 });
  const until = Date.now() + 900;
  while (Date.now() < until) assertEquals((await t.send()).status, 200);
  assertEquals(t.transport.stats.idleClosed, 0);
  assertEquals(t.transport.stats.connectionsOpened, 1);
});
