import { ApnsCredentialError } from "../../../lib/apns/credential_error.ts";
import {
  createSharedTokenSource,
  importApnsKey,
  signProviderToken,
} from "../../../lib/apns/jwt.ts";
import { validateApnsKey } from "../../../lib/apps/apns_key.ts";
import { ValidationFailed } from "../../../lib/errors.ts";
import { assertEquals, assertNotEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { generateApnsKey } from "../../support/mock_apns_keys.ts";
import { startTestRedis } from "../../support/redis_server.ts";

const MIN = 60_000;
const T0 = Date.UTC(2030, 0, 1);

function decode(part: string): Record<string, unknown> {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
}

Deno.test("signProviderToken writes ES256 header/claims and a raw r||s signature that verifies", async () => {
  const key = await generateApnsKey();
  const jwt = await signProviderToken(await importApnsKey(key.privateKeyPem), {
    teamId: "TEAM",
    keyId: "KID",
    iat: 1700000000,
  });
  const [h, c, s] = jwt.split(".");
  assertEquals(decode(h), { alg: "ES256", kid: "KID" });
  assertEquals(decode(c), { iss: "TEAM", iat: 1700000000 });
  const sig = Uint8Array.from(
    atob(s.replace(/-/g, "+").replace(/_/g, "/")),
    (x) => x.charCodeAt(0),
  );
  assertEquals(sig.byteLength, 64);
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key.publicKey,
    sig,
    new TextEncoder().encode(`${h}.${c}`),
  );
  assertOk(ok);
});

Deno.test("validateApnsKey accepts a P-256 .p8 and explains what is wrong otherwise", async () => {
  await validateApnsKey((await generateApnsKey()).privateKeyPem);
  const refused = await assertRejects(() => validateApnsKey("hello"), ValidationFailed);
  assertOk(refused.message.startsWith("apns.privateKey: "), refused.message);
  assertOk(refused.message.includes("BEGIN PRIVATE KEY"), refused.message);
  assertEquals(
    ((refused as ValidationFailed).details[0] as { path: string }).path,
    "apns.privateKey",
  );
  await assertRejects(
    () => validateApnsKey("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"),
    ValidationFailed,
    "SEC1",
  );
  const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
  ]);
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", p384.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${
    btoa(String.fromCharCode(...der))
  }\n-----END PRIVATE KEY-----`;
  await assertRejects(() => validateApnsKey(pem), ValidationFailed, "P-256");
});

Deno.test("createSharedTokenSource: concurrent instances sharing Redis mint once per window", async () => {
  const r = await startTestRedis();
  try {
    const key = await generateApnsKey();
    const cred = { teamId: "TEAMSHARE1", keyId: "KEYSHARE01", privateKeyPem: key.privateKeyPem };
    let now = T0;
    const sources = Array.from(
      { length: 5 },
      () => createSharedTokenSource(r.redis, cred, { now: () => now }),
    );
    const tokens = await Promise.all(sources.flatMap((s) => [s.current(), s.current()]));
    assertEquals(new Set(tokens).size, 1);
    assertEquals(sources.reduce((n, s) => n + s.mints, 0), 1);
    // 49:59 later: still the same token, nothing minted.
    now = T0 + 49 * MIN + 59_000;
    assertEquals(new Set(await Promise.all(sources.map((s) => s.current()))), new Set(tokens));
    // 50:00: refreshed, once across all instances.
    now = T0 + 50 * MIN;
    const refreshed = await Promise.all(sources.map((s) => s.current()));
    assertEquals(new Set(refreshed).size, 1);
    assertNotEquals(refreshed[0], tokens[0]);
    assertEquals(sources.reduce((n, s) => n + s.mints, 0), 2);
  } finally {
    await r.stop();
  }
});

Deno.test("createSharedTokenSource never uses a token at 55:00 even if it is still in Redis", async () => {
  const r = await startTestRedis();
  try {
    const key = await generateApnsKey();
    const cred = { teamId: "TEAMAGE001", keyId: "KEYAGE0001", privateKeyPem: key.privateKeyPem };
    let now = T0;
    // Refresh disabled (refreshAfter > maxAge) to isolate the 55-minute rule.
    const a = createSharedTokenSource(r.redis, cred, { now: () => now, refreshAfterMs: 99 * MIN });
    const first = await a.current();
    const ttl = await r.redis.pttl(`ep:v1:jwt:{TEAMAGE001}:KEYAGE0001`);
    assertOk(ttl > 54 * MIN && ttl <= 55 * MIN, `ttl ${ttl}`);
    now = T0 + 54 * MIN + 59_000;
    const b = createSharedTokenSource(r.redis, cred, { now: () => now, refreshAfterMs: 99 * MIN });
    assertEquals(await b.current(), first);
    now = T0 + 55 * MIN;
    const c = createSharedTokenSource(r.redis, cred, { now: () => now, refreshAfterMs: 99 * MIN });
    assertNotEquals(await c.current(), first);
    assertEquals(c.mints, 1);
  } finally {
    await r.stop();
  }
});

Deno.test("refreshAfterExpired mints at 20:00 but reports clock skew at 19:59 and mints nothing", async () => {
  const r = await startTestRedis();
  try {
    const key = await generateApnsKey();
    const cred = { teamId: "TEAMSKEW01", keyId: "KEYSKEW001", privateKeyPem: key.privateKeyPem };
    let now = T0;
    const a = createSharedTokenSource(r.redis, cred, { now: () => now });
    const b = createSharedTokenSource(r.redis, cred, { now: () => now });
    const stale = await a.current();
    now = T0 + 19 * MIN + 59_000;
    const error = await assertRejects(() => a.refreshAfterExpired(stale), ApnsCredentialError);
    assertEquals((error as ApnsCredentialError).reason, "ClockSkew");
    assertEquals(a.mints + b.mints, 1);
    now = T0 + 20 * MIN;
    const [fresh, fromB] = await Promise.all([
      a.refreshAfterExpired(stale),
      b.refreshAfterExpired(stale),
    ]);
    assertNotEquals(fresh, stale);
    assertEquals(fromB, fresh);
    assertEquals(a.mints + b.mints, 2);
    // A late ExpiredProviderToken for the old token gets the new one, without minting.
    assertEquals(await b.refreshAfterExpired(stale), fresh);
    assertEquals(a.mints + b.mints, 2);
  } finally {
    await r.stop();
  }
});

Deno.test("cached() gives without a promise the token current() would, and nothing once it needs a refresh", async () => {
  const r = await startTestRedis();
  try {
    const key = await generateApnsKey();
    const cred = { teamId: "TEAMPEEK01", keyId: "KEYPEEK001", privateKeyPem: key.privateKeyPem };
    let now = T0;
    const source = createSharedTokenSource(r.redis, cred, { now: () => now });
    assertEquals(source.cached(), undefined);
    const first = await source.current();
    assertEquals(source.cached(), first);
    now = T0 + 49 * MIN + 59_000;
    assertEquals(source.cached(), first);
    // At 50 minutes current() refreshes (mints, or takes a newer shared token): cached() defers.
    now = T0 + 50 * MIN;
    assertEquals(source.cached(), undefined);
    const second = await source.current();
    assertNotEquals(second, first);
    assertEquals(source.cached(), second);
  } finally {
    await r.stop();
  }
});
