/**
 * Test sessions: scan a QR code on a test device to bind it, then push previews to it.
 *
 * @module
 */
export * from "./code.ts";
export * from "./qr.ts";
export * from "./schemas.ts";
export * from "./test_sessions.ts";
