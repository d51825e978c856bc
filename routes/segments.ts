/**
 * `/v1/apps/:appId/segments`: segment definitions, counts and member uploads (server key).
 *
 * @module
 */
import { Hono } from "hono";
import type { Apps } from "../lib/apps/mod.ts";
import { AppParam } from "../lib/apps/mod.ts";
import { ValidationFailed } from "../lib/errors.ts";
import {
  MembersBody,
  MembersQuery,
  PutSegmentBody,
  SegmentParam,
  type Segments,
  streamedMemberFormat,
} from "../lib/segments/mod.ts";
import type { AppEnv } from "./context.ts";
import { serverAuth } from "./middleware/auth.ts";
import { issues, NoBody, NoQuery, validate } from "./middleware/validate.ts";

/** `type/subtype` of a Content-Type header, lowercase, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}

/** Segment routes; mounted at `/v1/apps/:appId/segments`. */
export function segmentRoutes(deps: { apps: Apps; segments: Segments }) {
  const { segments } = deps;
  return new Hono<AppEnv>()
    .use(serverAuth(deps.apps))
    .get("/", validate("param", AppParam), validate("query", NoQuery), async (c) => {
      return c.json({ segments: await segments.list(c.req.valid("param").appId) });
    })
    .put(
      "/:segmentId",
      validate("param", SegmentParam),
      validate("json", PutSegmentBody),
      async (c) => {
        const { appId, segmentId } = c.req.valid("param");
        const result = await segments.put(appId, segmentId, c.req.valid("json"));
        return c.json(result.segment, result.created ? 201 : 200);
      },
    )
    .get("/:segmentId", validate("param", SegmentParam), validate("query", NoQuery), async (c) => {
      const { appId, segmentId } = c.req.valid("param");
      return c.json(await segments.get(appId, segmentId));
    })
    .delete("/:segmentId", validate("param", SegmentParam), validate("json", NoBody), async (c) => {
      const { appId, segmentId } = c.req.valid("param");
      await segments.remove(appId, segmentId);
      return c.body(null, 204);
    })
    .post(
      "/:segmentId/members",
      validate("param", SegmentParam),
      validate("query", MembersQuery),
      async (c) => {
        const { appId, segmentId } = c.req.valid("param");
        const mode = c.req.valid("query").mode ?? "append";
        const type = mediaType(c.req.header("content-type"));
        const streamed = streamedMemberFormat(type);
        if (streamed) {
          const body = c.req.raw.body ?? new Response("").body!;
          return c.json(
            await segments.uploadStream(appId, segmentId, body, { format: streamed, mode }),
          );
        }
        if (type !== "application/json") {
          throw new ValidationFailed(
            "Content-Type must be application/json, text/plain or application/x-ndjson " +
              "(application/ndjson and application/jsonl are read as NDJSON too)",
          );
        }
        if (mode === "replace") {
          throw new ValidationFailed("mode=replace needs a streamed upload (text or NDJSON)");
        }
        let json: unknown;
        try {
          json = await c.req.json();
        } catch {
          throw new ValidationFailed("malformed JSON in request body");
        }
        const parsed = MembersBody.safeParse(json);
        if (!parsed.success) throw new ValidationFailed("invalid body", issues(parsed.error));
        return c.json(await segments.updateMembers(appId, segmentId, parsed.data));
      },
    );
}
