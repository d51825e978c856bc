/**
 * `deno task push`: send one notification straight to APNs, without Redis or the server, and
 * explain APNs' answer in plain English. For checking a key, a certificate or a device token.
 *
 * ```
 * deno task push --key AuthKey_ABC123.p8 --key-id ABC123 --team-id TEAM123 \
 *   --topic com.example.app --token <hex> --env development --title Hi --body "It works"
 * deno task push --cert cert.pem --cert-key key.pem --topic com.example.app --token <hex> --env production
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildHeaders, PUSH_TYPES, type PushType } from "./headers.ts";
import { createMemoryTokenSource } from "./jwt.ts";
import { buildPayload } from "./payload.ts";
import { ApnsTransportError, type ConnectionCredential, createTransport } from "./transport.ts";

/** Where the CLI writes. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const USAGE = `usage: deno task push --topic <bundle id> --token <hex> --env development|production
  token auth:       --key AuthKey_X.p8 --key-id <id> --team-id <id>
  certificate auth: --cert cert.pem --cert-key key.pem
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
  InvalidProviderToken:
    "APNs rejected the signing key: check --key-id, --team-id, and that the .p8 key is not revoked",
  MissingProviderToken:
    "no credential was sent: pass --key/--key-id/--team-id or --cert/--cert-key",
  BadCertificate:
    "APNs rejected the client certificate: it may be expired, revoked, or not an APNs certificate",
  BadCertificateEnvironment: "the certificate is for the other environment: switch --env",
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
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        key: { type: "string" },
        "key-id": { type: "string" },
        "team-id": { type: "string" },
        cert: { type: "string" },
        "cert-key": { type: "string" },
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
      },
    }));
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
    values.cert && !values["cert-key"] && "--cert needs --cert-key",
  ].filter(Boolean);
  if (problems.length) {
    io.stderr(`${problems.join("\n")}\n${USAGE}`);
    return 2;
  }
  const environment = env as "development" | "production";

  let body: string;
  let headers: Record<string, string>;
  let credential: ConnectionCredential;
  let authorization: string | undefined;
  try {
    body = values.payload
      ? JSON.stringify(JSON.parse(await readFileOption("--payload", values.payload)))
      : buildPayload({
        pushType,
        notification: {
          title: values.title,
          body: values.body ??
            (values.title || pushType !== "alert" ? undefined : "Test notification from edgepush"),
          image: values.image,
          url: values.url,
        },
      }).body;
    headers = buildHeaders({
      bundleId: values.topic!,
      pushType,
      priority: values.priority ? Number(values.priority) as 10 | 5 | 1 : undefined,
    });
    if (values.key) {
      const source = createMemoryTokenSource({
        teamId: values["team-id"]!,
        keyId: values["key-id"]!,
        privateKeyPem: await readFileOption("--key", values.key),
      });
      authorization = `bearer ${await source.current()}`;
      credential = { kind: "token", id: values["team-id"]! };
    } else {
      credential = {
        kind: "certificate",
        id: "cli",
        certPem: await readFileOption("--cert", values.cert!),
        keyPem: await readFileOption("--cert-key", values["cert-key"]!),
      };
    }
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}`);
    return 2;
  }

  const host = values.host ?? defaults.hosts?.[environment];
  const caFile = values.ca ?? defaults.caFile;
  let caPem: string | undefined;
  try {
    caPem = caFile ? await readFileOption(values.ca ? "--ca" : "APNS_CA_FILE", caFile) : undefined;
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}`);
    return 2;
  }
  const transport = createTransport({
    hosts: host ? { [environment]: host } : undefined,
    caPem,
    timeoutMs: Number(values["timeout-ms"]),
    maxAttempts: 2,
  });
  try {
    const res = await transport.send({
      environment,
      deviceToken: values.token!,
      headers,
      body,
      credential,
      authorization,
    });
    if (res.status === 200) {
      io.stdout(`accepted: 200 apns-id ${res.apnsId ?? "-"} (${environment})`);
      return 0;
    }
    const reason = res.reason ?? `HTTP${res.status}`;
    const when = res.timestamp ? ` since ${new Date(res.timestamp).toISOString()}` : "";
    io.stdout(`rejected: ${res.status} ${reason}${when} apns-id ${res.apnsId ?? "-"}`);
    if (EXPLANATIONS[reason]) io.stdout(`  → ${EXPLANATIONS[reason]}`);
    return 1;
  } catch (error) {
    const reason = error instanceof ApnsTransportError ? error.reason : "ConnectionFailed";
    io.stdout(`failed: ${reason}: ${(error as Error).message}`);
    io.stdout(`  → ${EXPLANATIONS[reason]}`);
    return 1;
  } finally {
    await transport.close();
  }
}

const FILE_HINTS: Record<string, string> = {
  "--key": "the .p8 file Apple issued (App Store Connect → Users and Access → Keys)",
  "--cert": "the certificate's PEM (openssl pkcs12 -in cert.p12 -clcerts -nokeys -out cert.pem)",
  "--cert-key": "its private key's PEM (openssl pkcs12 -in cert.p12 -nocerts -nodes -out key.pem)",
  "--payload": "a JSON file holding the whole APNs payload",
  "--ca": "the PEM CA to trust (a mock's, e.g. what `deno task mock-apns --ca-out` wrote)",
  "APNS_CA_FILE": "the PEM CA to trust (a mock's, e.g. what `deno task mock-apns --ca-out` wrote)",
};

/** Reads the file an option names; a missing or unreadable one says which option and what it wants. */
async function readFileOption(option: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : (error as Error).message.split(":")[0];
    throw new Error(`${option} ${path}: ${why}. Give the path of ${FILE_HINTS[option]}.`);
  }
}
