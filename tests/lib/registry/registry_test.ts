import IORedis from "ioredis";
import {
  createRegistry,
  InstallationNotFound,
  InvalidInstallationSecret,
  storedSecretHash,
} from "../../../lib/registry/mod.ts";
import { registryKeys, tokenIndexSlot } from "../../../lib/registry/_keys.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { startTestRedis, waitFor } from "../../support/redis_server.ts";
import { tokenOf, withRegistry } from "./_fixtures.ts";
import { assertRegistryInvariants, inAppReach, seenWeeks, tokenEntry } from "./invariants.ts";

const prod = "production" as const;

Deno.test("register creates an installation with a hashed secret and every index", async () => {
  await withRegistry(async ({ t, registry, appId, clock }) => {
    const r = await registry.register(appId, {
      token: tokenOf(1),
      environment: prod,
      userId: "u1",
      attributes: { appVersion: "1.2.0", beta: true },
    });
    assertOk(r.created);
    assertEquals(r.installationSecret.length, 43); // 32 bytes base64url
    const raw = await t.redis.hgetall<Record<string, string>>(
      registryKeys.installation(appId, r.installationId),
    );
    assertOk(!JSON.stringify(raw).includes(r.installationSecret), "secret stored in clear");
    // The first 128 bits of the SHA-256 in base64url (layout v9), no id, a listpack-sized hash.
    assertEquals(raw!.s, storedSecretHash(r.installationSecret));
    assertEquals(raw!.s.length, 22);
    assertEquals(raw!.id, undefined);
    assertEquals(
      await t.redis.eval("return redis.call('OBJECT', 'ENCODING', KEYS[1])", [
        registryKeys.installation(appId, r.installationId),
      ], []),
      "listpack",
    );
    const inst = (await registry.get(appId, r.installationId))!;
    assertEquals(inst.status, "active");
    assertEquals(inst.token, tokenOf(1));
    assertEquals(inst.userId, "u1");
    assertEquals(inst.pushAuthorization, "authorized");
    assertEquals(inst.attributes, { appVersion: "1.2.0", beta: true });
    assertEquals(inst.registeredAt, new Date(clock.now()).toISOString());
    assertOk(registry.isReachable(inst));
    assertOk(await registry.verifySecret(appId, r.installationId, r.installationSecret));
    assertOk(!(await registry.verifySecret(appId, r.installationId, "wrong")));
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("register and update are one Redis round trip each (one FCALL)", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    // The first call loads the function library (a miss, FUNCTION LOAD, the call again): warm up.
    const warm = await registry.register(appId, { token: tokenOf(1), environment: prod });
    assertOk(warm.created);
    await registry.update(appId, warm.installationId, { secret: warm.installationSecret });
    const io = new IORedis.default(t.url);
    const monitor = await io.monitor();
    const seen: string[] = [];
    // MONITOR reports commands run inside a script with source "lua"; count only the client's.
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (source !== "lua") seen.push(String(args[0]).toLowerCase());
    });
    try {
      const marker = async (name: string) => {
        await io.echo(name);
        await waitFor(() => seen.includes("echo"), { what: "monitor marker" });
        seen.length = 0;
      };
      await marker("start");
      const r = await registry.register(appId, { token: tokenOf(2), environment: prod });
      assertOk(r.created);
      await registry.update(appId, r.installationId, {
        secret: r.installationSecret,
        pushAuthorization: "provisional",
      });
      await io.echo("end");
      await waitFor(() => seen.includes("echo"), { what: "monitor marker" });
      assertEquals(seen, ["fcall", "fcall", "echo"]);
    } finally {
      monitor.disconnect();
      io.disconnect();
    }
  });
});

