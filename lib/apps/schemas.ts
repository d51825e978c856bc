/**
 * Request and response schemas of the apps admin API.
 *
 * @module
 */
import { z } from "zod";

/** An app id: server-issued, `app_` + 24 hex. */
export const AppId = z.string().regex(/^app_[0-9a-f]{24}$/, "not an app id");

/**
 * The `:appId` path parameter of every `/v1/apps/:appId/…` route (and its OpenAPI entry). Any id
 * edgepush never issued names an unknown app (404), as for installations, sends and users; only
 * an id no id could be (over 64 characters, or other characters) is a 400.
 */
export const AppParam = z.object({
  appId: z.string().min(1).max(64).regex(
    /^[A-Za-z0-9_-]+$/,
    "app ids are letters, digits, '_' and '-'",
  ),
});

/** Token-auth APNs credential as uploaded: the .p8 key in PEM. */
export const ApnsTokenCredentialInput = z.strictObject({
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, "teamId is 10 uppercase letters or digits"),
  keyId: z.string().regex(/^[A-Z0-9]{10}$/, "keyId is 10 uppercase letters or digits"),
  privateKey: z.string().min(100).max(4096),
});

const certificatePassword = z.string().max(1024);

/** A certificate credential as a `.p12` file (base64), as Keychain Access exports it. */
export const ApnsCertificateP12Input = z.strictObject({
  p12: z.string().min(16).max(65_536),
  password: certificatePassword.optional(),
});

/** A certificate credential as PEM; `password` decrypts an encrypted private key. */
export const ApnsCertificatePemInput = z.strictObject({
  certificate: z.string().min(100).max(16_384),
  privateKey: z.string().min(100).max(16_384),
  password: certificatePassword.optional(),
});

/** Certificate-auth APNs credential: a .p12, or a PEM certificate and private key. */
export const ApnsCertificateInput = z.union([ApnsCertificateP12Input, ApnsCertificatePemInput], {
  error: "certificate is {p12, password?} (base64 of a .p12) or {certificate, privateKey, " +
    "password?} (PEM)",
});

const bundleId = z.string().min(1).max(155).regex(
  /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/,
  "bundleId looks like com.example.app",
);
const urlScheme = z.string().min(1).max(64).regex(
  /^[A-Za-z][A-Za-z0-9+.-]*$/,
  "urlScheme is a URL scheme such as myapp",
);

/** `POST /v1/apps` body. */
export const CreateAppBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  bundleId,
  urlScheme: urlScheme.optional(),
  requireUserSignature: z.boolean().optional(),
  apns: ApnsTokenCredentialInput.optional(),
  certificate: ApnsCertificateInput.optional(),
}).superRefine((body, ctx) => {
  if (body.apns || body.certificate) return;
  const message = "an app needs a credential: apns (token auth: teamId, keyId, .p8 key) or " +
    "certificate (.p12 or PEM), or both";
  for (const path of ["apns", "certificate"]) {
    ctx.addIssue({ code: "custom", path: [path], message });
  }
});

/**
 * `PATCH /v1/apps/:appId` body: every field optional; `apns: null` or `certificate: null`
 * removes that credential (the last one cannot be removed).
 */
export const UpdateAppBody = z.strictObject({
  name: z.string().trim().min(1).max(128).optional(),
  urlScheme: urlScheme.nullable().optional(),
  requireUserSignature: z.boolean().optional(),
  rotateUserSigningSecret: z.literal(true).optional(),
  apns: ApnsTokenCredentialInput.nullable().optional(),
  certificate: ApnsCertificateInput.nullable().optional(),
});

/** `POST /v1/apps` answer: the secrets are shown here once. */
export const CreatedApp = z.object({
  appId: AppId,
  appKey: z.string(),
  serverKey: z.string(),
  userSigningSecret: z.string().optional(),
});

/** What a certificate allows, read from it on upload; never the key. */
export const CertificateView = z.object({
  subject: z.string(),
  environments: z.array(z.enum(["development", "production"])),
  topics: z.array(z.string()),
  notBefore: z.string(),
  expiresAt: z.string(),
  daysLeft: z.number().int(),
  fingerprint: z.string(),
});

/** A warning about the app's credentials (`certificate_expires_soon`, `certificate_expired`). */
export const Warning = z.object({ code: z.string(), message: z.string() });

/** The app as admins see it: credential summaries, never secrets. */
export const AppView = z.object({
  appId: AppId,
  name: z.string(),
  bundleId: z.string(),
  urlScheme: z.string().nullable(),
  requireUserSignature: z.boolean(),
  appKey: z.string(),
  apns: z.object({ teamId: z.string(), keyId: z.string() }).nullable(),
  certificate: CertificateView.nullable(),
  credentialError: z.object({ reason: z.string(), message: z.string(), at: z.string() })
    .nullable(),
  warnings: z.array(Warning),
  createdAt: z.string(),
  updatedAt: z.string(),
  userSigningSecret: z.string().optional(),
});

/** Inferred input types. */
export type CreateAppInput = z.infer<typeof CreateAppBody>;
/** Inferred input types. */
export type UpdateAppInput = z.infer<typeof UpdateAppBody>;
/** Admin view of an app. */
export type AppViewData = z.infer<typeof AppView>;
