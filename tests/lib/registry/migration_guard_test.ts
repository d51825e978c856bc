import {
  appsAwaitingMigration,
  createRegistry,
  migrateRegistry,
} from "../../../lib/registry/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { createV1Writer } from "../../support/registry_v1/mod.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { manualClock, tokenOf } from "./_fixtures.ts";

const OLD = "app_0000000000000000000000o1";
const NEW = "app_0000000000000000000000n1";
const EMPTY = "app_0000000000000000000000e1";

Deno.test("appsAwaitingMigration names the apps an older layout wrote, until they are migrated", async () => {
  const t = await startTestRedis();
  try {
    const clock = manualClock();
    const v1 = createV1Writer(t.redis, clock.now);
    await v1.register(OLD, { token: tokenOf(1), environment: "production", attributes: {} });
    const registry = createRegistry({ redis: t.redis, now: clock.now });
    await registry.register(NEW, { token: tokenOf(2), environment: "production" });
    assertEquals(await appsAwaitingMigration(t.redis, [OLD, NEW, EMPTY]), [OLD]);
    await migrateRegistry({ redis: t.redis, appIds: [OLD], now: clock.now });
    assertEquals(await appsAwaitingMigration(t.redis, [OLD, NEW, EMPTY]), []);
  } finally {
    await t.stop();
  }
});
