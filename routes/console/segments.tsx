/**
 * Segments: the list with users, reachable installations by environment, last sync and its
 * report; create and edit with a rule builder; member file upload (streamed, with progress);
 * delete; and "sync now". This file reads the forms and calls lib/segments; the markup is
 * ./segment_pages.tsx.
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { ValidationFailed } from "../../lib/errors.ts";
import {
  acquireSyncLock,
  PutSegmentBody,
  runSegmentSync,
  SegmentId,
  type SegmentViewData,
  streamedMemberFormat,
} from "../../lib/segments/mod.ts";
import { issues } from "../middleware/validate.ts";
import { type FieldErrors, toFieldErrors } from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { type FormValues, formValues } from "./notification_form.tsx";
import { readRule, type RuleRows, segmentFieldFor } from "./rule_builder.tsx";
import { Counts, SegmentEditPage, SegmentListPage } from "./segment_pages.tsx";
import { count } from "./words.ts";

/** How long "Sync now" waits for the pass before answering that it runs on. */
const SYNC_WAIT_MS = 5_000;

/** Segment pages; mounted at `/apps/:appId/segments`. */
export function segmentPages(deps: ConsoleDeps) {
  const { segments } = deps;
  const now = () => (deps.options.now ?? Date.now)();

  function editPage(
    c: Context<ConsoleEnv>,
    opts: {
      segment?: SegmentViewData;
      values?: FormValues;
      errors?: FieldErrors;
      notice?: string;
    },
    status: 200 | 400 = 200,
  ) {
    return c.html(<SegmentEditPage c={c} now={now} {...opts} />, status);
  }

  async function listPage(c: Context<ConsoleEnv>, notice?: { kind: "ok" | "bad"; text: string }) {
    const list = await segments.list(c.var.consoleApp.appId);
    return c.html(<SegmentListPage c={c} now={now} list={list} notice={notice} />);
  }

  async function save(c: Context<ConsoleEnv>, segmentId: string | null) {
    const appId = c.var.consoleApp.appId;
    const values = formValues(await c.req.parseBody());
    const id = segmentId ?? values.segmentId ?? "";
    const existing = segmentId ? await segments.get(appId, segmentId) : undefined;
    let rows: RuleRows = { all: [], any: [] };
    try {
      if (!segmentId && !SegmentId.safeParse(id).success) {
        throw new ValidationFailed("invalid", [{
          path: "segmentId",
          message: "use 1–64 letters, digits, dots, dashes or underscores",
        }]);
      }
      if (values.lastSeenWithinDays && !/^\d+$/.test(values.lastSeenWithinDays)) {
        throw new ValidationFailed("invalid", [{
          path: "lastSeenWithinDays",
          message: "a whole number of days",
        }]);
      }
      const read = readRule(values);
      rows = read.rows;
      const rule = read.rule;
      const parsed = PutSegmentBody.safeParse({ name: values.name, rule });
      if (!parsed.success) throw new ValidationFailed("invalid", issues(parsed.error));
      if (!segmentId && (await segments.ids(appId)).includes(id)) {
        throw new ValidationFailed("invalid", [{
          path: "segmentId",
          message: "a segment with this id exists already",
        }]);
      }
      await segments.put(appId, id, parsed.data);
    } catch (error) {
      return editPage(c, {
        segment: existing,
        values,
        errors: toFieldErrors(error, segmentFieldFor(rows)),
      }, 400);
    }
    return c.redirect(`/console/apps/${appId}/segments/${id}?saved=1`, 303);
  }

  return new Hono<ConsoleEnv>()
    .get("/", (c) => listPage(c))
    .get("/new", (c) => editPage(c, {}))
    .post("/", (c) => save(c, null))
    .post("/sync", async (c) => {
      const appId = c.var.consoleApp.appId;
      const lock = await acquireSyncLock(deps.redis, appId);
      if (!lock) {
        return await listPage(c, {
          kind: "bad",
          text: "A sync is already running for this app; try again in a minute.",
        });
      }
      // The same run as the daily job and the API's segment-sync; a large app's pass goes on
      // in the background past this answer.
      const run = runSegmentSync({
        redis: deps.redis,
        appIds: [appId],
        now: deps.options.now,
        staleAfterDays: deps.options.staleAfterDays,
        segments,
        registry: deps.registry,
        heldLocks: new Map([[appId, lock]]),
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finished = await Promise.race([
        run.then((report) => report.apps[0]),
        new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), SYNC_WAIT_MS)),
      ]).finally(() => clearTimeout(timer));
      run.catch((error) =>
        deps.logger.error("segment sync failed", { appId, message: String(error) })
      );
      if (!finished) {
        return await listPage(c, {
          kind: "ok",
          text: "The sync is running; reload this page in a minute to see the new reports.",
        });
      }
      if (finished.status !== "synced") {
        return await listPage(c, {
          kind: "bad",
          text: `The sync did not finish (${finished.status}); try again.`,
        });
      }
      return await listPage(c, { kind: "ok", text: "Synced: every segment has a fresh report." });
    })
    .get("/:segmentId", async (c) => {
      const segment = await segments.get(c.var.consoleApp.appId, c.req.param("segmentId"));
      const notice = c.req.query("saved") ? "Segment saved." : undefined;
      return editPage(c, { segment, notice });
    })
    .get("/:segmentId/counts", async (c) => {
      const segment = await segments.get(c.var.consoleApp.appId, c.req.param("segmentId"));
      return c.html(<Counts segment={segment} now={now()} />);
    })
    .post("/:segmentId", (c) => save(c, c.req.param("segmentId")))
    .post("/:segmentId/delete", async (c) => {
      const appId = c.var.consoleApp.appId;
      const segmentId = c.req.param("segmentId");
      if ((await c.req.parseBody()).confirm !== "yes") {
        const segment = await segments.get(appId, segmentId);
        return editPage(c, {
          segment,
          notice: undefined,
          errors: { _form: "Tick the box to confirm the deletion." },
        }, 400);
      }
      await segments.remove(appId, segmentId);
      return await listPage(c, { kind: "ok", text: `Segment ${segmentId} deleted.` });
    })
    .post("/:segmentId/members", async (c) => {
      const appId = c.var.consoleApp.appId;
      const segmentId = c.req.param("segmentId");
      const mode = c.req.query("mode") === "replace" ? "replace" : "append";
      const format = streamedMemberFormat(c.req.header("content-type"));
      if (!format || !c.req.raw.body) {
        return c.json({ error: "Send the file as text/plain or NDJSON." }, 400);
      }
      try {
        const result = await segments.uploadStream(appId, segmentId, c.req.raw.body, {
          format,
          mode,
        });
        return c.json({
          ...result,
          message: `Uploaded: ${count(result.added)} added, ${count(result.removed)} removed; ` +
            `${count(result.members)} members now.`,
        });
      } catch (error) {
        if (error instanceof ValidationFailed) {
          return c.json({ error: toFieldErrors(error, () => null)._form }, 400);
        }
        throw error;
      }
    });
}
