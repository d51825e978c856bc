/**
 * Delivery of one batch of a send: claim the recipients, skip the unreachable, send the rest
 * through the relay in chunks (checking for cancellation and taking rate tokens before each
 * chunk), apply APNs' feedback to the registry, and record every outcome once.
 *
 * @module
 */
import type { Apps } from "../apps/mod.ts";
import type { Recipient, Relay, RelayApp, SendResult } from "../apns/relay.ts";
import type { Installation } from "../registry/mod.ts";
import { isReachable } from "../registry/mod.ts";
import { applyFeedbackAll, type FeedbackRegistry } from "./feedback.ts";
import type { Outcome, SendState, SendStore } from "./store.ts";

/** What delivery needs. */
export interface DeliverDeps {
  store: SendStore;
  apps: Pick<Apps, "get" | "credentials" | "recordCredentialError">;
  registry: FeedbackRegistry;
  relay: Pick<Relay, "sendBatch">;
  /** Recipients per relay call (and per cancel/rate check). Default: 250. */
  chunkSize?: number;
  /** Sleep, for rate limiting. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * What a retried batch does with recipients it claimed before it crashed, whose outcome was
   * never recorded (APNs may or may not have them):
   * - `"skip"` (default): record them as failed with reason `Unconfirmed` without sending
   *   again. Nobody gets the send twice. Claims are per chunk, so these are only the chunks the
   *   dead worker had in flight; the pushes among them it had not yet written are lost (in the
   *   crash tests, 0–250 of 500 unconfirmed), and the funnel shows them as `Unconfirmed`.
   * - `"resend"`: send them again. Nobody is lost; the in-flight pushes that had reached APNs
   *   go out twice (0–500 in the crash tests).
   * Exactly-once across a crash is not possible: APNs has no idempotency key.
   */
  uncertain?: "resend" | "skip";
  /** Extra rounds for recipients whose answer stayed transient (429/5xx). Default: 3. */
  transientRounds?: number;
  /** How long an app's decrypted credential is reused, ms. Default: 10,000. */
  appCacheMs?: number;
  /** Clock. Default: Date.now. */
  now?: () => number;
}

/** The longest a transient round waits on APNs' `retry-after`, ms (well under a claim's idle). */
const MAX_ROUND_WAIT_MS = 10_000;

const TRANSIENT_REASONS = new Set([
  "TooManyRequests",
  "ServiceUnavailable",
  "InternalServerError",
  "Shutdown",
  "ConnectionFailed",
]);

/** True for a failure worth another round: throttling, server errors, no connection. */
export function isTransient(result: SendResult): boolean {
  if (result.status !== "failed" || result.feedback) return false;
  const reason = result.reason ?? "";
  return TRANSIENT_REASONS.has(reason) || /^HTTP(429|5\d\d)$/.test(reason);
}

/** Why an installation is skipped, or null when it can be sent to. */
export function skipReason(
  inst: Installation | null,
  environment: "production" | "development" | null,
): string | null {
  if (!inst) return "NotFound";
  if (inst.pushAuthorization === "denied") return "Denied";
  if (inst.status !== "active") return `Inactive:${inst.status}`;
  if (!inst.token) return "NoToken";
  if (!isReachable(inst)) return "Stale";
  if (environment && inst.environment !== environment) return "EnvironmentFiltered";
  return null;
}

/** A recipient from an installation that passed {@linkcode skipReason}. */
export function toRecipient(inst: Installation): Recipient {
  return {
    installationId: inst.installationId,
    token: inst.token!,
    environment: inst.environment,
    registeredAt: inst.registeredAt ? Date.parse(inst.registeredAt) : 0,
  };
}

/** What delivering a batch did. */
export interface DeliverReport {
  /** Per-recipient results in claim order (for `wait:true`). */
  results: Array<
    { installationId: string; status: Outcome["outcome"]; apnsId?: string; reason?: string }
  >;
  /** Set when the send stopped: cancelled, failed (credential) or gone. */
  stopped?: "cancelled" | "failed" | "gone";
}

