/**
 * Test doubles at the dispatch seams: a relay that answers from a script (APNs' behaviour is
 * covered by the relay's own tests against the mock) and a fixed credential source.
 *
 * @module
 */
import type {
  CredentialProblem,
  Recipient,
  Relay,
  RelayApp,
  SendBatchOptions,
  SendResult,
} from "../../../lib/apns/mod.ts";
import type { CredentialSource } from "../../../lib/dispatch/mod.ts";

/** The app every fake dispatch is for. */
export const APP: RelayApp = {
  bundleId: "com.example.dispatch",
  credential: { kind: "token", teamId: "TEAM", keyId: "KEY", privateKeyPem: "unused" },
};

/** One scripted answer. */
export type Answer = Omit<SendResult, "installationId" | "attempted"> & { attempted?: boolean };

/**
 * A relay that answers from a script: per token, the answers of its successive requests (the
 * last one repeats), reporting each to `onResult` as the relay does. It records every batch and
 * the options it came with (but `onResult`).
 */
export function fakeRelay(script: Record<string, Answer[]>) {
  const calls: Array<{ tokens: string[]; options?: SendBatchOptions }> = [];
  const seen = new Map<string, number>();
  const relay: Pick<Relay, "sendBatch"> = {
    sendBatch(_app, _message, recipients, options) {
      const { onResult, ...rest } = options ?? {};
      calls.push({ tokens: recipients.map((r) => r.token), options: rest });
      return Promise.resolve(recipients.map((r, i) => {
        const n = seen.get(r.token) ?? 0;
        seen.set(r.token, n + 1);
        const answers = script[r.token] ?? [{ status: "accepted", apnsId: `id-${r.token}` }];
        const answer = answers[Math.min(n, answers.length - 1)];
        const result = { installationId: r.installationId, attempted: true, ...answer };
        onResult?.(i, result); // as the relay reports each answer when it arrives
        return result;
      }));
    },
  };
  return { relay, calls };
}

/** A fixed credential that records what the dispatcher reports refused. */
export function recordingCredentials() {
  const refused: CredentialProblem[] = [];
  const source: CredentialSource = {
    load: () => Promise.resolve(APP),
    refused: (_appId, problem) => {
      refused.push(problem);
      return Promise.resolve();
    },
  };
  return { source, refused };
}

/** A recipient with token `token`. */
export const recipient = (token: string, environment: Recipient["environment"] = "production") => ({
  installationId: `inst-${token}`,
  token,
  environment,
  registeredAt: 0,
});

/** A 429 the relay could not outwait. */
export const throttled = (retryAfterMs?: number): Answer => ({
  status: "failed",
  reason: "TooManyRequests",
  transient: true,
  apns: { status: 429 },
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});
