/**
 * The API's timestamp schema: an ISO 8601 date-time with an offset (`Z` or `±hh:mm`), seconds
 * and fractions optional (`2030-12-01T10:00Z` is as valid as `2030-12-01T10:00:00.000+01:00`).
 * zod's own `iso.datetime` insists on seconds, which people writing a schedule by hand omit.
 *
 * @module
 */
import { z } from "zod";

const ISO_DATE_TIME =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

/** An ISO 8601 date-time with an offset, seconds optional; stays a string. */
export const IsoDateTime = z.string().max(40).refine(
  (value) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
  { message: "expected an ISO 8601 date-time with an offset, e.g. 2030-12-01T10:00:00Z" },
).meta({ format: "date-time" });