/** Creates the batch deliverer (holds a small cache of app credentials). */
export function createDeliverer(deps: DeliverDeps) {
  const chunkSize = deps.chunkSize ?? 250;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const appCacheMs = deps.appCacheMs ?? 10_000;
  const transientRounds = deps.transientRounds ?? 3;
  const appCache = new Map<string, { app: RelayApp; until: number }>();

  async function relayApp(appId: string): Promise<RelayApp> {
    const cached = appCache.get(appId);
    if (cached && cached.until > now()) return cached.app;
    const record = await deps.apps.get(appId);
    const credentials = await deps.apps.credentials(record);
    // Every app has a token credential; it is preferred over an optional certificate.
    const app: RelayApp = {
      bundleId: record.bundleId,
      credential: { kind: "token", ...credentials.token },
    };
    if (appCache.size > 1_000) appCache.clear();
    appCache.set(appId, { app, until: now() + appCacheMs });
    return app;
  }

  /**
   * Sends through the relay; recipients whose answer stayed transient after the transport's
   * own retries (429, 5xx, no connection) get `transientRounds` more rounds with backoff.
   * A timeout is not retried: APNs may have accepted the push.
   */
  async function sendWithRetries(
    app: RelayApp,
    message: { body: string; headers: Record<string, string> },
    recipients: Recipient[],
    heartbeat?: () => Promise<void>,
  ): Promise<Array<[Recipient, SendResult]>> {
    const done: Array<[Recipient, SendResult]> = [];
    let round = 0;
    let batch = recipients;
    while (batch.length > 0) {
      const results = await deps.relay.sendBatch(app, message, batch);
      const again: Recipient[] = [];
      let wait = 100 * 2 ** (round + 1);
      results.forEach((r, i) => {
        // APNs' retry-after is honoured; one longer than a round may wait (a worker holds its
        // batch meanwhile) ends the recipient's tries with APNs' answer instead of asking early.
        const retryAfter = r.retryAfterMs ?? 0;
        if (
          round < transientRounds && !r.credentialError && isTransient(r) &&
          retryAfter <= MAX_ROUND_WAIT_MS
        ) {
          again.push(batch[i]);
          wait = Math.max(wait, retryAfter);
        } else done.push([batch[i], r]);
      });
      const credentialError = results.find((r) => r.credentialError)?.credentialError;
      if (credentialError) {
        // The send stops: the ones held for another round fail with the credential error too.
        for (const r of again) {
          done.push([r, {
            installationId: r.installationId,
            status: "failed",
            reason: credentialError.reason,
            attempted: true,
            credentialError,
          }]);
        }
        break;
      }
      batch = again;
      round++;
      if (batch.length) {
        // Rounds and waits can outlast a claim's idle time: tell the queue this batch is alive,
        // or another worker (or this one) would reclaim it and count it Unconfirmed.
        await heartbeat?.();
        await sleep(wait);
        await heartbeat?.();
      }
    }
    return done;
  }

  /** Takes up to `wanted` tokens of the send's rate; waits while none are left. */
  async function takeRate(send: SendState, wanted: number): Promise<number | null> {
    const rate = send.ratePerSecond!;
    const capacity = Math.max(1, Math.ceil(rate / 5));
    while (true) {
      const { granted, waitMs } = await deps.store.takeTokens(
        send.appId,
        send.sendId,
        rate,
        capacity,
        Math.min(wanted, capacity),
      );
      if (granted > 0) return granted;
      await sleep(Math.min(Math.max(waitMs, 1), 200));
      if (await stoppedStatus(send)) return null;
    }
  }

  async function stoppedStatus(send: SendState): Promise<DeliverReport["stopped"]> {
    const status = await deps.store.status(send.appId, send.sendId);
    if (status === null) return "gone";
    if (status === "cancelled" || status === "failed") return status;
    return undefined;
  }

  return {
    /**
     * Delivers `ids` (batch `seq`) of `send`; `hooks.heartbeat` runs before each chunk.
     * Returns per-recipient results and whether the send stopped. Throws only on infrastructure errors (Redis); the batch is then retried.
     */
    async deliver(
      send: SendState,
      seq: number,
      ids: readonly string[],
      hooks: { heartbeat?: () => Promise<void>; uncertain?: "resend" | "skip" } = {},
    ): Promise<DeliverReport> {
      const report: DeliverReport = { results: [] };
      const uncertain = hooks.uncertain ?? deps.uncertain ?? "skip";
      const pending = [...new Set(ids)];
      let app: RelayApp | undefined;
      const message = { body: send.body, headers: send.headers };
      // Chunk by chunk: check for cancellation, take rate tokens, claim, send, record. Claiming
      // per chunk keeps the recipients of unknown fate after a crash to the chunk in flight.
      while (pending.length > 0) {
        let size = Math.min(chunkSize, pending.length);
        if (send.ratePerSecond) {
          const granted = await takeRate(send, size);
          if (granted === null) return { ...report, stopped: await stoppedStatus(send) };
          size = granted;
        }
        const chunkIds = pending.splice(0, size);
        // The claim also checks for cancellation; the heartbeat runs beside it.
        const [claim] = await Promise.all([
          deps.store.claim(send.appId, send.sendId, seq, chunkIds),
          hooks.heartbeat?.(),
        ]);
        if (claim.stopped) return { ...report, stopped: claim.stopped };
        const early: Outcome[] = [];
        const recipients: Recipient[] = [];
        let loaded = 0;
        chunkIds.forEach((id, i) => {
          const flag = claim.flags[i];
          if (flag === "other") return;
          const inst = claim.installations[loaded++];
          if (flag === "retry" && uncertain === "skip") {
            early.push({
              installationId: id,
              outcome: "failed",
              attempted: true,
              invalidated: false,
              reason: "Unconfirmed",
            });
            return;
          }
          const reason = skipReason(inst, send.environment);
          if (reason) {
            early.push({
              installationId: id,
              outcome: "skipped",
              attempted: false,
              invalidated: false,
              reason,
            });
          } else recipients.push(toRecipient(inst!));
        });
        for (const o of early) {
          report.results.push({
            installationId: o.installationId,
            status: o.outcome,
            reason: o.reason,
          });
        }
        if (recipients.length === 0) {
          await deps.store.record(send.appId, send.sendId, early);
          continue;
        }
        if (recipients.length === 0) continue;
        app ??= await relayApp(send.appId);
        const sent = await sendWithRetries(app, message, recipients, hooks.heartbeat);
        const credentialError = sent.find(([, r]) => r.credentialError)?.[1].credentialError;
        const usable = sent.filter(([, r]) => !r.credentialError);
        const results = sent.map(([, r]) => r);
        const outcomes = await applyFeedbackAll(
          deps.registry,
          send.appId,
          usable.map(([rec]) => rec),
          usable.map(([, r]) => r),
        );
        // The recipients a credential failure stopped had their APNs request: they count as
        // attempted and failed, so the funnel of a failed send still adds up.
        const refused: Outcome[] = credentialError
          ? sent.filter(([, r]) => r.credentialError).map(([, r]) => ({
            installationId: r.installationId,
            outcome: "failed",
            attempted: r.attempted,
            invalidated: false,
            reason: r.reason ?? credentialError.reason,
          }))
          : [];
        // Skips and APNs outcomes of the chunk in one atomic step.
        await deps.store.record(send.appId, send.sendId, [...early, ...outcomes, ...refused]);
        for (const [, r] of usable) {
          report.results.push({
            installationId: r.installationId,
            status: r.status,
            ...(r.apnsId ? { apnsId: r.apnsId } : {}),
            ...(r.reason ? { reason: r.reason } : {}),
          });
        }
        if (credentialError) {
          await deps.store.transition(
            send.appId,
            send.sendId,
            "failed",
            ["queued", "resolving", "sending"],
            credentialError,
          );
          await deps.apps.recordCredentialError(send.appId, credentialError);
          appCache.delete(send.appId);
          for (const r of results) {
            if (!r.credentialError) continue;
            report.results.push({
              installationId: r.installationId,
              status: "failed",
              reason: r.reason ?? credentialError.reason,
            });
          }
          return { ...report, stopped: "failed" };
        }
      }
      return report;
    },
  };
}
