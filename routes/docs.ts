/**
 * `/openapi.json` and `/docs`: the OpenAPI 3.1 document built from the same zod schemas that
 * validate requests, and a self-contained HTML reference rendered from it (no CDN, so it works
 * offline). Both are built once, on first request.
 *
 * @module
 */
import { Hono } from "hono";
import { API_TAGS, apiOperations } from "../lib/openapi/catalogue.ts";
import {
  buildOpenApiDocument,
  type OpenApiDocument,
  type OperationSpec,
  renderReferenceHtml,
} from "../lib/openapi/mod.ts";
import type { AppEnv } from "./context.ts";

/** Options of {@linkcode docsRoutes}. */
export interface DocsOptions {
  /** The operations to document. Default: {@linkcode apiOperations}. */
  operations?: OperationSpec[];
  /** `info.version`. Default: `"1"`. */
  version?: string;
}

/** Builds edgepush's OpenAPI document. */
export function edgepushDocument(options: DocsOptions = {}): OpenApiDocument {
  return buildOpenApiDocument({
    info: {
      title: "edgepush",
      version: options.version ?? "1",
      description: "Push-token registry and APNs relay.",
    },
    tags: API_TAGS,
    operations: options.operations ?? apiOperations(),
  });
}

/** Docs routes; mounted at `/`. */
export function docsRoutes(options: DocsOptions = {}) {
  let document: OpenApiDocument | undefined;
  let html: string | undefined;
  const doc = () => document ??= edgepushDocument(options);
  return new Hono<AppEnv>()
    .get("/openapi.json", (c) => c.json(doc()))
    .get("/docs", (c) => {
      html ??= renderReferenceHtml(doc());
      c.header(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; " +
          "script-src 'unsafe-inline'; connect-src 'self'",
      );
      return c.html(html);
    });
}
