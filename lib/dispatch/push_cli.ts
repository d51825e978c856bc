/**
 * `deno task push`: send one notification straight to APNs, without Redis or the server, and
 * explain APNs' answer in plain English. For checking a key, a certificate or a device token.
 * It goes through the same dispatch path as every push, in `check` mode: exactly the
 * environment asked, no retry rounds, no registry.
 *
 * ```
 * deno task push --key AuthKey_ABC123.p8 --key-id ABC123 --team-id TEAM123 \
 *   --topic com.example.app --token <hex> --env development --title Hi --body "It works"
 * deno task push --cert cert.pem --cert-key key.pem --topic com.example.app --token <hex> --env production
 * deno task push --cert Certificates.p12 --password secret --topic com.example.app --token <hex>
 * ```
 *
 * With a certificate it first prints what the certificate allows (environments, topics,
 * validity) and what APNs will refuse, then sends anyway so that APNs' own answer is shown.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type AppCredential,
  buildHeaders,
  createMemoryTokenSource,
  createRelay,
  PUSH_TYPES,
  type PushType,
} from "../apns/mod.ts";
import {
  CERTIFICATE_WARNING_DAYS,
  certificateRefusal,
  type CertificateSummary,
  daysLeft,
} from "../apns/certificate.ts";
import { readCertificateFiles } from "../apns/certificate_files.ts";
import { createDispatcher, type DispatchOutcome } from "./dispatcher.ts";
import { staticCredentialSource } from "./credential.ts";
import { type RenderedMessage, renderMessage } from "./render.ts";

/** Where the CLI writes. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const USAGE = `usage: deno task push --topic <bundle id> --token <hex> --env development|production
  token auth:       --key AuthKey_X.p8 --key-id <id> --team-id <id>
  certificate auth: --cert Certificates.p12 [--password P]   (as Keychain Access exports it)
                    --cert cert.pem --cert-key key.pem [--password P]
  content:          [--title T] [--body B] [--image https://…] [--url URL] [--payload file.json]
  options:          [--push-type alert|background|voip|…] [--priority 10|5|1]
                    [--host host:port] [--ca ca.pem] [--timeout-ms 10000]
  --host and --ca default to APNS_HOST_PRODUCTION / APNS_HOST_DEVELOPMENT and APNS_CA_FILE,
  then to Apple's hosts.`;

/** Plain-English explanations of the answers people most often get wrong. */
export const EXPLANATIONS: Record<string, string> = {
  BadDeviceToken:
    "the token is not valid for this environment: a development (Xcode) build's token needs --env development, a TestFlight/App Store build's needs --env production",
  DeviceTokenNotForTopic: "the token belongs to another app: check --topic (the bundle id)",
  Unregistered: "the app was uninstalled or the token is no longer valid",
  ExpiredProviderToken:
    "APNs says the token is too old: check this machine's clock (the JWT's iat)",
  ClockSkew: "APNs calls a fresh token expired: check this machine's clock (the JWT's iat)",
  InvalidProviderToken:
    "APNs rejected the signing key: check --key-id, --team-id, and that the .p8 key is not revoked",
  MissingProviderToken:
    "no credential was sent: pass --key/--key-id/--team-id or --cert/--cert-key",
  BadCertificate:
    "APNs rejected the client certificate: it may be expired, revoked, or not an APNs certificate",
  BadCertificateEnvironment:
    "the certificate does not cover this environment: switch --env, or use a Sandbox & Production certificate",
  TopicDisallowed:
    "APNs will not take this topic from this credential: --topic must be a bundle id of the key's team (or the certificate's app), with the push type's suffix (voip needs <bundle id>.voip)",
  BadTopic: "the topic is wrong: it must be the app's bundle id",
  PayloadTooLarge: "the payload is over 4096 bytes (5120 for voip)",
  TooManyRequests: "too many notifications to this device in a short time",
  Timeout: "APNs did not answer in time: check the network and --host",
  ConnectionFailed: "could not connect to APNs: check the network, --host and --ca",
};

/** Where the CLI sends when `--host`/`--ca` are not given (main.ts passes `APNS_*`). */
export interface PushCliDefaults {
  hosts?: Partial<Record<"production" | "development", string>>;
  /** Path of an extra CA to trust (a mock's). */
  caFile?: string;
}

