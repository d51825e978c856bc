/**
 * The status side of sends: a send's view (status, funnel with the SDK's delivered/opened
 * events, failures and the app's credential warnings), the recent sends, one installation's
 * history across them, and cancelling. Creating a send is in sends.ts.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { Conflict } from "../errors.ts";
import { readEventCounts } from "./events.ts";
import type { Queue } from "./queue.ts";
import type { SendViewData } from "./schemas.ts";
import { SendNotFound, type SendState, type SendStore } from "./store.ts";

/** What {@linkcode createSendViews} reads from. */
export interface SendViewsDeps {
  redis: Redis;
  store: SendStore;
  queue: Queue;
  /** Warnings about the app's credential, shown on every view (see `SendsOptions`). */
  credentialWarnings?: (appId: string) => Promise<SendViewData["warnings"]>;
}

/** The views returned by {@linkcode createSendViews}. */
export type SendViews = ReturnType<typeof createSendViews>;

/** The send views over the store, the queue (for cancel) and the event counts. */
export function createSendViews({ redis, store, queue, credentialWarnings }: SendViewsDeps) {
  async function view(
    send: SendState,
    warnings?: SendViewData["warnings"],
  ): Promise<SendViewData> {
    const [failures, events, appWarnings] = await Promise.all([
      store.failures(send.appId, send.sendId),
      readEventCounts(redis, send.appId, send.sendId),
      warnings ?? credentialWarnings?.(send.appId) ?? [],
    ]);
    return store.view(send, { failures, ...events, warnings: appWarnings });
  }

  /** A send's status and funnel. @throws {SendNotFound} */
  async function get(appId: string, sendId: string): Promise<SendViewData> {
    const send = await store.load(appId, sendId);
    if (!send) throw new SendNotFound();
    return await view(send);
  }

  return {
    /** A send's status and funnel. @throws {SendNotFound} */
    get,

    /** The app's most recent sends, newest first. */
    async list(appId: string, limit = 50): Promise<SendViewData[]> {
      const ids = await store.recent(appId, limit);
      const found = await Promise.all(ids.map((id) => store.load(appId, id)));
      // One warnings read for the whole list, not one per send.
      const warnings = await credentialWarnings?.(appId) ?? [];
      return await Promise.all(
        found.filter((s): s is SendState => s !== null).map((s) => view(s, warnings)),
      );
    },

    /**
     * The app's most recent sends (up to `limit`) that targeted `installationId`, newest first,
     * with what became of it in each (see `SendStore.recipientOutcomes`).
     */
    async recipientHistory(
      appId: string,
      installationId: string,
      limit = 20,
    ): Promise<
      Array<{ send: SendViewData; outcome: "accepted" | "failed_or_skipped" | "pending" }>
    > {
      const ids = await store.recent(appId, limit);
      const outcomes = await store.recipientOutcomes(appId, ids, installationId);
      const targeted = ids.flatMap((sendId, i) => {
        const outcome = outcomes[i];
        return outcome ? [{ sendId, outcome }] : [];
      });
      const found = await Promise.all(targeted.map(async (t) => {
        const send = await store.load(appId, t.sendId);
        return send ? { send: await view(send), outcome: t.outcome } : null;
      }));
      return found.filter((f) => f !== null);
    },

    /**
     * Cancels a send: workers check the status before every chunk, so nothing more goes out
     * within about a chunk's time. Cancelling a cancelled send is a no-op.
     * @throws {SendNotFound}
     * @throws {Conflict} when the send already completed or failed.
     */
    async cancel(appId: string, sendId: string): Promise<SendViewData> {
      const { changed, before } = await store.transition(appId, sendId, "cancelled", [
        "scheduled",
        "queued",
        "resolving",
        "sending",
      ]);
      if (before === null) throw new SendNotFound();
      if (!changed && before !== "cancelled") {
        throw new Conflict(`the send is already ${before}`);
      }
      if (changed && before === "scheduled") await queue.unschedule(appId, sendId);
      return await get(appId, sendId);
    },
  };
}
