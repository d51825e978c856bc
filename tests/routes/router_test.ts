import { Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { SplitRouter } from "../../routes/router.ts";
import { assertEquals } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";

Deno.test("the API's routes compile into Hono's RegExpRouter; the console's stay apart", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    assertEquals((await h.call("GET", "/healthz")).status, 200);
    const registered = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": app.appKey },
      body: { token: "ab".repeat(32), environment: "production" },
    });
    assertEquals(registered.status, 201);
    assertEquals((await h.call("GET", "/console")).status, 200);
    const router = h.app.router as SplitRouter<unknown>;
    assertEquals(
      router.main.name,
      "SmartRouter + RegExpRouter",
      "an API route RegExpRouter cannot take puts every API request on the slower TrieRouter " +
        "(see routes/router.ts)",
    );
    assertEquals(router.prefixed.name, "SmartRouter + TrieRouter");
  } finally {
    await h.stop();
  }
});

Deno.test("SplitRouter answers as one TrieRouter over every route would", async () => {
  const build = (app: Hono) => {
    app.use(async (c, next) => {
      await next();
      c.res.headers.set("x-wrapped", "1");
    });
    app.use("/:anything/*", async (c, next) => {
      await next();
      c.res.headers.set("x-param-first", String(c.req.param("anything")));
    });
    app.get("/console", (c) => c.text("console home"));
    app.get("/console/segments/new", (c) => c.text("new segment"));
    app.get("/console/segments/:id", (c) => c.text(`segment ${c.req.param("id")}`));
    app.get("/v1/things/:id", (c) => c.text(`thing ${c.req.param("id")}`));
    app.post("/v1/things", (c) => c.text("created"));
    app.get("/consoles", (c) => c.text("not the console"));
    return app;
  };
  const split = build(new Hono({ router: new SplitRouter("/console") }));
  const single = build(new Hono({ router: new TrieRouter() }));
  const answer = async (app: Hono, method: string, path: string) => {
    const res = await app.request(path, { method });
    return [
      res.status,
      await res.text(),
      res.headers.get("x-wrapped"),
      res.headers.get("x-param-first"),
    ];
  };
  const paths = [
    "/console",
    "/console/",
    "/console/segments/new",
    "/console/segments/s1",
    "/console/nowhere",
    "/v1/things/7",
    "/v1/things",
    "/consoles",
    "/",
  ];
  for (const method of ["GET", "POST"]) {
    for (const path of paths) {
      assertEquals(
        await answer(split, method, path),
        await answer(single, method, path),
        `${method} ${path}`,
      );
    }
  }
  // The routes do answer (the comparison above would also pass if both sides 404ed).
  assertEquals((await answer(split, "GET", "/console/segments/new")).slice(0, 3), [
    200,
    "new segment",
    "1",
  ]);
  assertEquals((await answer(split, "GET", "/v1/things/7")).slice(0, 2), [200, "thing 7"]);
});
