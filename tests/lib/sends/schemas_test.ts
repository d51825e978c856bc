import { Audience } from "../../../lib/sends/schemas.ts";
import { assertEquals } from "../../support/assert.ts";

const messages = (input: unknown) =>
  Audience.safeParse(input).error?.issues.map((issue) => issue.message);

Deno.test("Audience: a known shape gets its own complaint, anything else the list of shapes", () => {
  assertEquals(messages({ installationIds: Array(10_001).fill("i") }), [
    "installationIds: Too big: expected array to have <=10000 items",
  ]);
  assertEquals(messages({ all: false }), ["all: Invalid input: expected true"]);
  const shapes =
    "expected exactly one of {segment}, {userIds: […]}, {installationIds: […]} or {all: true}";
  for (const input of [{ everyone: true }, { segment: "a", all: true }, "all", []]) {
    assertEquals(messages(input), [shapes], JSON.stringify(input));
  }
  assertEquals(messages({ userIds: ["u1"] }), undefined);
});
