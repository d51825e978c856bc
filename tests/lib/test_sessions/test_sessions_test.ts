import {
  CODE_ALPHABET,
  CODE_LENGTH,
  createTestSessions,
  deepLinkFor,
  generateCode,
  renderQrSvg,
  TestSessionExpired,
  TestSessionFull,
  TestSessionNotFound,
  UrlSchemeMissing,
} from "../../../lib/test_sessions/mod.ts";
import { testSessionKeys } from "../../../lib/test_sessions/_keys.ts";
import { NotFound } from "../../../lib/errors.ts";
import {
  assertEquals,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "../../support/assert.ts";
import { startTestRedis, waitFor } from "../../support/redis_server.ts";

const APP = { appId: "app_0123456789abcdef01234567", urlScheme: "exampleapp" };
const OTHER = "app_fedcba9876543210fedcba98";

Deno.test("generateCode draws 12 symbols of the 32-symbol alphabet, never repeating", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const code = generateCode();
    assertEquals(code.length, CODE_LENGTH);
    assertOk([...code].every((ch) => CODE_ALPHABET.includes(ch)), code);
    seen.add(code);
  }
  assertEquals(seen.size, 2_000);
  assertEquals(new Set(CODE_ALPHABET).size, 32);
});

Deno.test("deepLinkFor builds <scheme>://edgepush/test-session?code=<code>", () => {
  assertEquals(
    deepLinkFor("myapp", "ABCDEFGHJKMN"),
    "myapp://edgepush/test-session?code=ABCDEFGHJKMN",
  );
});

Deno.test("renderQrSvg renders an SVG document", async () => {
  const svg = await renderQrSvg("myapp://edgepush/test-session?code=ABCDEFGHJKMN");
  assertOk(svg.startsWith("<svg"), svg.slice(0, 40));
  assertStringIncludes(svg, "</svg>");
});

Deno.test("test sessions: create, bind, get, expiry and tombstone", async (t) => {
  const testRedis = await startTestRedis();
  let clock = 1_700_000_000_000;
  const sessions = createTestSessions({ redis: testRedis.redis, now: () => clock, maxDevices: 2 });
  try {
    await t.step("create refuses an app without urlScheme", async () => {
      await assertRejects(() => sessions.create({ ...APP, urlScheme: null }), UrlSchemeMissing);
    });

    await t.step("create stores the session with a 10-minute Redis TTL", async () => {
      const created = await sessions.create(APP);
      assertEquals(created.expiresAt, new Date(clock + 600_000).toISOString());
      assertEquals(created.deepLink, `exampleapp://edgepush/test-session?code=${created.code}`);
      const ttl = await testRedis.redis.pttl(testSessionKeys.session(APP.appId, created.code));
      assertOk(ttl > 590_000 && ttl <= 600_000, String(ttl));
      const tomb = await testRedis.redis.pttl(testSessionKeys.tombstone(APP.appId, created.code));
      assertOk(tomb > 600_000, String(tomb));
    });

    await t.step("bind adds devices once each, in order, up to the limit", async () => {
      const { code } = await sessions.create(APP);
      await sessions.bind(APP.appId, code, "inst_a");
      clock += 1;
      await sessions.bind(APP.appId, code, "inst_b");
      const again = await sessions.bind(APP.appId, code, "inst_a");
      assertEquals(again.installationIds, ["inst_a", "inst_b"]);
      await assertRejects(() => sessions.bind(APP.appId, code, "inst_c"), TestSessionFull);
    });

    await t.step("a code is invisible to another app", async () => {
      const { code } = await sessions.create(APP);
      await assertRejects(() => sessions.get(OTHER, code), TestSessionNotFound);
      await assertRejects(() => sessions.bind(OTHER, code, "inst_a"), TestSessionNotFound);
    });

    await t.step("an unknown code is 404, an expired one 410 (by clock)", async () => {
      await assertRejects(() => sessions.get(APP.appId, "0000000000AA"), TestSessionNotFound);
      const { code } = await sessions.create(APP);
      clock += 600_000;
      await assertRejects(() => sessions.get(APP.appId, code), TestSessionExpired);
      await assertRejects(() => sessions.bind(APP.appId, code, "inst_a"), TestSessionExpired);
    });

    await t.step("after Redis expires the session the tombstone still answers 410", async () => {
      const short = createTestSessions({ redis: testRedis.redis, ttlMs: 30 });
      const { code } = await short.create(APP);
      await waitFor(
        async () => (await testRedis.redis.exists(testSessionKeys.session(APP.appId, code))) === 0,
        { what: "the session key to expire" },
      );
      await assertRejects(() => short.get(APP.appId, code), TestSessionExpired);
      await assertRejects(() => short.bind(APP.appId, code, "inst_a"), TestSessionExpired);
    });

    await t.step("describe lists devices and skips deleted installations", async () => {
      const { code } = await sessions.create(APP);
      await sessions.bind(APP.appId, code, "inst_a");
      await sessions.bind(APP.appId, code, "inst_gone");
      const view = await sessions.describe(APP.appId, code, (_appId, id) => {
        if (id === "inst_gone") return Promise.reject(new NotFound());
        return Promise.resolve({
          installationId: id,
          environment: "development",
          attributes: { deviceModel: "iPhone15,2", osVersion: "17.4" },
        });
      });
      assertEquals(view.devices, [{
        installationId: "inst_a",
        deviceModel: "iPhone15,2",
        osVersion: "17.4",
        environment: "development",
      }]);
    });

    await t.step("preview sends to the bound installations only", async () => {
      const { code } = await sessions.create(APP);
      assertEquals(
        await sessions.preview(APP.appId, code, {}, () => {
          throw new Error("nothing to send to");
        }),
        [],
      );
      await sessions.bind(APP.appId, code, "inst_a");
      const results = await sessions.preview(
        APP.appId,
        code,
        { notification: { title: "hi" } },
        (appId, ids) => {
          assertEquals(appId, APP.appId);
          return Promise.resolve(ids.map((id) => ({ installationId: id, status: "accepted" })));
        },
      );
      assertEquals(results, [{ installationId: "inst_a", status: "accepted" }]);
    });
  } finally {
    await testRedis.stop();
  }
});
