/**
 * OpenAPI 3.1 from the zod schemas that validate requests, and a self-contained HTML reference.
 *
 * @module
 */
export * from "./document.ts";
export * from "./html.ts";
export * from "./types.ts";
