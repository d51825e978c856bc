/**
 * Redis access in three modes behind one `@upstash/redis` `Redis`: the stock HTTP client, a TCP
 * requester, and a private embedded redis-server; plus the Upstash REST gateway.
 *
 * @module
 */
export * from "./client.ts";
export * from "./server_process.ts";
export * from "./tcp_requester.ts";
export * from "./gateway.ts";
export * from "./script_flags.ts";
export * from "./function_library.ts";
