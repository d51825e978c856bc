/**
 * Request validation with zod at the edge. Every failure is a `ValidationFailed` (400) whose
 * `details` are the zod issues, so handlers only ever see valid, typed input.
 *
 * @module
 */
import { validator } from "hono/validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { ValidationFailed } from "../../lib/errors.ts";

/** Validates one request part (`json`, `param`, `query`, `header`) against a zod schema. */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return validator(target, (value): z.output<Schema> => {
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new ValidationFailed(
        `invalid ${target === "json" ? "body" : target}`,
        issues(result.error),
      );
    }
    return result.data;
  });
}

/** zod issues in the public error shape: path, message and code. */
export function issues(error: z.ZodError): unknown[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
    code: issue.code,
  }));
}
