/**
 * The product on a real Redis Cluster (three masters, three replicas; tests/support/
 * redis_cluster.ts) in cluster mode (`REDIS_CLUSTER_NODES`'s ioredis `Cluster`), with apps whose
 * slots fall on different masters: the registry lifecycle, segments at T+0, a campaign delivered
 * exactly once by two workers, a scheduled send, SDK events, the apps index repair and app
 * deletion down to zero keys on every node.
 */
import { assertEquals, assertOk } from "../support/assert.ts";
import { ADMIN_TOKEN, generateApnsKey, type TestApp } from "../support/harness.ts";
import { startEdgepush } from "../support/edgepush_process.ts";
import {
  hexToken,
  register,
  sdkHeaders,
  serverHeaders,
  viewInstallation,
} from "../support/installation_calls.ts";
import { clusterAsTestRedis, keysOn, startTestCluster } from "../support/redis_cluster.ts";
import { waitFor } from "../support/redis_server.ts";
import { startSendEnv, token } from "../lib/sends/_env.ts";
import { assertRegistryInvariants } from "../lib/registry/invariants.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("Redis Cluster: registry, segments, campaign, schedule, events and deletion across masters", async (t) => {
  const cluster = await startTestCluster();
  const env = await startSendEnv({ redis: clusterAsTestRedis(cluster) });
  try {
    const { h } = env;
    // Apps until every master holds one (an app's keys all live in its hash tag's slot).
    const byMaster = new Map<number, TestApp>();
    byMaster.set(await cluster.masterOf(`{${env.app.appId}}`), env.app);
    for (let i = 0; i < 40 && byMaster.size < 3; i++) {
      const app = await h.createTestApp();
      const master = await cluster.masterOf(`{${app.appId}}`);
      if (!byMaster.has(master)) byMaster.set(master, app);
    }
    assertEquals(byMaster.size, 3, "apps on three masters");
    const apps = [...byMaster.values()];

    await t.step(
      "main.ts boots in cluster mode with a worker, and refuses REDIS_URL beside it",
      async () => {
        const server = await startEdgepush("", {
          REDIS_CLUSTER_NODES: cluster.seeds.join(","),
          WORKERS: "1",
        });
        try {
          const key = await generateApnsKey();
          const created = await fetch(`${server.url}/v1/apps`, {
            method: "POST",
            headers: { ...admin, "content-type": "application/json" },
            body: JSON.stringify({
              name: "Booted",
              bundleId: "com.example.booted",
              apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
            }),
          });
          assertEquals(created.status, 201, await created.clone().text());
          await created.body?.cancel();
        } finally {
          await server.stop();
        }
        const both = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname],
          env: { REDIS_URL: cluster.seeds[0], REDIS_CLUSTER_NODES: cluster.seeds.join(",") },
          stdout: "null",
          stderr: "piped",
        }).output();
        assertEquals(both.code, 2);
        assertOk(
          new TextDecoder().decode(both.stderr).includes(
            "set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster's seed URLs), not both",
          ),
        );
      },
    );

    await t.step("registry lifecycle on every master", async () => {
      for (const app of apps) {
        const first = await register(h, app, { token: hexToken(1), environment: "production" });
        assertEquals(first.status, 201, JSON.stringify(first.body));
        const { installationId, installationSecret } = first.body;
        const rotated = await register(
          h,
          app,
          { installationId, token: hexToken(2), environment: "production", userId: "u1" },
          installationSecret,
        );
        assertEquals(rotated.status, 200);
        // A reinstall claims the token: it moves, the old holder becomes `replaced`.
        const reinstall = await register(h, app, { token: hexToken(2), environment: "production" });
        assertEquals(reinstall.status, 201);
        assertEquals((await viewInstallation(h, app, installationId)).status, "replaced");
        const unbind = await h.call(
          "DELETE",
          `/v1/sdk/installations/${reinstall.body.installationId}/user`,
          { headers: sdkHeaders(app, reinstall.body.installationSecret) },
        );
        assertEquals(unbind.status, 200);
        await assertRegistryInvariants(h.testRedis.redis, app.appId);
      }
    });

    await t.step("segments: a device registered now is reachable now", async () => {
      for (const app of apps) {
        const base = `/v1/apps/${app.appId}/segments`;
        const put = await h.call("PUT", `${base}/vip`, {
          headers: serverHeaders(app),
          body: { name: "VIP" },
        });
        assertOk(put.status < 300, JSON.stringify(put.body));
        await h.call("POST", `${base}/vip/members`, {
          headers: serverHeaders(app),
          body: { add: ["vip-user"] },
        });
        await register(h, app, {
          token: hexToken(9),
          environment: "production",
          userId: "vip-user",
        });
        const got = await h.call("GET", `${base}/vip`, { headers: serverHeaders(app) });
        assertEquals(got.body.reachable, { production: 1, development: 0 });
      }
    });

    await t.step(
      "a campaign reaches every device exactly once; a scheduled send; events",
      async () => {
        const ids = await env.registerMany(600, { salt: 7 });
        let campaign = "";
        const workers = env.startWorkers(2, { scheduleEveryMs: 50 });
        try {
          const created = await h.call("POST", `/v1/apps/${env.app.appId}/sends`, {
            headers: env.auth,
            body: { audience: { installationIds: ids }, notification: { title: "Hi" } },
          });
          assertEquals(created.status, 202, JSON.stringify(created.body));
          campaign = created.body.sendId;
          const done = await env.waitSend(
            created.body.sendId,
            (v) => v.status === "completed",
            30_000,
          );
          assertEquals(done.counts.accepted, 600);
          for (let i = 0; i < 600; i++) {
            assertEquals(env.mock.countFor(token(i, 7)), 1);
          }
          const later = await h.call("POST", `/v1/apps/${env.app.appId}/sends`, {
            headers: env.auth,
            body: {
              audience: { installationIds: ids.slice(0, 3) },
              notification: { title: "Later" },
              scheduleAt: new Date(Date.now() + 300).toISOString(),
            },
          });
          assertEquals(later.body.status, "scheduled");
          const sent = await env.waitSend(later.body.sendId, (v) => v.status === "completed");
          assertEquals(sent.counts.accepted, 3);
        } finally {
          await workers.stop();
        }
        const [reached] = ids;
        const events = await h.call("POST", "/v1/sdk/events", {
          headers: { "x-app-key": env.app.appKey },
          body: {
            events: [{ type: "opened", sendId: campaign, installationId: reached }],
          },
        });
        assertEquals(events.status, 202);
        assertEquals(events.body.accepted, 1);
        const view = await h.call("GET", `/v1/apps/${env.app.appId}/sends/${campaign}`, {
          headers: env.auth,
        });
        assertEquals(view.body.counts.opened, 1);
      },
    );

    await t.step("the apps index is repaired after losing an entry", async () => {
      const lost = apps[1].appId;
      await h.testRedis.redis.srem("ep:v1:apps", lost);
      const repaired = await h.services.apps.repairIndex();
      assertEquals(repaired.added, [lost]);
      assertOk((await h.services.apps.listIds()).includes(lost));
    });

    await t.step("deleting an app leaves none of its keys on any node", async () => {
      for (const app of apps) {
        const master = await cluster.masterOf(`{${app.appId}}`);
        assertOk((await keysOn(cluster, master, `*{${app.appId}}*`)).length > 5);
        const del = await h.call("DELETE", `/v1/apps/${app.appId}`, { headers: admin });
        assertEquals(del.status, 204);
        // Replicas apply the deletion asynchronously: wait for every node to agree.
        await waitFor(async () => {
          for (const node of cluster.nodes) {
            if ((await keysOn(cluster, node.port, `*{${app.appId}}*`)).length) return false;
          }
          return true;
        }, { what: `zero keys of ${app.appId} on every node` });
      }
      const left = await h.services.apps.listIds();
      assertEquals(apps.filter((app) => left.includes(app.appId)), []);
    });
  } finally {
    await env.stop();
    await cluster.stop();
  }
});
