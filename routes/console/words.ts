/**
 * Plain words for what APNs and the relay answer, for people who do not read APNs' docs.
 *
 * @module
 */

const REASONS: Record<string, string> = {
  BadDeviceToken:
    "The token is not valid for this environment (a development build's token sent to production, or the reverse), or it is malformed.",
  DeviceTokenNotForTopic: "The token belongs to another app (another bundle id).",
  Unregistered: "The app was uninstalled, or the user turned push off; the token is retired.",
  ExpiredProviderToken: "APNs found the signing token too old: check the server's clock.",
  InvalidProviderToken:
    "APNs rejected the .p8 key: check its team id and key id, and that the key is not revoked.",
  MissingProviderToken: "No credential was sent: upload a .p8 key on the Apps page.",
  BadCertificate: "APNs rejected the certificate: it may be expired, revoked or not for push.",
  BadCertificateEnvironment: "The certificate does not cover this device's environment.",
  ExpiredCertificate: "The app's certificate has expired: upload a renewed one.",
  TopicDisallowed: "The credential may not push to this topic (push type).",
  BadTopic: "The topic is wrong: it must be the app's bundle id.",
  PayloadTooLarge: "The notification is too large for APNs (4 KB, 5 KB for VoIP).",
  TooManyRequests: "Too many notifications to this device in a short time; APNs throttled it.",
  TooManyProviderTokenUpdates: "The signing token was renewed too often.",
  InternalServerError: "APNs had an internal error; it was retried.",
  ServiceUnavailable: "APNs was unavailable; it was retried.",
  Shutdown: "APNs was shutting the connection down; it was retried.",
  Timeout: "APNs did not answer in time.",
  ConnectionFailed: "edgepush could not connect to APNs: check the network and the APNs hosts.",
  Unconfirmed:
    "A worker stopped while this push was in flight, so nobody knows whether APNs took it; it was not sent again, so nobody got it twice.",
  Denied: "Skipped: the user turned notifications off for the app.",
  NotFound: "Skipped: the installation no longer exists.",
  NoToken: "Skipped: the app never registered a push token on this device.",
  Stale: "Skipped: the app has not been opened for a long time.",
  EnvironmentFiltered: "Skipped: the device is in the other environment than the send's.",
  BadExpirationDate: "The expiry date was refused by APNs.",
  BadPriority: "The priority is not valid for this push type.",
  MissingTopic: "No topic was sent.",
};

/** A sentence explaining an APNs reason or a skip reason. */
export function explainReason(reason: string | undefined | null): string {
  if (!reason) return "";
  if (reason.startsWith("Inactive:")) {
    const status = reason.slice("Inactive:".length);
    return `Skipped: the installation is ${status.replace("_", " ")}, so it is not sent to.`;
  }
  return REASONS[reason] ?? `APNs answered ${reason}.`;
}

/** A recipient result in plain words. */
export function describeResult(result: { status: string; reason?: string }): string {
  if (result.status === "accepted") return "Accepted by APNs: it is on its way to the device.";
  if (result.status === "skipped") return explainReason(result.reason) || "Skipped.";
  return `Failed: ${explainReason(result.reason) || "APNs refused it."}`;
}

/** A send status in plain words. */
export const SEND_STATUS_WORDS: Record<string, string> = {
  scheduled: "Scheduled",
  queued: "Queued",
  resolving: "Finding recipients",
  sending: "Sending",
  completed: "Completed",
  cancelled: "Cancelled",
  failed: "Failed",
};

/** Formats a count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}
