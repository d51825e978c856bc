/**
 * The marketer console at `/console`: Hono JSX pages over the same lib/ services as the API,
 * with one small script module and one stylesheet served by edgepush itself.
 *
 * @module
 */
export { consoleRoutes } from "./console.tsx";
export type { ConsoleDeps } from "./context.ts";
export { CONSOLE_CSP } from "./security.ts";