Deno.test("register refreshes with a valid secret and restores without one", async () => {
  await withRegistry(async ({ t, registry, appId, clock }) => {
    const first = await registry.register(appId, { token: tokenOf(1), environment: prod });
    assertOk(first.created);
    const key = registryKeys.installation(appId, first.installationId);
    clock.advance(1000);
    const refreshed = await registry.register(appId, {
      installationId: first.installationId,
      secret: first.installationSecret,
      token: tokenOf(1),
      environment: prod,
    });
    assertEquals(refreshed.created, false);
    assertEquals(refreshed.installationId, first.installationId);
    assertEquals(
      (await registry.get(appId, first.installationId))!.registeredAt,
      new Date(clock.now()).toISOString(),
    );
    const original = await t.redis.hgetall(key);
    for (const secret of [undefined, "wrong-secret", first.installationSecret.slice(1)]) {
      clock.advance(1000);
      const restored = await registry.register(appId, {
        installationId: first.installationId,
        secret,
        token: tokenOf(2),
        environment: prod,
      });
      assertOk(restored.created);
      assertEquals(restored.reason, "restored");
      assertOk(restored.installationId !== first.installationId);
      assertEquals(await t.redis.hgetall(key), original, "the named installation is untouched");
    }
    const unknown = await registry.register(appId, {
      installationId: "in_unknown",
      secret: "x",
      token: tokenOf(3),
      environment: prod,
    });
    assertOk(unknown.created && unknown.reason === "restored");
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("register moves a reused token and marks the old holder replaced", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    const b = await registry.register(appId, { token: tokenOf(1), environment: prod });
    const old = (await registry.get(appId, a.installationId))!;
    assertEquals(old.status, "replaced");
    assertEquals(old.statusReason, "token_reused");
    assertEquals(old.token, null);
    assertEquals(old.userId, "u", "the replaced holder keeps its user binding");
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(1)), b.installationId);
    const insts = await assertRegistryInvariants(t.redis, appId);
    assertEquals(insts.size, 2);
  });
});

