/**
 * Request and response schemas of the token registry (SDK and server routes). They are the
 * single source of the validation rules and feed the OpenAPI document.
 *
 * @module
 */
import { AppId } from "../apps/schemas.ts";
import { z } from "zod";
import { IsoDateTime } from "../iso_time.ts";

/** `production` | `development`: the APNs host that knows the token. */
export const Environment = z.enum(["production", "development"]);

/** The notification permission the SDK reports. */
export const PushAuthorization = z.enum([
  "authorized",
  "provisional",
  "ephemeral",
  "denied",
  "notDetermined",
]);

/** An installation's status. */
export const InstallationStatus = z.enum([
  "active",
  "replaced",
  "unregistered",
  "bad_token",
  "deleted",
]);

/** An APNs device token: even-length hex, 64–200 characters, normalised to lowercase. */
export const ApnsToken = z.string()
  .regex(/^(?:[0-9a-fA-F]{2}){32,100}$/, "token is even-length hex, 64-200 characters")
  .transform((token) => token.toLowerCase());

/** A server-issued installation id (≤ 64 characters). */
export const InstallationId = z.string().min(1).max(64).regex(
  /^[A-Za-z0-9_-]+$/,
  "installation ids are letters, digits, '_' and '-'",
);

/** The app's own user id (≤ 128 characters, no control characters). */
export const UserId = z.string().min(1).max(128).regex(
  // deno-lint-ignore no-control-regex
  /^[^\u0000-\u001f\u007f]+$/,
  "userId must not contain control characters",
);

/** Hex HMAC-SHA256(userSigningSecret, userId), required by apps with `requireUserSignature`. */
export const UserSignature = z.string().regex(/^[0-9a-fA-F]{64}$/, "hex HMAC-SHA256");

/** A send id as the sends API issues it. */
export const SendId = z.string().min(1).max(64).regex(
  /^[A-Za-z0-9_-]+$/,
  "send ids are letters, digits, '_' and '-'",
);

/** One attribute value. */
export const AttributeValue = z.union([z.string().max(256), z.number(), z.boolean()]);

/** Most attribute keys an installation may carry. */
export const MAX_ATTRIBUTES = 50;

/** An attribute map whose values are `value` (the standard keys are strings of that kind). */
function attributeMap<Value extends z.ZodType>(value: Value, standard: z.ZodType) {
  return z.object({
    appVersion: standard.optional(),
    osVersion: standard.optional(),
    locale: standard.optional(),
    timezone: standard.optional(),
    deviceModel: standard.optional(),
    sdkVersion: standard.optional(),
  }).catchall(value).superRefine((attrs, ctx) => {
    const keys = Object.keys(attrs);
    if (keys.length > MAX_ATTRIBUTES) {
      ctx.addIssue({
        code: "custom",
        message: `at most ${MAX_ATTRIBUTES} attributes (got ${keys.length})`,
      });
    }
    for (const key of keys) {
      if (key.length === 0 || key.length > 64) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: "attribute keys are 1-64 characters",
        });
      }
    }
  });
}

/**
 * Attributes: one flat map with the standard keys plus custom keys at the same level, at most
 * 50 keys of at most 64 characters each.
 */
export const Attributes = attributeMap(AttributeValue, z.string().max(256));

/**
 * A change to the attributes (`PATCH`): merged into the stored map, `null` removes a key. The
 * merged map still holds at most 50 keys.
 */
export const AttributesPatch = attributeMap(
  AttributeValue.nullable(),
  z.string().max(256).nullable(),
);

/** `POST /v1/sdk/installations` body. */
export const RegisterBody = z.strictObject({
  installationId: InstallationId.optional(),
  token: ApnsToken,
  environment: Environment,
  userId: UserId.optional(),
  userSignature: UserSignature.optional(),
  /** Default `authorized` for a new installation; a refresh keeps the stored value. */
  pushAuthorization: PushAuthorization.optional(),
  /** Replaces the stored attributes when present. */
  attributes: Attributes.optional(),
});

