/**
 * "Why didn't it arrive?": the checklist a support engineer runs on one installation, each
 * check a sentence saying what to do. Used by the API and the console alike.
 *
 * @module
 */
export * from "./diagnosis.ts";
export * from "./schemas.ts";