/** Runs the CLI; resolves with the exit code (0 only when APNs accepted the push). */
export async function runPushCli(
  args: string[],
  io: CliIo,
  defaults: PushCliDefaults = {},
): Promise<number> {
  const parsed = parseCli(args, io);
  if (typeof parsed === "number") return parsed;
  const { values, environment, pushType } = parsed;
  let message: RenderedMessage;
  let credential: AppCredential;
  let certificate: CertificateSummary | undefined;
  let caPem: string | undefined;
  try {
    message = await cliMessage(values, pushType);
    ({ credential, certificate } = await cliCredential(values));
    if (certificate) {
      describeCertificate(certificate, { environment, topic: message.headers["apns-topic"] }, io);
    }
    const caFile = values.ca ?? defaults.caFile;
    caPem = caFile ? await readFileOption(values.ca ? "--ca" : "APNS_CA_FILE", caFile) : undefined;
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}`);
    return 2;
  }
  const outcome = await pushOnce({
    message,
    credential,
    topic: values.topic!,
    token: values.token!,
    environment,
    host: values.host ?? defaults.hosts?.[environment],
    caPem,
    timeoutMs: Number(values["timeout-ms"]),
  });
  return explain(outcome, environment, io, certificate);
}

const OPTIONS = {
  key: { type: "string" },
  "key-id": { type: "string" },
  "team-id": { type: "string" },
  cert: { type: "string" },
  "cert-key": { type: "string" },
  password: { type: "string" },
  topic: { type: "string" },
  token: { type: "string" },
  env: { type: "string", default: "development" },
  title: { type: "string" },
  body: { type: "string" },
  image: { type: "string" },
  url: { type: "string" },
  payload: { type: "string" },
  "push-type": { type: "string", default: "alert" },
  priority: { type: "string" },
  host: { type: "string" },
  ca: { type: "string" },
  "timeout-ms": { type: "string", default: "10000" },
  help: { type: "boolean" },
} as const;

/** The parsed flags. */
type CliValues = Partial<Record<Exclude<keyof typeof OPTIONS, "help">, string>> & {
  help?: boolean;
};

/** The checked flags, or the exit code when there is nothing to send (usage, help). */
function parseCli(args: string[], io: CliIo):
  | number
  | { values: CliValues; environment: "development" | "production"; pushType: PushType } {
  let values: CliValues;
  try {
    values = parseArgs({ args, strict: true, options: OPTIONS }).values as CliValues;
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const env = values.env;
  const pushType = values["push-type"] as PushType;
  const problems = [
    !values.topic && "--topic is required",
    !values.token && "--token is required",
    !/^[0-9a-fA-F]+$/.test(values.token ?? "0") && "--token must be hex",
    env !== "development" && env !== "production" && "--env must be development or production",
    !PUSH_TYPES.includes(pushType) && `--push-type must be one of ${PUSH_TYPES.join(", ")}`,
    !values.key && !values.cert && "give --key/--key-id/--team-id or --cert/--cert-key",
    values.key && (!values["key-id"] || !values["team-id"]) && "--key needs --key-id and --team-id",
  ].filter(Boolean);
  if (problems.length) {
    io.stderr(`${problems.join("\n")}\n${USAGE}`);
    return 2;
  }
  return { values, environment: env as "development" | "production", pushType };
}

/** One push through the dispatch path in `check` mode, over a relay of its own. */
async function pushOnce(push: {
  message: RenderedMessage;
  credential: AppCredential;
  topic: string;
  token: string;
  environment: "development" | "production";
  host?: string;
  caPem?: string;
  timeoutMs: number;
}): Promise<DispatchOutcome> {
  const relay = createRelay({
    transport: {
      hosts: push.host ? { [push.environment]: push.host } : undefined,
      caPem: push.caPem,
      timeoutMs: push.timeoutMs,
      maxAttempts: 2,
    },
    tokenSource: (token) => createMemoryTokenSource(token),
  });
  try {
    const dispatcher = createDispatcher({
      relay,
      credentials: staticCredentialSource({ bundleId: push.topic, credential: push.credential }),
    });
    const { outcomes: [outcome] } = await dispatcher.dispatch({
      appId: "cli",
      message: push.message,
      recipients: [{
        installationId: "cli",
        token: push.token,
        environment: push.environment,
        registeredAt: 0,
      }],
      mode: "check",
    });
    return outcome;
  } finally {
    await relay.close();
  }
}

/** The CLI's message: a `--payload` file as given, or one rendered from the flags. */
async function cliMessage(
  values: Record<string, string | boolean | undefined>,
  pushType: PushType,
): Promise<RenderedMessage> {
  const str = (name: string) => values[name] as string | undefined;
  const priority = str("priority") ? Number(str("priority")) as 10 | 5 | 1 : undefined;
  if (str("payload")) {
    return {
      body: JSON.stringify(JSON.parse(await readFileOption("--payload", str("payload")!))),
      headers: buildHeaders({ bundleId: str("topic")!, pushType, priority }),
    };
  }
  return renderMessage(str("topic")!, {
    pushType,
    priority,
    notification: {
      title: str("title"),
      body: str("body") ??
        (str("title") || pushType !== "alert" ? undefined : "Test notification from edgepush"),
      image: str("image"),
      url: str("url"),
    },
  });
}

/** The credential the flags name; a certificate comes with what it allows. */
async function cliCredential(
  values: Record<string, string | boolean | undefined>,
): Promise<{ credential: AppCredential; certificate?: CertificateSummary }> {
  const str = (name: string) => values[name] as string | undefined;
  if (str("key")) {
    return {
      credential: {
        kind: "token",
        teamId: str("team-id")!,
        keyId: str("key-id")!,
        privateKeyPem: await readFileOption("--key", str("key")!),
      },
    };
  }
  const read = await readCliCertificate(str("cert")!, str("cert-key"), str("password"));
  return {
    // No summary for the relay: the CLI shows what APNs itself answers.
    credential: { kind: "certificate", certPem: read.certificatePem, keyPem: read.privateKeyPem },
    certificate: read.summary,
  };
}

/**
 * Reads `--cert`: a .p12 (with `--password`, default empty), or a PEM certificate with its
 * `--cert-key` PEM (encrypted ones with `--password`).
 */
async function readCliCertificate(
  certPath: string,
  keyPath: string | undefined,
  password: string | undefined,
) {
  const bytes = await readBytesOption("--cert", certPath);
  const text = new TextDecoder().decode(bytes);
  const names = {
    p12: "--cert",
    password: "--password",
    certificate: "--cert",
    privateKey: "--cert-key",
  };
  if (!text.includes("-----BEGIN")) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return await readCertificateFiles({ p12: btoa(binary), password: password ?? "" }, names);
  }
  if (!keyPath) {
    throw new Error(
      "--cert with a PEM certificate needs --cert-key key.pem (or give the .p12 file to --cert)",
    );
  }
  const privateKey = await readFileOption("--cert-key", keyPath);
  return await readCertificateFiles({ certificate: text, privateKey, password }, names);
}

/** Prints what a certificate allows, and what APNs will refuse for this push. */
function describeCertificate(
  summary: CertificateSummary,
  push: { environment: "development" | "production"; topic: string | undefined },
  io: CliIo,
): void {
  const days = daysLeft(summary.expiresAt);
  io.stdout(`certificate: ${summary.subject} (sha256 ${summary.fingerprint.slice(0, 16)}…)`);
  io.stdout(
    `  environments: ${summary.environments.join(", ") || "none (not an APNs certificate)"}`,
  );
  io.stdout(`  topics:       ${summary.topics.join(", ") || "none"}`);
  io.stdout(
    `  valid:        ${summary.notBefore} → ${summary.expiresAt} (${
      days < 0 ? "expired" : `${days} days left`
    })`,
  );
  const refusal = certificateRefusal(summary, push);
  const warning: Record<string, string> = {
    ExpiredCertificate:
      "it has expired: APNs will refuse it; renew it in the Apple Developer portal",
    BadCertificateEnvironment: `it does not cover ${push.environment}: APNs will answer ` +
      "BadCertificateEnvironment",
    TopicDisallowed: `it does not list the topic ${push.topic}: APNs will answer TopicDisallowed`,
  };
  if (refusal) io.stdout(`  ! ${warning[refusal]}`);
  else if (days <= CERTIFICATE_WARNING_DAYS) {
    io.stdout(`  ! it expires in ${days} days: renew it in the Apple Developer portal`);
  }
}

/** Prints APNs' answer (and what it usually means); the exit code: 0 only when accepted. */
function explain(
  outcome: DispatchOutcome,
  environment: string,
  io: CliIo,
  certificate?: CertificateSummary,
): number {
  if (outcome.outcome === "accepted") {
    io.stdout(`accepted: 200 apns-id ${outcome.apnsId ?? "-"} (${environment})`);
    return 0;
  }
  const reason = outcome.reason ?? "Unknown";
  if (outcome.apns) {
    const when = outcome.apns.timestamp
      ? ` since ${new Date(outcome.apns.timestamp).toISOString()}`
      : "";
    io.stdout(
      `rejected: ${outcome.apns.status} ${reason}${when} apns-id ${outcome.apnsId ?? "-"}`,
    );
  } else io.stdout(`failed: ${reason}`);
  if (EXPLANATIONS[reason]) io.stdout(`  → ${EXPLANATIONS[reason]}`);
  if (certificate && reason === "BadCertificateEnvironment") {
    io.stdout(`  → this certificate covers ${certificate.environments.join(" and ") || "neither"}`);
  }
  if (certificate && reason === "TopicDisallowed") {
    io.stdout(`  → this certificate's topics: ${certificate.topics.join(", ") || "none"}`);
  }
  return 1;
}

const FILE_HINTS: Record<string, string> = {
  "--key": "the .p8 file Apple issued (App Store Connect → Users and Access → Keys)",
  "--cert":
    "the .p12 Keychain Access exported, or the certificate's PEM (openssl pkcs12 -in cert.p12 -clcerts -nokeys -out cert.pem)",
  "--cert-key": "its private key's PEM (openssl pkcs12 -in cert.p12 -nocerts -nodes -out key.pem)",
  "--payload": "a JSON file holding the whole APNs payload",
  "--ca": "the PEM CA to trust (a mock's, e.g. what `deno task mock-apns --ca-out` wrote)",
  "APNS_CA_FILE": "the PEM CA to trust (a mock's, e.g. what `deno task mock-apns --ca-out` wrote)",
};

/** Reads the file an option names; a missing or unreadable one says which option and what it wants. */
async function readFileOption(option: string, path: string): Promise<string> {
  return new TextDecoder().decode(await readBytesOption(option, path));
}

/** {@linkcode readFileOption}, as bytes (a .p12 is binary). */
async function readBytesOption(option: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : (error as Error).message.split(":")[0];
    throw new Error(`${option} ${path}: ${why}. Give the path of ${FILE_HINTS[option]}.`);
  }
}