/** `PATCH /v1/sdk/installations/:id` body: every field optional. */
export const UpdateBody = z.strictObject({
  token: ApnsToken.optional(),
  environment: Environment.optional(),
  pushAuthorization: PushAuthorization.optional(),
  /** Merged into the stored attributes; `null` removes a key. */
  attributes: AttributesPatch.optional(),
  userId: UserId.optional(),
  userSignature: UserSignature.optional(),
});

/** `PUT /v1/sdk/installations/:id/user` body. */
export const BindUserBody = z.strictObject({
  userId: UserId,
  userSignature: UserSignature.optional(),
});

/** Most events per `POST /v1/sdk/events` batch. */
export const MAX_EVENTS_PER_BATCH = 100;

/** One SDK event. `at` (ISO 8601, default now) is validated and currently informational. */
export const SdkEvent = z.strictObject({
  type: z.enum(["delivered", "opened"]),
  sendId: SendId,
  installationId: InstallationId,
  at: IsoDateTime.optional(),
});

/** `POST /v1/sdk/events` body. */
export const EventsBody = z.strictObject({
  events: z.array(SdkEvent).min(1).max(MAX_EVENTS_PER_BATCH),
});

/** Path params. */
export const InstallationParam = z.object({ id: InstallationId });
/** Path params of the server routes. */
export const ServerInstallationParam = z.object({ appId: AppId, id: InstallationId });
/** Path params of the server user routes. */
export const ServerUserParam = z.object({ appId: AppId, userId: UserId });

/** The installation as the API shows it. Times are ISO 8601, null where unset. */
export const InstallationView = z.object({
  installationId: z.string(),
  appId: z.string(),
  token: z.string().nullable(),
  environment: Environment,
  userId: z.string().nullable(),
  pushAuthorization: PushAuthorization,
  attributes: z.record(z.string(), AttributeValue),
  status: InstallationStatus,
  statusReason: z.string().nullable(),
  statusAt: z.string().nullable(),
  registeredAt: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
});

/** 201 answer of `POST /v1/sdk/installations`: a new installation; the secret is shown once. */
export const RegisterCreatedResponse = z.object({
  installationId: z.string(),
  installationSecret: z.string(),
  reason: z.literal("restored").optional(),
});

/** 200 answer of `POST /v1/sdk/installations`: an existing installation was refreshed. */
export const RegisterRefreshedResponse = z.object({
  installationId: z.string(),
  status: InstallationStatus,
});

/** `GET /v1/apps/:appId/users/:userId` answer. */
export const UserInstallationsResponse = z.object({
  userId: z.string(),
  installations: z.array(InstallationView),
});

/** 202 answer of `POST /v1/sdk/events`. */
export const EventsResponse = z.object({
  /** Counted now. */
  accepted: z.number().int(),
  /** Already counted for the same (send, installation, type). */
  duplicates: z.number().int(),
  /** For installations this app does not have; not counted. */
  rejected: z.number().int(),
});

/** Inferred types. */
export type RegisterInput = z.infer<typeof RegisterBody>;
/** Inferred types. */
export type UpdateInput = z.infer<typeof UpdateBody>;
/** Inferred types. */
export type InstallationViewData = z.infer<typeof InstallationView>;
/** Inferred types. */
export type SdkEventInput = z.infer<typeof SdkEvent>;
/** `production` | `development`. */
export type EnvironmentName = z.infer<typeof Environment>;
/** Push authorization values. */
export type PushAuthorizationValue = z.infer<typeof PushAuthorization>;
/** Status values. */
export type InstallationStatusValue = z.infer<typeof InstallationStatus>;
/** Attribute map. */
export type AttributeMap = Record<string, string | number | boolean>;

/** A change to an attribute map: `null` removes the key. */
export type AttributeChanges = Record<string, string | number | boolean | null>;
