/**
 * Request and response schemas of test sessions (scan-to-bind test devices and preview sends).
 *
 * @module
 */
import { z } from "zod";
import { AppId, AppParam } from "../apps/schemas.ts";
import { Environment, InstallationId } from "../registry/schemas.ts";
import { RecipientResult } from "../sends/schemas.ts";
import { MessageFields, requireContent } from "../dispatch/schemas.ts";

/** The alphabet of session codes: Crockford base32 (no I, L, O, U), 32 symbols. */
export const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Length of a session code: 12 symbols × 5 bits = 60 bits from the CSPRNG. */
export const CODE_LENGTH = 12;

/** A test-session code as it appears in paths and deep links. */
export const TestSessionCode = z.string().regex(
  new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`),
  `a test-session code is ${CODE_LENGTH} characters of ${CODE_ALPHABET}`,
);

/**
 * A code as a person or a QR reader may pass it back: Crockford base32 is read in any case,
 * with its look-alikes (I and L for 1, O for 0) and group hyphens forgiven.
 */
export function normalizeCode(raw: string): string {
  return raw.toUpperCase().replaceAll("-", "").replace(/[IL]/g, "1").replaceAll("O", "0");
}

const CodeInput = z.string().max(64).transform(normalizeCode).pipe(TestSessionCode);

/** `/v1/apps/:appId/test-sessions` path parameters. */
export const TestSessionAppParam = AppParam;

/** `/v1/apps/:appId/test-sessions/:code…` path parameters. */
export const TestSessionParam = z.object({ appId: AppId, code: CodeInput });

/** `/v1/sdk/test-sessions/:code/devices` path parameters. */
export const TestSessionCodeParam = z.object({ code: CodeInput });

/** `POST /v1/apps/:appId/test-sessions` body: empty (unknown fields are rejected). */
export const CreateTestSessionBody = z.strictObject({});

/** `POST /v1/apps/:appId/test-sessions` answer. */
export const CreatedTestSession = z.object({
  code: TestSessionCode,
  deepLink: z.string().describe("`<urlScheme>://edgepush/test-session?code=<code>`"),
  qrSvg: z.string().describe("an SVG image of a QR code that encodes deepLink"),
  expiresAt: z.string().describe("ISO 8601; 10 minutes after creation"),
});

/** `POST /v1/sdk/test-sessions/:code/devices` body. */
export const BindTestDeviceBody = z.strictObject({ installationId: InstallationId });

/** `POST /v1/sdk/test-sessions/:code/devices` answer. */
export const BoundTestDevice = z.object({
  code: TestSessionCode,
  installationId: InstallationId,
  expiresAt: z.string(),
});

/** One bound device, as `GET …/test-sessions/:code` lists it. */
export const TestDevice = z.object({
  installationId: z.string(),
  deviceModel: z.string().nullable(),
  osVersion: z.string().nullable(),
  environment: Environment,
});

/** `GET /v1/apps/:appId/test-sessions/:code` answer. */
export const TestSessionView = z.object({
  code: TestSessionCode,
  expiresAt: z.string(),
  devices: z.array(TestDevice),
});

/**
 * `POST /v1/apps/:appId/test-sessions/:code/sends` body: a send's content options, without
 * audience or scheduling (the audience is the session's devices; the preview goes out now).
 */
export const PreviewSendBody = z.strictObject(MessageFields).superRefine(requireContent);

/** One device's APNs answer: the `wait:true` result of sends. */
export const PreviewResult = RecipientResult;

/** `POST /v1/apps/:appId/test-sessions/:code/sends` answer. */
export const PreviewSendResult = z.object({ results: z.array(PreviewResult) });

/** Inferred types. */
export type CreatedTestSessionData = z.infer<typeof CreatedTestSession>;
/** Inferred types. */
export type TestSessionViewData = z.infer<typeof TestSessionView>;
/** Inferred types. */
export type TestDeviceData = z.infer<typeof TestDevice>;
/** Inferred types. */
export type PreviewSendInput = z.infer<typeof PreviewSendBody>;
/** Inferred types. */
export type PreviewResultData = z.infer<typeof PreviewResult>;
