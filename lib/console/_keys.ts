/**
 * Redis keys of the console. Sessions and sign-in failures are not per app (an admin session
 * spans every app), so they carry no app hash tag; each is touched by single commands only.
 */
export const consoleKeys = {
  /** String (JSON): one session, keyed by the SHA-256 of its id; expires with the session. */
  session: (idHash: string) => `ep:v1:console:sess:${idHash}`,
  /** Hash `{count, last}`: a client's recent failed sign-ins; expires after the window. */
  signInFailures: (client: string) => `ep:v1:console:signin:${client}`,
};
