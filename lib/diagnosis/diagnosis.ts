/**
 * The diagnosis of one installation: reads the app, the installation, a segment and the recent
 * sends through their owners' functions and turns each finding into a check with a sentence a
 * marketer can act on. It writes nothing.
 *
 * ```ts
 * const diagnosis = createDiagnosis(services);
 * const result = await diagnosis.installation(appId, installationId, { segmentId: "vip" });
 * ```
 *
 * @module
 */
import type { AppRecord, Apps } from "../apps/mod.ts";
import { type Installation, InstallationNotFound, type Registry } from "../registry/mod.ts";
import { matchesRule, SegmentNotFound, type Segments } from "../segments/mod.ts";
import type { Sends } from "../sends/mod.ts";
import type { CheckName, DiagnosisCheckData, DiagnosisData } from "./schemas.ts";

/** What {@linkcode createDiagnosis} reads through. */
export interface DiagnosisOptions {
  apps: Pick<Apps, "get">;
  registry: Pick<Registry, "get" | "userInstallations">;
  segments: Pick<Segments, "get" | "membership">;
  sends: Pick<Sends, "recipientHistory">;
  /** Clock in epoch ms. Default: `Date.now`. */
  now?: () => number;
}

/** Options of one diagnosis. */
export interface DiagnoseOptions {
  /** Also check membership of this segment. Default: none (the check is skipped). */
  segmentId?: string;
  /** How many of the app's latest sends to look through. Default: 20. */
  sendLimit?: number;
}

/** The diagnosis service. */
export type DiagnosisService = ReturnType<typeof createDiagnosis>;

const DAY_MS = 86_400_000;

/** Creates the diagnosis service. */
export function createDiagnosis(options: DiagnosisOptions) {
  const now = options.now ?? Date.now;

  async function diagnose(
    app: AppRecord,
    inst: Installation,
    opts: DiagnoseOptions,
  ): Promise<DiagnosisData> {
    const checks: DiagnosisCheckData[] = [
      credentialForEnvironment(app, inst),
      credentialValid(app, now()),
      tokenActive(inst),
      notificationsAllowed(inst),
      recentlySeen(inst, now()),
    ];
    if (opts.segmentId) checks.push(await segmentMembership(app.appId, inst, opts.segmentId));
    checks.push(await recentSends(app.appId, inst, opts.sendLimit ?? 20));
    return { installationId: inst.installationId, ok: checks.every((c) => c.ok), checks };
  }

  async function segmentMembership(
    appId: string,
    inst: Installation,
    segmentId: string,
  ): Promise<DiagnosisCheckData> {
    let segment;
    try {
      segment = await options.segments.get(appId, segmentId);
    } catch (error) {
      if (!(error instanceof SegmentNotFound)) throw error;
      return check(
        "segment_membership",
        false,
        `There is no segment "${segmentId}": check the id.`,
      );
    }
    const where = await options.segments.membership(appId, segmentId, inst);
    const label = `segment "${segment.name}"`;
    const synced = segment.syncedAt ? ` (last full sync ${segment.syncedAt})` : "";
    if (where.reachable) {
      return check(
        "segment_membership",
        true,
        `The installation is in ${label} for ${inst.environment}${synced}; segment sends reach it.`,
      );
    }
    if (!inst.userId) {
      return check(
        "segment_membership",
        false,
        `The installation has no user bound, so it cannot be in ${label}: the app must bind the ` +
          "logged-in user (PUT …/user) before segment sends can reach it.",
      );
    }
    if (!where.member) {
      return check(
        "segment_membership",
        false,
        `User "${inst.userId}" is not a member of ${label}: add them to the member file (or ` +
          "upload the user id) and the installation joins at once.",
      );
    }
    const subject = {
      ...inst,
      lastSeenAt: inst.lastSeenAt ? Date.parse(inst.lastSeenAt) : undefined,
    };
    if (segment.rule && !matchesRule(segment.rule, subject, now())) {
      return check(
        "segment_membership",
        false,
        `User "${inst.userId}" is a member of ${label}, but this installation does not match ` +
          "the segment's rule: compare its attributes with the rule, or widen the rule.",
      );
    }
    return check(
      "segment_membership",
      false,
      `User "${inst.userId}" is a member of ${label}, but this installation is not reachable ` +
        "there: fix the failing checks above (token, permission, last seen) and it joins again.",
    );
  }

  async function recentSends(
    appId: string,
    inst: Installation,
    limit: number,
  ): Promise<DiagnosisCheckData> {
    const history = await options.sends.recipientHistory(appId, inst.installationId, limit);
    if (history.length === 0) {
      return check(
        "recent_sends",
        true,
        `None of the app's last ${limit} sends targeted this installation: check the send's ` +
          "audience (segment, user ids) and environment.",
      );
    }
    const parts = history.slice(0, 5).map(({ send, outcome }) =>
      `${send.sendId} (${send.createdAt}): ${OUTCOME_WORDS[outcome]}`
    );
    const last = history[0];
    const ok = last.outcome !== "failed_or_skipped";
    const advice = ok
      ? last.outcome === "accepted"
        ? " APNs accepted the latest one; if the device still shows nothing, check Focus and " +
          "notification settings on the device."
        : " The latest one is still being sent."
      : " The latest one did not reach it: fix the failing checks above and send again.";
    return check(
      "recent_sends",
      ok,
      `${history.length} of the last ${limit} sends targeted it: ${parts.join("; ")}.${advice}`,
    );
  }

  return {
    /**
     * Diagnoses one installation.
     * @throws {InstallationNotFound} for an unknown installation.
     * @throws {AppNotFound} for an unknown app.
     */
    async installation(
      appId: string,
      installationId: string,
      opts: DiagnoseOptions = {},
    ): Promise<DiagnosisData> {
      const [app, inst] = await Promise.all([
        options.apps.get(appId),
        options.registry.get(appId, installationId),
      ]);
      if (!inst) throw new InstallationNotFound();
      return await diagnose(app, inst, opts);
    },

    /**
     * Diagnoses every installation of a user, most recently seen first (empty for an unknown
     * user).
     */
    async user(appId: string, userId: string, opts: DiagnoseOptions = {}) {
      const [app, installations] = await Promise.all([
        options.apps.get(appId),
        options.registry.userInstallations(appId, userId),
      ]);
      return await Promise.all(installations.map((inst) => diagnose(app, inst, opts)));
    },
  };
}

