/**
 * h2load (nghttp2's C load generator) against a mock APNs: the ceiling a JavaScript client is
 * measured against. One connection, 1,000 streams in flight, a real provider token.
 *
 * @module
 */
import { createMemoryTokenSource } from "../../lib/apns/jwt.ts";

/** What {@linkcode runH2load} needs. */
export interface H2loadOptions {
  /** Requests to make. */
  n: number;
  /** The mock's `host:port`. */
  host: string;
  /** The key the mock verifies tokens with. */
  key: { teamId: string; keyId: string; privateKeyPem: string };
  /** `apns-topic`. */
  topic: string;
}

/** Requests/s, or null with a note when h2load is missing or failed. */
export async function runH2load(
  options: H2loadOptions,
): Promise<{ perSecond: number | null; note: string }> {
  const which = await new Deno.Command("sh", { args: ["-c", "command -v h2load"], stdout: "null" })
    .output();
  if (!which.success) return { perSecond: null, note: "h2load not installed (apt nghttp2-client)" };
  const dir = await Deno.makeTempDir({ prefix: "edgepush-h2load-" });
  try {
    const jwt = await createMemoryTokenSource(options.key).current();
    await Deno.writeTextFile(`${dir}/payload.json`, '{"aps":{"alert":{"title":"Bench"}}}');
    const out = await new Deno.Command("h2load", {
      args: [
        ...["-n", String(options.n), "-c", "1", "-m", "1000", "-d", `${dir}/payload.json`],
        ...["-H", `authorization: bearer ${jwt}`, "-H", `apns-topic: ${options.topic}`],
        ...["-H", "apns-push-type: alert", `https://${options.host}/3/device/${"d".repeat(64)}`],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const match = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(text);
    return match
      ? { perSecond: Math.round(Number(match[1])), note: "" }
      : { perSecond: null, note: text.slice(-200) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
