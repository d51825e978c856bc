/**
 * Key-agnostic scanning helpers: the owner of a key passes its own key name in; nothing here
 * knows any feature's keys.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";

const ID_BATCH = 500;

/** Visits the members of a zset with min < score ≤ max in batches of 500, resuming by (score, rank). */
export async function scanScoreRange(
  redis: Redis,
  key: string,
  min: number,
  max: number,
  visit: (ids: string[]) => Promise<void>,
): Promise<void> {
  let from: number | `(${number}` | "-inf" = min === -Infinity ? "-inf" : `(${min}`;
  let skip = 0;
  let lastScore: number | null = null;
  while (true) {
    if (max < min) return;
    const page = await redis.zrange(key, from, max, {
      byScore: true,
      offset: skip,
      count: ID_BATCH,
      withScores: true,
    }) as (string | number)[];
    if (!page.length) return;
    const ids: string[] = [];
    for (let i = 0; i < page.length; i += 2) {
      ids.push(String(page[i]));
      const score = Number(page[i + 1]);
      if (score === lastScore) skip++;
      else {
        lastScore = score;
        skip = 1;
      }
    }
    await visit(ids);
    from = lastScore!;
    if (page.length < ID_BATCH * 2) return;
  }
}
