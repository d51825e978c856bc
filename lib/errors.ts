/**
 * Domain errors. Each carries the HTTP status and the stable `code` of docs/api.md's error
 * shape, so the single `onError` in routes/ can map any of them without special cases.
 *
 * @module
 */

/** The stable error codes of the HTTP API. */
export type ErrorCode =
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "gone"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable"
  | "internal";

/** Base class of every error that the API reports with its own code. */
export class EdgepushError extends Error {
  override name = "EdgepushError";
  /** HTTP status the error maps to. */
  readonly status: number;
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Extra structured detail (zod issues, sizes, …). */
  readonly details: unknown[];

  constructor(status: number, code: ErrorCode, message: string, details: unknown[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** 400: the request is malformed or breaks a rule. */
export class ValidationFailed extends EdgepushError {
  override name = "ValidationFailed";
  constructor(message: string, details: unknown[] = []) {
    super(400, "validation_failed", message, details);
  }
}

/** 401: credentials are missing or wrong. */
export class Unauthorized extends EdgepushError {
  override name = "Unauthorized";
  constructor(message = "missing or invalid credentials") {
    super(401, "unauthorized", message);
  }
}

/** 403: credentials are valid but not for this resource. */
export class Forbidden extends EdgepushError {
  override name = "Forbidden";
  constructor(message = "not allowed") {
    super(403, "forbidden", message);
  }
}

/** 404: the named resource does not exist (or is not visible to the caller). */
export class NotFound extends EdgepushError {
  override name = "NotFound";
  constructor(message = "not found") {
    super(404, "not_found", message);
  }
}

/** 409: the request conflicts with the current state. */
export class Conflict extends EdgepushError {
  override name = "Conflict";
  constructor(message: string, details: unknown[] = []) {
    super(409, "conflict", message, details);
  }
}

/** 410: the resource existed but has expired. */
export class Gone extends EdgepushError {
  override name = "Gone";
  constructor(message: string) {
    super(410, "gone", message);
  }
}

/** 413: the body is over its size limit. */
export class PayloadTooLarge extends EdgepushError {
  override name = "PayloadTooLarge";
  /** `hint` (optional) says how to send what did not fit. */
  constructor(limitBytes: number, hint?: string) {
    super(
      413,
      "payload_too_large",
      `request body exceeds ${limitBytes} bytes${hint ? `: ${hint}` : ""}`,
      [{ limit: limitBytes }],
    );
  }
}

/** 429: the caller is over its rate limit; `retryAfterSeconds` feeds `Retry-After`. */
export class RateLimited extends EdgepushError {
  override name = "RateLimited";
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(429, "rate_limited", `rate limit exceeded; retry in ${retryAfterSeconds}s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * What a client is told when Redis cannot be reached. The client library's own words (retry
 * counts, option names) stay in the log, through the error's `cause`.
 */
export const REDIS_UNREACHABLE = "storage (Redis) is unreachable; retry shortly";

/** 503: Redis (or another backing service) cannot be reached. */
export class Unavailable extends EdgepushError {
  override name = "Unavailable";
  constructor(message = "storage is unavailable", options?: ErrorOptions) {
    super(503, "unavailable", message);
    if (options?.cause) this.cause = options.cause;
  }
}
