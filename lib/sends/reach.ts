/**
 * How many installations an audience reaches now, before anything is sent (the console's
 * preview). It counts from the same reachable sets the resolver will read, so a preview and
 * the send that follows agree unless installations change in between.
 *
 * @module
 */
import type { Registry } from "../registry/mod.ts";
import type { Segments } from "../segments/mod.ts";
import type { CreateSendInput } from "./schemas.ts";

/** What {@linkcode createReach} reads from. */
export interface ReachDeps {
  registry: Registry;
  segments: Pick<Segments, "get" | "reachableCount">;
}

/** The reach count returned by {@linkcode createReach}. */
export type Reach = ReturnType<typeof createReach>;

/** The reach count over the registry and the segments. */
export function createReach({ registry, segments }: ReachDeps) {
  return {
    /**
     * How many installations an audience reaches now (before sending): a segment's or the
     * app's reachable sets, or the reachable installations of the listed users or ids, in the
     * given environment or both. @throws {SegmentNotFound}
     */
    async reach(
      appId: string,
      audience: CreateSendInput["audience"],
      environment?: "production" | "development",
    ): Promise<number> {
      const pick = (counts: Record<"production" | "development", number>) =>
        environment ? counts[environment] : counts.production + counts.development;
      if ("segment" in audience) {
        await segments.get(appId, audience.segment);
        return pick(await segments.reachableCount(appId, audience.segment));
      }
      if ("all" in audience) return pick((await registry.summary(appId, 0)).reachable);
      const ids = "userIds" in audience
        ? [...new Set(audience.userIds)]
        : [...new Set(audience.installationIds)];
      // Listed users or ids are read in slices of 100, so a long list is not one huge pipeline.
      let reached = 0;
      for (let i = 0; i < ids.length; i += 100) {
        const slice = ids.slice(i, i + 100);
        const found = "userIds" in audience
          ? (await Promise.all(slice.map((u) => registry.userInstallations(appId, u)))).flat()
          : await registry.getMany(appId, slice);
        reached += found.filter((inst) =>
          inst && registry.isReachable(inst) &&
          (!environment || inst.environment === environment)
        ).length;
      }
      return reached;
    },
  };
}
