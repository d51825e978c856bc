import { assertEquals } from "../../support/assert.ts";
import { translateScript } from "../../../lib/redis/script_flags.ts";

Deno.test("translateScript drops only Upstash's flags and keeps the shebang line", () => {
  assertEquals(translateScript("#!lua flags=allow-key-locking\nreturn 1"), "#!lua\nreturn 1");
  assertEquals(
    translateScript("#!lua flags=no-writes,allow-key-locking,allow-stale\r\nreturn 1"),
    "#!lua flags=no-writes,allow-stale\r\nreturn 1",
  );
  assertEquals(
    translateScript("#!lua name=x flags=allow-key-locking\nreturn 1"),
    "#!lua name=x\nreturn 1",
  );
});

Deno.test("translateScript leaves scripts without Upstash's flags alone", () => {
  assertEquals(translateScript("return 1"), null);
  assertEquals(translateScript("#!lua\nreturn 1"), null);
  assertEquals(translateScript("#!lua flags=no-writes\nreturn 1"), null);
  assertEquals(translateScript("#!lua flags=made-up\nreturn 1"), null);
  assertEquals(translateScript("-- #!lua flags=allow-key-locking\nreturn 1"), null);
});
