/**
 * The marketer console in headless Chromium (Debian's `chromium`, driven by `playwright-core`),
 * over a real HTTP listener, a private Redis, a send worker and the HTTP/2 mock APNs. One
 * browser walks a marketer's whole path: sign in, create an app with a key file, bind a test
 * device by its session code and see it appear, send a preview, build a segment with a rule
 * and a member file, compose and send to it (also with the keyboard alone) and compare the
 * funnel with the API, diagnose a denied device and an invalidated one. It also checks the
 * escaping, the cross-site refusal, the cookie and CSP, and the layout at 390 px.
 *
 * Every page is saved as a screenshot under the test's temp dir (printed at the end). Set
 * `CONSOLE_SCREENSHOTS=<dir>` to also keep a few phone-width ones there (the README's).
 * Skips, saying so, when chromium is not installed; CI installs it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Browser, chromium, type Page } from "playwright-core";
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, generateApnsKey, startHarness } from "../support/harness.ts";
import { hexToken } from "../support/installation_calls.ts";
import { startMockApns } from "../support/mock_apns.ts";
import { waitFor } from "../support/redis_server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(`SKIPPED console browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);
}

const XSS = "<img src=x onerror=alert(1)>";

Deno.test({
  name: "GET /console: a marketer's whole path in headless Chromium",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const mock = await startMockApns();
    const h = await startHarness({
      services: {
        apns: {
          productionHost: mock.hosts.production,
          developmentHost: mock.hosts.development,
          caPem: mock.caPem,
        },
      },
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, h.app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    // Another site, for the cross-site post: it auto-submits a form to the console.
    let evilTarget = "";
    const evil = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
      new Response(
        `<!DOCTYPE html><form method="post" action="${evilTarget}"><input name="x" value="1">` +
          `</form><script>document.forms[0].submit()</script>`,
        { headers: { "content-type": "text/html" } },
      ));
    await h.services.sends.queue.ensureGroup();
    const stopWorker = new AbortController();
    const worker = h.services.sends.createWorker({ maxIdleMs: 20 }).run(stopWorker.signal);
    const shots = await Deno.makeTempDir({ prefix: "edgepush-console-shots-" });
    const keep = Deno.env.get("CONSOLE_SCREENSHOTS");
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    // Error statuses the steps provoke on purpose (a 400 form, the 403) are asserted there.
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
        problems.push(`console: ${m.text()}`);
      }
    });
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`);
      d.dismiss();
    });
    page.on("request", (r) => {
      const evilBase = `http://127.0.0.1:${evil.addr.port}/`;
      if (![base, "data:", evilBase].some((prefix) => r.url().startsWith(prefix))) {
        problems.push(`external request: ${r.url()}`);
      }
    });
    let n = 0;
    const shot = async (name: string, p: Page = page) => {
      n += 1;
      await p.screenshot({ path: `${shots}/${String(n).padStart(2, "0")}-${name}.png` });
    };
    const api = async (
      method: string,
      path: string,
      init: { key?: string; body?: unknown } = {},
    ) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(init.key?.startsWith("ak_") ? { "x-app-key": init.key } : {}),
          ...(init.key && !init.key.startsWith("ak_")
            ? { authorization: `Bearer ${init.key}` }
            : {}),
          ...(init.body ? { "content-type": "application/json" } : {}),
        },
        body: init.body ? JSON.stringify(init.body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const key = await generateApnsKey();
    const keyFile = `${shots}/AuthKey_${key.keyId}.p8`;
    await Deno.writeTextFile(keyFile, key.privateKeyPem);
    let appId = "";
    let sessionUrl = "";
    let appKey = "";
    let serverKey = "";
    const register = async (body: Record<string, unknown>) => {
      const res = await api("POST", "/v1/sdk/installations", { key: appKey, body });
      assertEquals(res.status, 201, JSON.stringify(res.body));
      return res.body as { installationId: string; installationSecret: string };
    };

    try {
      await t.step(
        "sign in with the admin token; cookie HttpOnly + SameSite=Strict, strict CSP",
        async () => {
          const res = await page.goto(`${base}/console`);
          assertEquals(res?.status(), 200);
          const csp = res!.headers()["content-security-policy"];
          assertStringIncludes(csp, "script-src 'self'");
          assertEquals(csp.includes("unsafe-inline"), false);
          await shot("sign-in");
          await page.getByLabel(/token|key/i).fill(ADMIN_TOKEN);
          await page.getByRole("button", { name: "Sign in" }).click();
          await page.getByRole("heading", { name: "Apps" }).waitFor();
          const cookies = await context.cookies();
          assertEquals(cookies.length, 1);
          assertEquals(cookies[0].httpOnly, true);
          assertEquals(cookies[0].sameSite, "Strict");
          assertEquals(await page.evaluate("document.cookie"), "");
        },
      );

      await t.step("create an app with a key file; its secrets are shown once", async () => {
        await page.getByRole("link", { name: "Create an app" }).click();
        await page.getByLabel("Name").fill("Shop");
        await page.getByLabel(/Bundle id/).fill("com.example.shop");
        await page.getByLabel(/URL scheme/).fill("shopapp");
        await page.getByLabel(/Team id/).fill(key.teamId);
        await page.getByLabel("Key id").fill(key.keyId);
        // A wrong file first: the error sits next to the file input.
        await page.getByLabel(/Key file/).setInputFiles({
          name: "notakey.p8",
          mimeType: "text/plain",
          buffer: Buffer.from("x".repeat(200)),
        });
        await page.getByRole("button", { name: "Create app" }).click();
        assertStringIncludes(
          await page.locator("#f-keyFile-error").innerText(),
          "PEM",
        );
        await shot("create-app-error");
        await page.getByLabel(/Key file/).setInputFiles(keyFile);
        await page.getByRole("button", { name: "Create app" }).click();
        serverKey = await page.locator('[data-secret="serverKey"]').innerText();
        appKey = await page.locator('[data-secret="appKey"]').innerText();
        assertOk(serverKey.startsWith("sk_") && appKey.startsWith("ak_"));
        await shot("app-created");
        await page.getByRole("link", { name: "Go to the app" }).click();
        appId = new URL(page.url()).pathname.split("/")[3];
        await mock.addKey(key.keyId, key.teamId, key.publicKey);
        // Shown once: the overview never shows the server key again.
        assertEquals((await page.content()).includes(serverKey), false);
        await shot("app-overview");
        await page.goto(`${base}/console`);
        await page.getByRole("link", { name: "Shop" }).waitFor();
        await shot("apps");
      });

      await t.step(
        "start a test session, bind a device through the SDK API, see it appear without a reload",
        async () => {
          await page.goto(`${base}/console/apps/${appId}`);
          await page.getByRole("link", { name: "Test devices" }).click();
          await page.getByRole("button", { name: "Start test session" }).click();
          sessionUrl = page.url();
          const code = new URL(page.url()).pathname.split("/").pop()!;
          const qr = page.getByRole("img", { name: /QR code/ });
          assertOk((await qr.boundingBox())!.width >= 250, "the QR code is large");
          assertStringIncludes(
            await page.locator("main").innerText(),
            `shopapp://edgepush/test-session?code=${code}`,
          );
          await page.evaluate(() => (globalThis as unknown as { marker: number }).marker = 42);
          const device = await register({
            token: hexToken(1),
            environment: "development",
            attributes: { deviceModel: "iPhone15,2", osVersion: "17.4" },
          });
          const bound = await fetch(`${base}/v1/sdk/test-sessions/${code}/devices`, {
            method: "POST",
            headers: {
              "x-app-key": appKey,
              authorization: `Bearer ${device.installationSecret}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ installationId: device.installationId }),
          });
          assertEquals(bound.status, 200, await bound.text());
          await page.locator(`[data-device="${device.installationId}"]`).waitFor({
            timeout: 10_000,
          });
          assertStringIncludes(await page.locator("#devices").innerText(), "iPhone15,2");
          assertStringIncludes(await page.locator("#devices").innerText(), "development");
          assertEquals(
            await page.evaluate(() => (globalThis as unknown as { marker: number }).marker),
            42,
            "the page was not reloaded",
          );
          await shot("test-devices");

          await page.getByLabel("Title", { exact: true }).fill("Hello preview");
          await page.getByRole("button", { name: "Send preview" }).click();
          await page.getByText("Accepted by APNs").waitFor();
          const pushed = mock.accepted.find((p) => p.token === hexToken(1));
          assertEquals(pushed?.environment, "development");
          assertEquals(
            (pushed?.payload as { aps: { alert: { title: string } } }).aps.alert.title,
            "Hello preview",
          );
          await shot("preview-sent");
        },
      );

      let sendId = "";
      await t.step(
        "create a segment with a rule, upload a member file, compose and send, funnel equals the API",
        async () => {
          const people = [[2, "u1", "fr_FR"], [3, "u2", "fr_FR"], [4, "u3", "de_DE"]] as const;
          const members: string[] = [];
          for (const [i, user, locale] of people) {
            const inst = await register({
              token: hexToken(i),
              environment: "production",
              userId: user,
              attributes: { locale },
            });
            if (locale === "fr_FR") members.push(inst.installationId);
          }
          await page.getByRole("link", { name: "Segments" }).click();
          await page.getByRole("link", { name: "New segment" }).click();
          await page.getByLabel("Segment id").fill("fr");
          await page.getByLabel("Name").fill(`French ${XSS}`);
          await page.locator("#cond-0-attribute").fill("locale");
          await page.locator("#cond-0-value").fill("fr_FR");
          await shot("segment-new");
          await page.getByRole("button", { name: "Create segment" }).click();
          await page.getByText("Segment saved.").waitFor();
          // Escaped: the name is text, no element was injected, no script ran.
          assertStringIncludes(await page.locator("h1").innerText(), XSS);
          assertEquals(await page.locator('img[src="x"]').count(), 0);
          await page.getByLabel("Member file").setInputFiles({
            name: "members.txt",
            mimeType: "text/plain",
            buffer: Buffer.from("u1\nu2\nu3\n"),
          });
          await page.getByRole("button", { name: "Upload members" }).click();
          await page.getByText("3 members now").waitFor();
          await waitFor(
            async () => (await page.locator('[data-count="production"]').innerText()) === "2",
            {
              timeoutMs: 5_000,
              what: "counts refreshed after the upload",
            },
          );
          assertEquals(await page.locator('[data-count="users"]').innerText(), "3");
          await shot("segment-uploaded");
          await page.getByRole("link", { name: "Segments" }).click();
          await page.getByRole("button", { name: "Sync now" }).click();
          await page.getByText("Synced").waitFor();
          await shot("segments");

          await page.getByRole("link", { name: "New send" }).click();
          await page.getByLabel("Segment", { exact: true }).selectOption("fr");
          await page.getByLabel("Title", { exact: true }).fill("Bonjour");
          await page.getByLabel("Body").fill("Les soldes commencent");
          await page.locator("#reach-text", { hasText: "Reaches 2 devices" }).waitFor();
          await page.locator("#size-text", { hasText: "of 4,096 bytes" }).waitFor();
          assertEquals(await page.locator('[data-preview="title"]').innerText(), "Bonjour");
          // Background pushes offer only the priorities APNs allows for them.
          await page.getByLabel("Push type").selectOption("background");
          assertEquals(await page.locator("#f-priority option:not([disabled])").allInnerTexts(), [
            "When power allows (5)",
          ]);
          await page.getByLabel("Push type").selectOption("alert");
          await shot("compose");
          await page.getByRole("button", { name: "Send", exact: true }).click();
          await page.getByText("It reaches 2 devices now.").waitFor();
          await shot("review");
          // A double click sends once (the form's Idempotency-Key).
          await page.getByRole("button", { name: "Send to 2 devices" }).dblclick();
          // The second click can abort the first click's navigation (net::ERR_ABORTED), which
          // waitForURL reports as an error: wait for the page the surviving submission lands on.
          await waitFor(() => /\/sends\/snd_/.test(page.url()), {
            timeoutMs: 15_000,
            what: "the send's page",
          });
          await page.waitForLoadState("load");
          sendId = new URL(page.url()).pathname.split("/").pop()!;
          await page.getByText("Completed").waitFor({ timeout: 15_000 });
          // The SDK reports both delivered and one opened: the page's funnel shows them.
          const events = await api("POST", "/v1/sdk/events", {
            key: appKey,
            body: {
              events: [
                ...members.map((m) => ({ type: "delivered", sendId, installationId: m })),
                { type: "opened", sendId, installationId: members[0] },
              ],
            },
          });
          assertEquals(events.body.accepted, 3, JSON.stringify(events.body));
          await page.reload();
          const view = await api("GET", `/v1/apps/${appId}/sends/${sendId}`, { key: serverKey });
          assertEquals(view.body.counts.accepted, 2);
          assertEquals(view.body.counts.delivered, 2);
          assertEquals(view.body.counts.opened, 1);
          for (const stage of ["targeted", "attempted", "accepted", "delivered", "opened"]) {
            assertEquals(
              Number(await page.locator(`[data-stage="${stage}"]`).getAttribute("data-value")),
              view.body.counts[stage],
              stage,
            );
          }
          const list = await api("GET", `/v1/apps/${appId}/sends`, { key: serverKey });
          assertEquals(list.body.sends.length, 1, "the double click made one send");
          await shot("send");
          await page.getByRole("link", { name: "Sends" }).click();
          await page.getByRole("link", { name: sendId }).waitFor();
          await shot("sends");
        },
      );

      await t.step(
        "diagnose a denied-permission device and one whose token APNs invalidated",
        async () => {
          const denied = await register({
            token: hexToken(5),
            environment: "production",
            pushAuthorization: "denied",
          });
          const gone = await register({ token: hexToken(6), environment: "production" });
          mock.device(hexToken(6), { unregisteredAt: Date.now() + 60_000 });
          const sent = await api("POST", `/v1/apps/${appId}/sends`, {
            key: serverKey,
            body: {
              audience: { installationIds: [gone.installationId] },
              notification: { title: "x" },
              wait: true,
            },
          });
          assertEquals(sent.body.results[0].reason, "Unregistered");

          await page.getByRole("link", { name: "Diagnose" }).click();
          await page.getByLabel("Installation id or user id").fill(denied.installationId);
          await page.getByRole("button", { name: "Diagnose" }).click();
          const permission = page.locator('[data-check="notifications_allowed"]');
          assertEquals(await permission.getAttribute("data-ok"), "false");
          assertStringIncludes(await permission.innerText(), "turned notifications off");
          await shot("diagnose-denied");

          await page.getByLabel("Installation id or user id").fill(gone.installationId);
          await page.getByRole("button", { name: "Diagnose" }).click();
          const token = page.locator('[data-check="token_active"]');
          assertEquals(await token.getAttribute("data-ok"), "false");
          assertStringIncludes(await token.innerText(), "unregistered");
          assertStringIncludes(await token.innerText(), "uninstalled");
          const api1 = await api(
            "GET",
            `/v1/apps/${appId}/installations/${gone.installationId}/diagnosis`,
            { key: serverKey },
          );
          // deno-lint-ignore no-explicit-any
          const apiToken = api1.body.checks.find((c: any) => c.check === "token_active");
          assertStringIncludes(await token.innerText(), apiToken.message);
          await shot("diagnose-invalidated");
        },
      );

      await t.step("a cross-site form post is refused with 403 and changes nothing", async () => {
        evilTarget = `${base}/console/apps/${appId}/server-key`;
        const refused = page.waitForResponse((r) => r.url() === evilTarget);
        await page.goto(`http://127.0.0.1:${evil.addr.port}/`);
        assertEquals((await refused).status(), 403);
        await shot("cross-site-refused");
        const still = await api("GET", `/v1/apps/${appId}/sends`, { key: serverKey });
        assertEquals(still.status, 200, "the server key was not rotated");
      });

      await t.step("a send with the keyboard alone", async () => {
        await page.goto(`${base}/console/apps/${appId}/sends/new`);
        const focusOn = async (selector: string) => {
          for (let i = 0; i < 60; i++) {
            await page.keyboard.press("Tab");
            if (
              await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)})`)
            ) {
              return;
            }
          }
          throw new Error(`Tab never reached ${selector}`);
        };
        await focusOn("#f-title");
        await page.keyboard.type("Keyboard only");
        await focusOn('button[type="submit"]');
        await page.keyboard.press("Enter");
        await page.getByText("It reaches 2 devices now.").waitFor();
        await focusOn('button[type="submit"]:not(.secondary)');
        await page.keyboard.press("Enter");
        await page.waitForURL(/\/sends\/snd_/);
        assertOk(!page.url().endsWith(sendId), "a second send");
        await page.getByText("Completed").waitFor({ timeout: 15_000 });
      });

      await t.step("every page fits a 390 px phone without horizontal scrolling", async () => {
        const phone = await browser.newContext({
          viewport: { width: 390, height: 844 },
          storageState: await context.storageState(),
        });
        const p = await phone.newPage();
        const app = `${base}/console/apps/${appId}`;
        const pages: Array<[string, string]> = [
          ["apps", `${base}/console`],
          ["overview", app],
          ["test-devices", sessionUrl],
          ["segments", `${app}/segments`],
          ["segment", `${app}/segments/fr`],
          ["compose", `${app}/sends/new`],
          ["sends", `${app}/sends`],
          ["send", `${app}/sends/${sendId}`],
          ["diagnose", `${app}/diagnose?q=u1`],
        ];
        for (const [name, url] of pages) {
          await p.goto(url);
          const [scroll, client] = await p.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
          ) as [number, number];
          assertOk(scroll <= client, `${name}: ${scroll} px wide at ${client} px`);
          await shot(`phone-${name}`, p);
          if (keep && ["test-devices", "send", "diagnose"].includes(name)) {
            await p.screenshot({ path: `${keep}/console-${name}.png` });
          }
        }
        await phone.close();
      });

      await t.step("sign-out ends the session server-side", async () => {
        const cookie = (await context.cookies())[0];
        await page.goto(`${base}/console`);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByLabel(/token|key/i).waitFor();
        const replay = await fetch(`${base}/console`, {
          headers: { cookie: `${cookie.name}=${cookie.value}` },
        });
        assertStringIncludes(await replay.text(), "Sign in");
      });

      assertEquals(problems, []);
    } finally {
      console.log(`console screenshots: ${shots}`);
      await browser.close();
      stopWorker.abort();
      await worker;
      await evil.shutdown();
      await server.shutdown();
      await h.stop();
      await mock.close();
    }
  },
});
