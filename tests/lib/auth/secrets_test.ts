import { createHash } from "node:crypto";
import { randomId, randomSecret } from "../../../lib/auth/secrets.ts";
import { storedSecretHash } from "../../../lib/registry/mod.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";

Deno.test("randomSecret and randomId give fresh values of the stated form across pool refills", () => {
  const seen = new Set<string>();
  // 2,000 draws of 32 + 8 bytes run through the 4 KiB pool about twenty times.
  for (let i = 0; i < 2_000; i++) {
    const secret = randomSecret(32);
    const id = randomId(8);
    assertOk(/^[A-Za-z0-9_-]{43}$/.test(secret), secret);
    assertOk(/^[0-9a-f]{16}$/.test(id), id);
    seen.add(secret).add(id);
  }
  assertEquals(seen.size, 4_000, "a value repeated: pool bytes were handed out twice");
  // Larger than the pool: drawn on their own.
  assertEquals(randomSecret(5_000).length, Math.ceil(5_000 * 4 / 3));
  assertEquals(randomId(12).length, 24);
});

Deno.test("storedSecretHash is the first 128 bits of the SHA-256, base64url", () => {
  // Known answers (Python's hashlib): ASCII, empty and non-ASCII input.
  assertEquals(storedSecretHash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
  assertEquals(storedSecretHash(""), "47DEQpj8HBSa-_TImW-5JA");
  assertEquals(storedSecretHash("é日本😀"), "wEFYm-qNUtDPxcyQf253MQ");
  for (let i = 0; i < 500; i++) {
    const secret = randomSecret(32);
    const reference = createHash("sha256").update(secret).digest().subarray(0, 16)
      .toString("base64url");
    assertEquals(storedSecretHash(secret), reference);
  }
});
