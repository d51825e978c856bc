/**
 * The error raised when APNs (or our own checks) say the app's credential cannot be used.
 *
 * @module
 */

/**
 * The APNs credential is unusable: a bad or revoked key, a bad certificate, or a clock skew
 * that makes fresh tokens look expired. Sending more with it only risks APNs blocking it.
 */
export class ApnsCredentialError extends Error {
  override name = "ApnsCredentialError";
  /** The APNs reason (e.g. `InvalidProviderToken`) or our own (`ClockSkew`). */
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Why APNs refused an app's credential, in the words shown to the app's owner. */
export interface CredentialProblem {
  /** The APNs reason (e.g. `InvalidProviderToken`) or our own (`ClockSkew`). */
  reason: string;
  /** What to do about it. */
  message: string;
}
