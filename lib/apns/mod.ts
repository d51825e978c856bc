/**
 * The APNs relay: payload and header rules, shared ES256 provider tokens, the HTTP/2 transport,
 * and the batch sender that turns APNs' answers into results and registry feedback.
 *
 * ```ts
 * const relay = createRelay({ redis, transport: { hosts, caPem } });
 * const message = {
 *   body: buildPayload({ pushType: "alert", notification }).body,
 *   headers: buildHeaders({ bundleId, pushType: "alert" }),
 * };
 * const results = await relay.sendBatch(app, message, recipients);
 * ```
 *
 * @module
 */
export * from "./payload.ts";
export * from "./headers.ts";
export * from "./jwt.ts";
export * from "./transport.ts";
export * from "./relay.ts";
export * from "./certificate.ts";
export * from "./credential_error.ts";