Deno.test("update rotates the token, unindexing the old one", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod });
    assertOk(a.created);
    const updated = await registry.update(appId, a.installationId, {
      secret: a.installationSecret,
      token: tokenOf(2),
      environment: "development",
      attributes: { locale: "de_DE" },
    });
    assertEquals(updated.token, tokenOf(2));
    assertEquals(updated.environment, "development");
    assertEquals(updated.attributes, { locale: "de_DE" });
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(1)), null);
    assertEquals(
      await inAppReach(t.redis, appId, "development", a.installationId),
      1,
    );
    assertEquals(await inAppReach(t.redis, appId, prod, a.installationId), 0);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("SDK scripts refuse a missing or wrong secret and an unknown id, writing nothing", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod });
    const id = a.installationId;
    const key = registryKeys.installation(appId, id);
    const before = await t.redis.hgetall(key);
    for (const secret of [null, "", "nope"]) {
      await assertRejects(
        () => registry.update(appId, id, { secret, token: tokenOf(9) }),
        InvalidInstallationSecret,
      );
      await assertRejects(() => registry.remove(appId, id, { secret }), InvalidInstallationSecret);
      await assertRejects(
        () => registry.bindUser(appId, id, { secret, userId: "x" }),
        InvalidInstallationSecret,
      );
      await assertRejects(
        () => registry.unbindUser(appId, id, { secret }),
        InvalidInstallationSecret,
      );
    }
    await assertRejects(
      () => registry.remove(appId, "in_none", { secret: "x" }),
      InstallationNotFound,
    );
    assertEquals(await t.redis.hgetall(key), before);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("pushAuthorization denied leaves the reachable set and comes back when allowed", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const r = await registry.register(appId, {
      token: tokenOf(1),
      environment: prod,
      pushAuthorization: "denied",
    });
    assertOk(r.created);
    assertEquals(await inAppReach(t.redis, appId, prod, r.installationId), 0);
    await assertRegistryInvariants(t.redis, appId);
    await registry.update(appId, r.installationId, {
      secret: r.installationSecret,
      pushAuthorization: "provisional",
    });
    assertEquals(await inAppReach(t.redis, appId, prod, r.installationId), 1);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("register clears the stale flag set by the daily job", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const r = await registry.register(appId, { token: tokenOf(1), environment: prod });
    assertOk(r.created);
    const key = registryKeys.installation(appId, r.installationId);
    await t.redis.hset(key, { x: "1" });
    const n = Number(await t.redis.hget(key, "n"));
    await t.redis.setbit(registryKeys.reachable(appId, prod), n, 0);
    assertOk(!registry.isReachable((await registry.get(appId, r.installationId))!));
    await assertRegistryInvariants(t.redis, appId);
    await registry.register(appId, {
      installationId: r.installationId,
      secret: r.installationSecret,
      token: tokenOf(1),
      environment: prod,
    });
    assertEquals(await t.redis.hget(key, "x"), null);
    assertEquals(await inAppReach(t.redis, appId, prod, r.installationId), 1);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("remove marks deleted, unindexes token and user; the secret re-registers it", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const r = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    assertOk(r.created);
    const gone = await registry.remove(appId, r.installationId, { secret: r.installationSecret });
    assertEquals(gone.status, "deleted");
    assertEquals(gone.statusReason, "sdk_delete");
    assertEquals(gone.token, null);
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(1)), null);
    assertEquals((await seenWeeks(t.redis, appId)).has(r.installationId), false);
    await assertRegistryInvariants(t.redis, appId);
    const again = await registry.remove(appId, r.installationId, { secret: r.installationSecret });
    assertEquals(again.status, "deleted");
    const back = await registry.register(appId, {
      installationId: r.installationId,
      secret: r.installationSecret,
      token: tokenOf(1),
      environment: prod,
    });
    assertEquals(back.created, false);
    assertEquals(back.created ? "created" : back.status, "active");
    assertEquals((await registry.get(appId, r.installationId))!.status, "active");
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("markUnregistered applies only after registeredAt and for the held token", async () => {
  await withRegistry(async ({ t, registry, appId, clock }) => {
    const r = await registry.register(appId, { token: tokenOf(1), environment: prod });
    const registeredAt = clock.now();
    clock.advance(5000);
    assertEquals(
      await registry.markUnregistered(appId, r.installationId, tokenOf(1), registeredAt),
      false,
    );
    assertEquals(
      await registry.markUnregistered(appId, r.installationId, tokenOf(1), registeredAt - 1),
      false,
    );
    assertEquals(
      await registry.markUnregistered(appId, r.installationId, tokenOf(2), registeredAt + 1),
      false,
    );
    assertEquals(
      await registry.markUnregistered(appId, "in_none", tokenOf(1), registeredAt + 1),
      false,
    );
    assertEquals((await registry.get(appId, r.installationId))!.status, "active");
    assertEquals(
      await registry.markUnregistered(appId, r.installationId, tokenOf(1), registeredAt + 1),
      true,
    );
    const inst = (await registry.get(appId, r.installationId))!;
    assertEquals(inst.status, "unregistered");
    assertEquals(inst.statusReason, "Unregistered");
    assertEquals(inst.token, tokenOf(1), "the token stays indexed");
    assertEquals(await inAppReach(t.redis, appId, prod, r.installationId), 0);
    await assertRegistryInvariants(t.redis, appId);
    // A reinstall that reuses the token replaces the unregistered holder.
    const again = await registry.register(appId, { token: tokenOf(1), environment: prod });
    assertEquals((await registry.get(appId, r.installationId))!.status, "replaced");
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(1)), again.installationId);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("correctEnvironment moves reach sets; markBadToken takes it out", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const r = await registry.register(appId, { token: tokenOf(1), environment: prod });
    const id = r.installationId;
    assertEquals(await registry.correctEnvironment(appId, id, tokenOf(2), "development"), false);
    assertEquals(await registry.correctEnvironment(appId, id, tokenOf(1), "production"), false);
    assertEquals(await registry.correctEnvironment(appId, id, tokenOf(1), "development"), true);
    assertEquals((await registry.get(appId, id))!.environment, "development");
    assertEquals(await inAppReach(t.redis, appId, "development", id), 1);
    assertEquals(await inAppReach(t.redis, appId, prod, id), 0);
    await assertRegistryInvariants(t.redis, appId);
    assertEquals(await registry.markBadToken(appId, id, tokenOf(2), "BadDeviceToken"), false);
    assertEquals(await registry.markBadToken(appId, id, tokenOf(1), "BadDeviceToken"), true);
    const inst = (await registry.get(appId, id))!;
    assertEquals([inst.status, inst.statusReason], ["bad_token", "BadDeviceToken"]);
    assertEquals(await registry.markBadToken(appId, id, tokenOf(1), "BadDeviceToken"), false);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("getMany keeps order and answers null for unknown ids", async () => {
  await withRegistry(async ({ registry, appId }) => {
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod });
    const b = await registry.register(appId, { token: tokenOf(2), environment: prod });
    const got = await registry.getMany(appId, [b.installationId, "in_none", a.installationId]);
    assertEquals(got.map((i) => i?.installationId ?? null), [
      b.installationId,
      null,
      a.installationId,
    ]);
    assertEquals(await registry.getMany(appId, []), []);
    assertEquals(await registry.get("app_000000000000000000000002", a.installationId), null);
  });
});

Deno.test("200 concurrent registrations racing for one token and one installation keep the invariants", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    // 200 new installations claim the same token at once.
    const racers = await Promise.all(
      Array.from(
        { length: 200 },
        () => registry.register(appId, { token: tokenOf(7), environment: prod, userId: "racer" }),
      ),
    );
    const insts = await assertRegistryInvariants(t.redis, appId);
    assertEquals(insts.size, 200);
    const active = [...insts.values()].filter((h) => h.status === "active");
    assertEquals(active.length, 1, "exactly one installation holds the token");
    assertEquals([...insts.values()].filter((h) => h.status === "replaced").length, 199);
    assertOk(racers.some((r) => r.installationId === active[0].id));
    assertEquals((await registry.userInstallations(appId, "racer")).length, 100, "user cap");

    // 200 refreshes of one installation, each with its own token, plus 200 updates.
    const owner = await registry.register(appId, { token: tokenOf(8), environment: prod });
    assertOk(owner.created);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0
          ? registry.register(appId, {
            installationId: owner.installationId,
            secret: owner.installationSecret,
            token: tokenOf(1000 + i),
            environment: i % 4 === 0 ? prod : "development",
            userId: `user${i % 3}`,
          })
          : registry.update(appId, owner.installationId, {
            secret: owner.installationSecret,
            token: tokenOf(1000 + i),
            pushAuthorization: i % 3 === 0 ? "denied" : "authorized",
          })),
    );
    const final = await assertRegistryInvariants(t.redis, appId);
    const ownerHash = final.get(owner.installationId)!;
    assertEquals(ownerHash.status, "active");
    const buckets =
      (await t.redis.scan("0", { match: `${registryKeys.prefix(appId)}tk:*`, count: 10_000 }))[1];
    let entries = 0;
    for (const bucket of buckets) entries += Number(await t.redis.hlen(String(bucket)));
    assertEquals(entries, 2, "only the two live tokens stay indexed");
  });
});