const OUTCOME_WORDS = {
  accepted: "accepted by APNs",
  failed_or_skipped: "not delivered (failed or skipped)",
  pending: "still sending",
} as const;

function check(name: CheckName, ok: boolean, message: string): DiagnosisCheckData {
  return { check: name, ok, message };
}

function credentialForEnvironment(app: AppRecord, inst: Installation): DiagnosisCheckData {
  // A token (.p8) credential signs for both environments.
  if (app.apns) {
    return check(
      "credential_for_environment",
      true,
      `The app has a .p8 key (key id ${app.apns.keyId}), which covers ${inst.environment}.`,
    );
  }
  const certificate = app.certificate?.summary;
  if (certificate?.environments.includes(inst.environment)) {
    return check(
      "credential_for_environment",
      true,
      `The app's certificate (${certificate.subject}) covers ${inst.environment}.`,
    );
  }
  if (certificate) {
    return check(
      "credential_for_environment",
      false,
      `The app's certificate covers only ${certificate.environments.join(" and ")}, not ` +
        `${inst.environment}: pushes to this installation fail with BadCertificateEnvironment. ` +
        'Upload a "Sandbox & Production" certificate or a .p8 key.',
    );
  }
  return check(
    "credential_for_environment",
    false,
    `The app has no credential for ${inst.environment}: upload a .p8 key on the Apps page.`,
  );
}

function credentialValid(app: AppRecord, nowMs: number): DiagnosisCheckData {
  const error = app.credentialError;
  if (error) {
    return check(
      "credential_valid",
      false,
      `APNs refused the app's credential on ${error.at} (${error.reason}${
        error.message ? `: ${error.message}` : ""
      }): ${
        app.apns
          ? "upload a new .p8 key (check its team id and key id)"
          : "upload a renewed APNs certificate (.p12) made for this bundle id"
      } on the Apps page.`,
    );
  }
  const expiresAt = app.certificate?.summary.expiresAt;
  if (expiresAt && !app.apns && Date.parse(expiresAt) <= nowMs) {
    return check(
      "credential_valid",
      false,
      `The app's certificate expired on ${expiresAt}: upload a renewed certificate.`,
    );
  }
  return check(
    "credential_valid",
    true,
    "APNs has not refused the app's credential since it was last uploaded.",
  );
}

function tokenActive(inst: Installation): DiagnosisCheckData {
  if (inst.status === "active" && inst.token) {
    return check(
      "token_active",
      true,
      `The APNs token is active (${inst.environment}), registered ${inst.registeredAt ?? "—"}.`,
    );
  }
  const since = inst.statusAt ? ` since ${inst.statusAt}` : "";
  const reason = inst.statusReason ? ` (${inst.statusReason})` : "";
  const advice: Record<string, string> = {
    active: "the app never sent a token: check that it calls registerForRemoteNotifications.",
    replaced: "another installation took over this token (the app was reinstalled): diagnose " +
      "the user's newer installation instead.",
    unregistered: "APNs says the app was uninstalled or push was turned off; it comes back when " +
      "the app registers a new token.",
    bad_token: "APNs rejected the token; it comes back when the app registers a fresh token " +
      "(check the build's aps-environment if this repeats).",
    deleted: "the app gave up push for this installation; it comes back when the app registers " +
      "again.",
  };
  return check(
    "token_active",
    false,
    `The token is ${inst.token ? inst.status : "missing"}${reason}${since}: ${advice[inst.status]}`,
  );
}

function notificationsAllowed(inst: Installation): DiagnosisCheckData {
  const value = inst.pushAuthorization;
  if (value === "denied") {
    return check(
      "notifications_allowed",
      false,
      "The user turned notifications off for this app (denied): nothing is sent until they turn " +
        "them on in Settings → Notifications.",
    );
  }
  if (value === "notDetermined") {
    return check(
      "notifications_allowed",
      true,
      "The app has not asked for permission yet (notDetermined): alerts are not shown until it " +
        "asks and the user allows them.",
    );
  }
  return check("notifications_allowed", true, `Notifications are allowed (${value}).`);
}

function recentlySeen(inst: Installation, nowMs: number): DiagnosisCheckData {
  const seen = inst.lastSeenAt ? Date.parse(inst.lastSeenAt) : NaN;
  const days = Number.isFinite(seen) ? Math.floor((nowMs - seen) / DAY_MS) : null;
  const when = days === null ? "never" : days === 0 ? "today" : `${days} days ago`;
  if (inst.stale) {
    return check(
      "recently_seen",
      false,
      `The app was last opened ${when}, so the installation is stale and left out of sends: it ` +
        "comes back the next time the app is opened.",
    );
  }
  return check("recently_seen", true, `The app was last opened ${when}.`);
}
