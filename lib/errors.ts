/**
 * Domain errors: one class per kind of failure, checked with `instanceof`. They say what went
 * wrong, never how HTTP answers it: routes/errors.ts maps each class to a status and the API's
 * error code (docs/api.md), in one table.
 *
 * @module
 */

/** Base class of every error the domain reports to its callers on purpose. */
export class EdgepushError extends Error {
  override name = "EdgepushError";
  /** Extra structured detail (zod issues, sizes, …). */
  readonly details: unknown[];

  constructor(message: string, details: unknown[] = []) {
    super(message);
    this.details = details;
  }
}

/** The request is malformed or breaks a rule. */
export class ValidationFailed extends EdgepushError {
  override name = "ValidationFailed";
  constructor(message: string, details: unknown[] = []) {
    super(message, details);
  }
}

/** Credentials are missing or wrong. */
export class Unauthorized extends EdgepushError {
  override name = "Unauthorized";
  constructor(message = "missing or invalid credentials") {
    super(message);
  }
}

/** Credentials are valid but not for this resource. */
export class Forbidden extends EdgepushError {
  override name = "Forbidden";
  constructor(message = "not allowed") {
    super(message);
  }
}

/** The named resource does not exist (or is not visible to the caller). */
export class NotFound extends EdgepushError {
  override name = "NotFound";
  constructor(message = "not found") {
    super(message);
  }
}

/** The request conflicts with the current state. */
export class Conflict extends EdgepushError {
  override name = "Conflict";
  constructor(message: string, details: unknown[] = []) {
    super(message, details);
  }
}

/** The resource existed but has expired. */
export class Gone extends EdgepushError {
  override name = "Gone";
  constructor(message: string) {
    super(message);
  }
}

/** The body is over its size limit. */
export class PayloadTooLarge extends EdgepushError {
  override name = "PayloadTooLarge";
  /** `hint` (optional) says how to send what did not fit. */
  constructor(limitBytes: number, hint?: string) {
    super(`request body exceeds ${limitBytes} bytes${hint ? `: ${hint}` : ""}`, [
      { limit: limitBytes },
    ]);
  }
}

/** The caller is over its rate limit; `retryAfterSeconds` says when to retry. */
export class RateLimited extends EdgepushError {
  override name = "RateLimited";
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(`rate limit exceeded; retry in ${retryAfterSeconds}s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * What a client is told when Redis cannot be reached. The client library's own words (retry
 * counts, option names) stay in the log, through the error's `cause`.
 */
export const REDIS_UNREACHABLE = "storage (Redis) is unreachable; retry shortly";

/** Redis (or another backing service) cannot be reached; retrying shortly may succeed. */
export class Unavailable extends EdgepushError {
  override name = "Unavailable";
  constructor(message = "storage is unavailable", options?: ErrorOptions) {
    super(message);
    if (options?.cause) this.cause = options.cause;
  }
}