Deno.test("register draws another id when the new one exists, leaving that installation untouched", async () => {
  const t = await startTestRedis();
  try {
    const ids = ["in_same", "in_same", "in_same", "in_other"];
    const registry = createRegistry({ redis: t.redis, newInstallationId: () => ids.shift()! });
    const appId = "app_00000000000000000000coll";
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    const b = await registry.register(appId, { token: tokenOf(2), environment: prod });
    assertEquals([a.installationId, b.installationId], ["in_same", "in_other"]);
    const first = (await registry.get(appId, "in_same"))!;
    assertEquals([first.token, first.userId], [tokenOf(1), "u"]);
    assertOk(a.created && (await registry.verifySecret(appId, "in_same", a.installationSecret)));
    await assertRegistryInvariants(t.redis, appId);
    // By default ids are short: in_ + 16 hex digits.
    const plain = createRegistry({ redis: t.redis });
    const c = await plain.register(appId, { token: tokenOf(3), environment: prod });
    assertOk(/^in_[0-9a-f]{16}$/.test(c.installationId), c.installationId);
  } finally {
    await t.stop();
  }
});

Deno.test("the recency index finds installations by lastSeenAt across weeks, and a refresh moves them", async () => {
  await withRegistry(async ({ t, registry, clock, appId }) => {
    const day = 86_400_000;
    const seen = async (after: number, until: number) => {
      const out: string[] = [];
      await registry.scanSeen(
        appId,
        { after, until },
        (ids) => Promise.resolve(void out.push(...ids)),
      );
      return out.sort();
    };
    const made = [];
    for (let i = 0; i < 6; i++) {
      made.push(await registry.register(appId, { token: tokenOf(i + 1), environment: prod }));
      clock.advance(3 * day); // six installations over 18 days: three weeks
    }
    const ids = made.map((m) => m.installationId);
    const start = clock.now() - 18 * day;
    assertEquals(await seen(-Infinity, clock.now()), [...ids].sort());
    // The range is exact, not the weeks': (start + 3 days, start + 9 days] holds #1 and #2 only.
    assertEquals(await seen(start + 3 * day, start + 9 * day), [ids[2], ids[3]].sort());
    assertEquals((await registry.summary(appId)).total, 6);

    // A refresh in a later week moves #0 to it; a deleted installation leaves the index.
    const first = made[0];
    assertOk(first.created);
    await registry.register(appId, {
      installationId: first.installationId,
      secret: first.installationSecret,
      token: tokenOf(1),
      environment: prod,
    });
    const last = made[5];
    assertOk(last.created);
    await registry.remove(appId, last.installationId, { secret: last.installationSecret });
    assertEquals(await seen(-Infinity, start + 6 * day), [ids[1], ids[2]].sort());
    assertEquals(await seen(clock.now() - 1, clock.now()), [ids[0]]);
    assertEquals((await registry.summary(appId)).total, 5);
    await assertRegistryInvariants(t.redis, appId);

    // A bit left behind in an old week (as a crash between two writes never leaves, but a
    // reader must not trust) is filtered out by the stored lastSeenAt: the staleness pass does
    // not mark a fresh installation.
    const n = Number(await t.redis.hget(registryKeys.installation(appId, ids[0]), "n"));
    await t.redis.setbit(registryKeys.seenWeek(appId, Math.floor(start / (7 * day))), n, 1);
    assertEquals(await seen(-Infinity, start + 6 * day), [ids[1], ids[2]].sort());
    assertEquals(await registry.markStale(appId, start + 6 * day, [ids[0]]), 0);
  });
});

Deno.test("a token entry shared with another id keeps it through a token move", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const x = await registry.register(appId, { token: tokenOf(1), environment: prod });
    // Another token hashing to the same entry (80 bits: never seen in practice) is simulated
    // by an id written into the entry ahead of x's.
    const { bucket, field } = tokenIndexSlot(tokenOf(1));
    const entry = registryKeys.tokenBucket(appId, bucket);
    await t.redis.hset(entry, { [field]: `in_other ${x.installationId}` });
    // A new device takes the token: x is replaced, the entry keeps the other id beside the new one.
    const y = await registry.register(appId, { token: tokenOf(1), environment: prod });
    assertEquals((await registry.get(appId, x.installationId))!.status, "replaced");
    assertEquals(await t.redis.hget(entry, field), `in_other ${y.installationId}`);
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(1)), y.installationId);
  });
});
