import { IsoDateTime } from "../../lib/iso_time.ts";
import { assertEquals } from "../support/assert.ts";

Deno.test("IsoDateTime takes ISO 8601 with an offset, seconds optional, and refuses the rest", () => {
  for (
    const ok of [
      "2030-12-01T10:00Z",
      "2030-12-01T10:00:59Z",
      "2030-12-01T10:00:00.123456+01:00",
      "2030-02-28t23:59-05:30",
    ]
  ) assertEquals(IsoDateTime.safeParse(ok).success, true, ok);
  for (
    const bad of [
      "2030-12-01T10:00", // no offset: ambiguous
      "2030-12-01 10:00Z",
      "2030-13-01T10:00Z",
      "2030-12-01T24:00Z",
      "2030-12-01T10:00:00+0100",
      "tomorrow",
      "2030-12-01T10:00:00.1234567890Z",
    ]
  ) assertEquals(IsoDateTime.safeParse(bad).success, false, bad);
});
