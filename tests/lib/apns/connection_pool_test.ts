import { createConnectionPools } from "../../../lib/apns/connection_pool.ts";
import { DeadlineSweep } from "../../../lib/deadline_sweep.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { waitFor } from "../../support/redis_server.ts";

const credential = { kind: "token" as const, id: "T" };

async function setup() {
  const mock = await startMockApns({ acceptUnknownKeys: true });
  const sweep = new DeadlineSweep(10);
  const pools = createConnectionPools({
    connections: 1,
    maxStreams: 1,
    caFor: () => [mock.caPem],
    now: Date.now,
    stats: { connectionsOpened: 0 },
    sweep,
  });
  const host = mock.hosts.production;
  return {
    pools,
    host,
    pool: pools.poolFor(host, credential),
    async [Symbol.asyncDispose]() {
      sweep.stop();
      await pools.close();
      await mock.close();
    },
  };
}

Deno.test("a request waiting for a stream gets none after its deadline", async () => {
  await using t = await setup();
  const taken = t.pools.pick(t.pool, t.host, credential);
  assertOk(taken, "the only stream");
  const started = Date.now();
  const waited = await t.pools.acquire(t.pool, t.host, credential, started + 100);
  assertEquals(waited, undefined);
  assertOk(Date.now() - started >= 100, "gave up before its deadline");
  t.pools.release(t.pool, taken);
});

Deno.test("a freed stream goes to a request still waiting, not to one that gave up", async () => {
  await using t = await setup();
  const taken = t.pools.pick(t.pool, t.host, credential)!;
  // The server's SETTINGS wake every waiter: let them come first.
  await waitFor(() => taken.settled, { what: "the connection's SETTINGS" });
  const gaveUp = t.pools.acquire(t.pool, t.host, credential, Date.now() + 50);
  const started = Date.now();
  // A deadline far enough away that being woken only by it would show.
  const waiting = t.pools.acquire(t.pool, t.host, credential, started + 30_000);
  assertEquals(await gaveUp, undefined);
  t.pools.release(t.pool, taken);
  const conn = await waiting;
  assertOk(conn, "the waiting request got the stream");
  assertOk(Date.now() - started < 10_000, "woken by the release, not by its own deadline");
  assertEquals(conn.inflight, 1);
  t.pools.release(t.pool, conn);
});

Deno.test("closing the pools wakes every waiting request empty-handed", async () => {
  await using t = await setup();
  t.pools.pick(t.pool, t.host, credential);
  const waiting = t.pools.acquire(t.pool, t.host, credential, Date.now() + 30_000);
  await t.pools.close();
  assertEquals(await waiting, undefined);
});
