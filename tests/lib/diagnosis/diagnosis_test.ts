/**
 * lib/diagnosis against in-memory stand-ins for the services it reads (it only reads): each
 * check's verdict and advice for the situations support meets.
 *
 * @module
 */
import type { AppRecord } from "../../../lib/apps/mod.ts";
import { createDiagnosis, type DiagnosisData } from "../../../lib/diagnosis/mod.ts";
import { NotFound } from "../../../lib/errors.ts";
import type { Installation } from "../../../lib/registry/mod.ts";
import { SegmentNotFound, type SegmentViewData } from "../../../lib/segments/mod.ts";
import type { SendViewData } from "../../../lib/sends/mod.ts";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";

const NOW = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

const baseApp: AppRecord = {
  appId: "app_000000000000000000000001",
  name: "Shop",
  bundleId: "com.example.shop",
  urlScheme: null,
  requireUserSignature: false,
  appKey: "ak",
  serverKeyHash: "h",
  apns: { teamId: "TEAM123456", keyId: "KEY1234567", sealedKey: "x" },
  certificate: null,
  sealedUserSigningSecret: null,
  credentialError: null,
  createdAt: "",
  updatedAt: "",
};

const baseInstallation: Installation = {
  installationId: "in_1",
  appId: baseApp.appId,
  token: "ab".repeat(32),
  environment: "production",
  userId: "u1",
  pushAuthorization: "authorized",
  attributes: { locale: "fr_FR" },
  status: "active",
  statusReason: null,
  statusAt: null,
  registeredAt: new Date(NOW - 3 * DAY).toISOString(),
  lastSeenAt: new Date(NOW - 2 * DAY).toISOString(),
  stale: false,
};

const segment: SegmentViewData = {
  segmentId: "fr",
  name: "French",
  rule: { all: [{ attribute: "locale", op: "eq", value: "fr_FR" }] },
  users: 1,
  reachable: { production: 1, development: 0 },
  syncedAt: null,
  report: null,
};

function diagnose(
  opts: {
    app?: Partial<AppRecord>;
    inst?: Partial<Installation>;
    membership?: { member: boolean; reachable: boolean };
    history?: Array<"accepted" | "failed_or_skipped" | "pending">;
  } = {},
  segmentId?: string,
): Promise<DiagnosisData> {
  const app = { ...baseApp, ...opts.app };
  const inst = { ...baseInstallation, ...opts.inst };
  const service = createDiagnosis({
    apps: { get: () => Promise.resolve(app) },
    registry: {
      get: (_appId, id) => Promise.resolve(id === inst.installationId ? inst : null),
      userInstallations: () => Promise.resolve([inst]),
    },
    segments: {
      get: (_appId, id) =>
        id === "fr" ? Promise.resolve(segment) : Promise.reject(new SegmentNotFound(id)),
      membership: () => Promise.resolve(opts.membership ?? { member: true, reachable: true }),
    },
    sends: {
      recipientHistory: () =>
        Promise.resolve((opts.history ?? []).map((outcome, i) => ({
          send: {
            sendId: `snd_${i}`,
            createdAt: new Date(NOW - i * DAY).toISOString(),
          } as SendViewData,
          outcome,
        }))),
    },
    now: () => NOW,
  });
  return service.installation(app.appId, inst.installationId, { segmentId });
}

const check = (d: DiagnosisData, name: string) => d.checks.find((c) => c.check === name)!;

Deno.test("diagnosis passes a healthy installation with every check", async () => {
  const d = await diagnose({ history: ["accepted"] });
  assertEquals(d.ok, true);
  assertEquals(d.checks.map((c) => c.check), [
    "credential_for_environment",
    "credential_valid",
    "token_active",
    "notifications_allowed",
    "recently_seen",
    "recent_sends",
  ]);
  assertStringIncludes(check(d, "recent_sends").message, "accepted by APNs");
});

Deno.test("diagnosis: a development-only certificate does not cover a production device", async () => {
  const d = await diagnose({
    app: {
      apns: null,
      certificate: {
        sealed: "x",
        summary: {
          subject: "Apple Push Services: com.example.shop",
          environments: ["development"],
          topics: ["com.example.shop"],
          notBefore: new Date(NOW - DAY).toISOString(),
          expiresAt: new Date(NOW + 100 * DAY).toISOString(),
          fingerprint: "f",
        },
      },
    },
  });
  assertEquals(check(d, "credential_for_environment").ok, false);
  assertStringIncludes(check(d, "credential_for_environment").message, "Sandbox & Production");
});

Deno.test("diagnosis: a refused credential, a stale and a never-asked installation", async () => {
  const d = await diagnose({
    app: { credentialError: { reason: "InvalidProviderToken", message: "bad key", at: "t" } },
    inst: {
      stale: true,
      lastSeenAt: new Date(NOW - 300 * DAY).toISOString(),
      pushAuthorization: "notDetermined",
    },
  });
  assertEquals(check(d, "credential_valid").ok, false);
  assertStringIncludes(check(d, "credential_valid").message, "InvalidProviderToken");
  assertEquals(check(d, "recently_seen").ok, false);
  assertStringIncludes(check(d, "recently_seen").message, "300 days ago");
  assertEquals(check(d, "notifications_allowed").ok, true);
  assertStringIncludes(check(d, "notifications_allowed").message, "notDetermined");
});

Deno.test("diagnosis explains why an installation is not in a segment", async () => {
  const anonymous = await diagnose(
    { inst: { userId: null }, membership: { member: false, reachable: false } },
    "fr",
  );
  assertStringIncludes(check(anonymous, "segment_membership").message, "no user bound");
  const outsider = await diagnose({ membership: { member: false, reachable: false } }, "fr");
  assertStringIncludes(check(outsider, "segment_membership").message, "not a member");
  const german = await diagnose(
    { inst: { attributes: { locale: "de_DE" } }, membership: { member: true, reachable: false } },
    "fr",
  );
  assertStringIncludes(check(german, "segment_membership").message, "rule");
  const inside = await diagnose({}, "fr");
  assertEquals(check(inside, "segment_membership").ok, true);
  const unknown = await diagnose({}, "nope");
  assertStringIncludes(check(unknown, "segment_membership").message, "no segment");
});

Deno.test("diagnosis reads the latest send that targeted the installation first", async () => {
  const failed = await diagnose({ history: ["failed_or_skipped", "accepted"] });
  assertEquals(check(failed, "recent_sends").ok, false);
  assertStringIncludes(check(failed, "recent_sends").message, "2 of the last 20");
  const pending = await diagnose({ history: ["pending"] });
  assertEquals(check(pending, "recent_sends").ok, true);
  assertStringIncludes(check(pending, "recent_sends").message, "still being sent");
  const none = await diagnose({ history: [] });
  assertStringIncludes(check(none, "recent_sends").message, "None of the app's last 20 sends");
});

Deno.test("diagnosis of an unknown installation is a NotFound", async () => {
  const service = createDiagnosis({
    apps: { get: () => Promise.resolve(baseApp) },
    registry: { get: () => Promise.resolve(null), userInstallations: () => Promise.resolve([]) },
    segments: {
      get: () => Promise.reject(new Error("unused")),
      membership: () => Promise.reject(new Error("unused")),
    },
    sends: { recipientHistory: () => Promise.resolve([]) },
  });
  let thrown: unknown;
  await service.installation(baseApp.appId, "in_x").catch((e) => thrown = e);
  assertEquals(thrown instanceof NotFound, true);
});
