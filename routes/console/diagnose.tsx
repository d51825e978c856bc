/**
 * "Why didn't it arrive?": look up an installation id or a user id and run lib/diagnosis'
 * checklist on it (on each of the user's installations), each check a sentence saying what to
 * do. The same diagnosis as `GET /v1/apps/:appId/installations/:id/diagnosis`.
 *
 * @module
 */
import { Hono } from "hono";
import type { DiagnosisData } from "../../lib/diagnosis/mod.ts";
import { InstallationId } from "../../lib/registry/mod.ts";
import { Field, Select } from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";

const CHECK_LABELS: Record<string, string> = {
  credential_for_environment: "Credential for the device's environment",
  credential_valid: "Credential accepted by APNs",
  token_active: "Push token active",
  notifications_allowed: "Notifications allowed on the device",
  recently_seen: "App opened recently",
  segment_membership: "In the segment",
  recent_sends: "Recent sends",
};

function Result(props: { diagnosis: DiagnosisData }) {
  const d = props.diagnosis;
  return (
    <section
      class="card"
      data-diagnosis={d.installationId}
      aria-label={`Installation ${d.installationId}`}
    >
      <h2>
        Installation <code>{d.installationId}</code>:{" "}
        <span class={d.ok ? "ok" : "bad"}>
          {d.ok ? "every check passed" : `${d.checks.filter((c) => !c.ok).length} problem(s)`}
        </span>
      </h2>
      <ul class="checks">
        {d.checks.map((check) => (
          <li data-check={check.check} data-ok={String(check.ok)}>
            <span class={`mark ${check.ok ? "ok" : "bad"}`}>{check.ok ? "✓ Pass" : "✗ Fail"}</span>
            <strong>{CHECK_LABELS[check.check] ?? check.check}</strong>
            <br />
            {check.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The diagnose page; mounted at `/apps/:appId/diagnose`. */
export function diagnosePages(deps: ConsoleDeps) {
  return new Hono<ConsoleEnv>().get("/", async (c) => {
    const app = c.var.consoleApp;
    const q = (c.req.query("q") ?? "").trim().slice(0, 128);
    const segmentId = c.req.query("segmentId") || undefined;
    const segments = await deps.segments.list(app.appId);
    let results: DiagnosisData[] | null = null;
    let error: string | undefined;
    if (q) {
      const opts = {
        segmentId: segments.some((s) => s.segmentId === segmentId) ? segmentId : undefined,
      };
      const inst = InstallationId.safeParse(q).success
        ? await deps.registry.get(app.appId, q)
        : null;
      results = inst
        ? [await deps.diagnosis.installation(app.appId, q, opts)]
        : await deps.diagnosis.user(app.appId, q, opts);
      if (results.length === 0) {
        error = "No installation and no user has this id in this app: check the id, or that the " +
          "app registered with this app key.";
      }
    }
    return c.html(
      <Layout title="Diagnose a device" session={c.var.session} app={app} place="diagnose">
        <form class="card" method="get" action={`/console/apps/${app.appId}/diagnose`}>
          <p>Why didn't it arrive? Look up a device by its installation id, or a user's devices.</p>
          <Field
            name="q"
            label="Installation id or user id"
            required
            value={q}
            errors={error ? { q: error } : undefined}
          />
          <Select
            name="segmentId"
            label="Also check membership of a segment (optional)"
            value={segmentId}
            options={[
              { value: "", label: "No segment" },
              ...segments.map((s) => ({ value: s.segmentId, label: s.name })),
            ]}
          />
          <button type="submit">Diagnose</button>
        </form>
        {results && results.length > 1 && <p>This user has {results.length} installations.</p>}
        {results?.map((d) => <Result diagnosis={d} />)}
      </Layout>,
    );
  });
}
