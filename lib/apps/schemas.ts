/**
 * Request and response schemas of the apps admin API.
 *
 * @module
 */
import { z } from "zod";

/** An app id: server-issued, `app_` + 24 hex. */
export const AppId = z.string().regex(/^app_[0-9a-f]{24}$/, "not an app id");

/** Token-auth APNs credential as uploaded: the .p8 key in PEM. */
export const ApnsTokenCredentialInput = z.strictObject({
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, "teamId is 10 uppercase letters or digits"),
  keyId: z.string().regex(/^[A-Z0-9]{10}$/, "keyId is 10 uppercase letters or digits"),
  privateKey: z.string().min(100).max(4096),
});

/** Certificate-auth APNs credential: PEM certificate and PEM private key. */
export const ApnsCertificateInput = z.strictObject({
  certificate: z.string().min(100).max(16_384),
  privateKey: z.string().min(100).max(16_384),
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
  apns: ApnsTokenCredentialInput,
  certificate: ApnsCertificateInput.optional(),
});

/** `PATCH /v1/apps/:appId` body: every field optional; `certificate: null` removes it. */
export const UpdateAppBody = z.strictObject({
  name: z.string().trim().min(1).max(128).optional(),
  urlScheme: urlScheme.nullable().optional(),
  requireUserSignature: z.boolean().optional(),
  rotateUserSigningSecret: z.literal(true).optional(),
  apns: ApnsTokenCredentialInput.optional(),
  certificate: ApnsCertificateInput.nullable().optional(),
});

/** `POST /v1/apps` answer: the secrets are shown here once. */
export const CreatedApp = z.object({
  appId: AppId,
  appKey: z.string(),
  serverKey: z.string(),
  userSigningSecret: z.string().optional(),
});

/** The app as admins see it: credential summaries, never secrets. */
export const AppView = z.object({
  appId: AppId,
  name: z.string(),
  bundleId: z.string(),
  urlScheme: z.string().nullable(),
  requireUserSignature: z.boolean(),
  appKey: z.string(),
  apns: z.object({ teamId: z.string(), keyId: z.string() }),
  certificate: z.object({ expiresAt: z.string().nullable() }).nullable(),
  credentialError: z.object({ reason: z.string(), message: z.string(), at: z.string() })
    .nullable(),
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
