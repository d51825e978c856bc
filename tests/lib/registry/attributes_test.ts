import { ValidationFailed } from "../../../lib/errors.ts";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { installationCodecLua } from "../../../lib/registry/mod.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { tokenOf, withRegistry } from "./_fixtures.ts";
import { assertRegistryInvariants, tokenEntry } from "./invariants.ts";

const prod = "production" as const;

Deno.test("update merges attributes (null removes a key) and refuses a merge past 50 keys, writing nothing", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const a = await registry.register(appId, {
      token: tokenOf(1),
      environment: prod,
      attributes: { appVersion: "1.0", plan: "pro", beta: true, build: 42 },
    });
    assertOk(a.created);
    const secret = a.installationSecret;
    const merged = await registry.update(appId, a.installationId, {
      secret,
      attributes: { appVersion: "1.1", beta: null, score: 0.5 },
    });
    assertEquals(merged.attributes, { appVersion: "1.1", plan: "pro", build: 42, score: 0.5 });
    const emptied = await registry.update(appId, a.installationId, {
      secret,
      attributes: { appVersion: null, plan: null, build: null, score: null },
    });
    assertEquals(emptied.attributes, {});

    const full = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    await registry.update(appId, a.installationId, { secret, attributes: full });
    const before = await t.redis.hgetall(registryKeys.installation(appId, a.installationId));
    const error = await assertRejects(
      () =>
        registry.update(appId, a.installationId, {
          secret,
          token: tokenOf(2),
          attributes: { one: "too many" },
        }),
      ValidationFailed,
    );
    assertEquals((error as ValidationFailed).details[0], {
      path: "attributes",
      message: "at most 50 attributes once merged (would be 51)",
      code: "too_big",
    });
    assertEquals(await t.redis.hgetall(registryKeys.installation(appId, a.installationId)), before);
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(2)), null);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("attribute values keep their type and text through the stored layout, Lua and TS alike", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const attributes = {
      timezone: "Europe/Berlin",
      quoted: 'a\\/b "q" \\',
      numeric: "12",
      truthy: "true",
      marked: "=1",
      empty: "",
      n: -2.5,
      big: 1e21,
      zero: 0,
      flag: false,
      on: true,
    };
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod, attributes });
    assertOk(a.created);
    assertEquals((await registry.get(appId, a.installationId))!.attributes, attributes);
    // A no-op PATCH makes the Lua side decode and re-encode every value: nothing may change.
    const raw = await t.redis.hgetall(registryKeys.installation(appId, a.installationId));
    const same = await registry.update(appId, a.installationId, {
      secret: a.installationSecret,
      attributes: { extra: 1 },
    });
    const { extra: _extra, ...rest } = same.attributes;
    assertEquals(rest, attributes);
    const after = await t.redis.hgetall<Record<string, string>>(
      registryKeys.installation(appId, a.installationId),
    );
    for (const [field, value] of Object.entries(raw!)) {
      if (field !== "ls") assertEquals(after![field], value, field);
    }
    // Layout v9: a string as itself, other values "=" + JSON, a custom key under ":".
    assertEquals(after!.Z, "Europe/Berlin");
    assertEquals(after![":numeric"], "12");
    assertEquals(after![":truthy"], "true");
    assertEquals(after![":extra"], "=1");
    assertEquals(after![":marked"], '="=1"');
  });
});

Deno.test("the codec's written-out reverse maps are the exact inverses of its field maps", async () => {
  await withRegistry(async ({ t }) => {
    const check = `
      local function inverse(fwd, rev)
        local n = 0
        for long, short in pairs(fwd) do
          if rev[short] ~= long then return long end
          n = n + 1
        end
        for _ in pairs(rev) do n = n - 1 end
        if n ~= 0 then return "size" end
        return "ok"
      end
      return { inverse(INST_SHORT, INST_LONG), inverse(INST_ATTR_SHORT, INST_ATTR_LONG),
        inverse(INST_ENV_SHORT, INST_ENV_LONG) }`;
    assertEquals(await t.redis.eval(`${installationCodecLua}\n${check}`, [], []), [
      "ok",
      "ok",
      "ok",
    ]);
  });
});

Deno.test("the codec's decode, copy and encode keep every stored field, whatever its value", async () => {
  // inst_decode and inst_copy name each field in one table constructor (fast in Lua 5.1), so a
  // field added to INST_SHORT but not to them would be dropped: this walks INST_SHORT itself.
  await withRegistry(async ({ t }) => {
    const check = `
      local flat = {}
      for long, short in pairs(INST_SHORT) do
        flat[#flat + 1] = short
        flat[#flat + 1] = (short == "e") and "d" or (short == "x") and "1" or ("v_" .. short)
      end
      flat[#flat + 1] = "A"; flat[#flat + 1] = "2.0"
      flat[#flat + 1] = ":custom"; flat[#flat + 1] = "=7"
      local decoded, raw = inst_decode(flat)
      local copied = inst_copy(decoded)
      local problems = {}
      for long, short in pairs(INST_SHORT) do
        if decoded[long] == nil then problems[#problems + 1] = "decode lost " .. long end
        if copied[long] ~= decoded[long] then problems[#problems + 1] = "copy lost " .. long end
      end
      if copied.attributes == decoded.attributes then problems[#problems + 1] = "attributes shared" end
      if copied.attributes.appVersion ~= "2.0" or copied.attributes.custom ~= 7 then
        problems[#problems + 1] = "copy lost an attribute"
      end
      for f, v in pairs(inst_encode(copied)) do
        if raw[f] ~= v then problems[#problems + 1] = "encode changed " .. f end
      end
      for f, v in pairs(raw) do
        if inst_encode(copied)[f] ~= v then problems[#problems + 1] = "encode dropped " .. f end
      end
      return problems`;
    assertEquals(await t.redis.eval(`${installationCodecLua}\n${check}`, [], []), []);
  });
});
