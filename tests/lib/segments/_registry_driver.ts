/**
 * The registry half of the segment property test's driver: SDK calls (first launch, refresh,
 * PATCH, bind, unbind, delete) and APNs feedback (410, bad token, environment correction) made
 * through the real registry on a manual clock, with seeded randomness. `_scenario.ts` adds the
 * segments half and the model the test checks against.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import {
  type AttributeMap,
  createRegistry,
  type EnvironmentName,
  InstallationNotFound,
  type PushAuthorizationValue,
  type Registry,
  type UpdateOptions,
} from "../../../lib/registry/mod.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { tokenOf } from "../registry/_fixtures.ts";
import { prng } from "./_fixtures.ts";

/** Users that register devices (and get uploaded). */
export const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);
/** Devices the driver keeps handles (id + secret) for; older ones live on, unaddressed. */
const MAX_DEVICES = 50;

/** The seeded generator every step draws from. */
export type Rng = ReturnType<typeof prng>;
/** A device the driver can still address as its SDK would: id and secret. */
export interface Device {
  id: string;
  secret: string;
}

/** Drives one app's registry the way SDKs and the relay do, tallying what each step did. */
export class RegistryDriver {
  clock: number;
  readonly registry: Registry;
  /** What the steps did, by outcome, for the test's report. */
  readonly tally: Record<string, number> = {};
  protected readonly devices: Device[] = [];
  private tokens = 0;

  constructor(
    readonly redis: Redis,
    readonly appId: string,
    start: number,
    readonly rng: Rng,
  ) {
    this.clock = start;
    this.registry = createRegistry({ redis, now: () => this.clock });
  }

  // ---- the registry side ------------------------------------------------------------------

  protected count(what: string) {
    this.tally[what] = (this.tally[what] ?? 0) + 1;
  }

  protected freshToken(): string {
    return tokenOf(++this.tokens);
  }

  /** A token issued earlier, whoever holds it now (a reinstall reusing a token). */
  protected oldToken(r: Rng): string {
    return this.tokens ? tokenOf(1 + r.int(this.tokens)) : this.freshToken();
  }

  protected env(r: Rng): EnvironmentName {
    return r.pick(["production", "development"] as const);
  }

  protected auth(r: Rng): PushAuthorizationValue {
    return r.pick(["authorized", "provisional", "ephemeral", "denied", "notDetermined"] as const);
  }

  protected attrs(r: Rng): AttributeMap {
    return {
      appVersion: r.pick(["1.9", "2.0.0", "2.1-beta", "10", "2", "x"]),
      locale: r.pick(["en-US", "en_GB", "fr-FR", "de"]),
      ...(r.next() < 0.4 ? { tier: r.pick(["gold", "silver"]) } : {}),
      ...(r.next() < 0.4 ? { beta: r.next() < 0.5 } : {}),
      ...(r.next() < 0.3 ? { build: r.pick([7, 42, "42"]) } : {}),
    };
  }

  protected remember(device: Device, r: Rng) {
    this.devices.push(device);
    if (this.devices.length > MAX_DEVICES) this.devices.splice(r.int(this.devices.length), 1);
  }

  /** Runs an SDK call for a device; a device pruned or erased meanwhile is forgotten. */
  protected async sdk(what: string, device: Device, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
      this.count(what);
    } catch (error) {
      if (!(error instanceof InstallationNotFound)) throw error;
      const at = this.devices.indexOf(device);
      if (at >= 0) this.devices.splice(at, 1);
      this.count(`${what}:gone`);
    }
  }

  /** First launch; sometimes reusing another installation's token, or a restored id. */
  protected async registerNew(r: Rng): Promise<void> {
    const reuse = r.next() < 0.25;
    const restored = this.devices.length > 0 && r.next() < 0.15 ? r.pick(this.devices) : null;
    const result = await this.registry.register(this.appId, {
      installationId: restored?.id,
      secret: restored ? r.pick([undefined, "not-the-secret"]) : undefined,
      token: reuse ? this.oldToken(r) : this.freshToken(),
      environment: this.env(r),
      userId: r.next() < 0.7 ? r.pick(USERS) : undefined,
      pushAuthorization: r.next() < 0.5 ? this.auth(r) : undefined,
      attributes: r.next() < 0.85 ? this.attrs(r) : undefined,
    });
    assertOk(result.created, "a new installation");
    this.remember({ id: result.installationId, secret: result.installationSecret }, r);
    this.count(restored ? "register:restored" : reuse ? "register:token_moved" : "register");
  }

  /** Refresh with id + secret: same token, a rotated one, or a reused one. */
  protected async refresh(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    const current = (await this.registry.get(this.appId, device.id))?.token;
    const roll = r.next();
    const token = roll < 0.5 && current
      ? current
      : roll < 0.85
      ? this.freshToken()
      : this.oldToken(r);
    const result = await this.registry.register(this.appId, {
      installationId: device.id,
      secret: device.secret,
      token,
      environment: this.env(r),
      userId: r.next() < 0.3 ? r.pick(USERS) : undefined,
      pushAuthorization: r.next() < 0.3 ? this.auth(r) : undefined,
      attributes: r.next() < 0.4 ? this.attrs(r) : undefined,
    });
    if (result.created) {
      // Pruned or erased meanwhile: the SDK got a fresh installation ("restored").
      const at = this.devices.indexOf(device);
      if (at >= 0) this.devices.splice(at, 1);
      this.remember({ id: result.installationId, secret: result.installationSecret }, r);
      this.count("refresh:restored");
    } else this.count("refresh");
  }

  /** PATCH: any subset of token, environment, permission, attributes, user. */
  protected async update(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    const input: UpdateOptions = { secret: device.secret };
    if (r.next() < 0.25) input.token = r.next() < 0.3 ? this.oldToken(r) : this.freshToken();
    if (r.next() < 0.3) input.environment = this.env(r);
    if (r.next() < 0.35) input.pushAuthorization = this.auth(r);
    if (r.next() < 0.4) input.attributes = this.attrs(r);
    if (r.next() < 0.15) input.userId = r.pick(USERS);
    await this.sdk("update", device, () => this.registry.update(this.appId, device.id, input));
  }

  protected async bind(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    const userId = r.pick(USERS);
    await this.sdk(
      "bind",
      device,
      () => this.registry.bindUser(this.appId, device.id, { secret: device.secret, userId }),
    );
  }

  protected async unbind(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    await this.sdk(
      "unbind",
      device,
      () => this.registry.unbindUser(this.appId, device.id, { secret: device.secret }),
    );
  }

  protected async sdkDelete(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    await this.sdk(
      "delete",
      device,
      () => this.registry.remove(this.appId, device.id, { secret: device.secret }),
    );
  }

  /** The token APNs answered for: mostly the one held, sometimes an older one. */
  protected async pushedToken(r: Rng) {
    const device = r.pick(this.devices);
    const inst = await this.registry.get(this.appId, device.id);
    const token = inst?.token && r.next() < 0.85 ? inst.token : this.oldToken(r);
    return { device, inst, token };
  }

  /** APNs 410, mostly with a timestamp later than the registration. */
  protected async unregistered(r: Rng): Promise<void> {
    const { device, inst, token } = await this.pushedToken(r);
    const registered = inst?.registeredAt ? Date.parse(inst.registeredAt) : this.clock;
    const at = r.next() < 0.75 ? registered + 1 + r.int(60_000) : registered - r.int(60_000);
    const applied = await this.registry.markUnregistered(this.appId, device.id, token, at);
    this.count(applied ? "unregistered" : "unregistered:skipped");
  }

  protected async badToken(r: Rng): Promise<void> {
    const { device, token } = await this.pushedToken(r);
    const reason = r.pick(["BadDeviceToken", "DeviceTokenNotForTopic"]);
    const applied = await this.registry.markBadToken(this.appId, device.id, token, reason);
    this.count(applied ? "bad_token" : "bad_token:skipped");
  }

  protected async correctEnvironment(r: Rng): Promise<void> {
    const { device, inst, token } = await this.pushedToken(r);
    // The other host accepted the token (mostly the one it was not stored for).
    const other = inst?.environment === "production" ? "development" : "production";
    const env = r.next() < 0.8 ? other : this.env(r);
    const applied = await this.registry.correctEnvironment(this.appId, device.id, token, env);
    this.count(applied ? "correct_environment" : "correct_environment:skipped");
  }

  /** A user's 101st installation and beyond: the least recently seen ones are unbound. */
  async flood(r: Rng = this.rng): Promise<void> {
    const userId = r.pick(USERS);
    const have = (await this.registry.userInstallations(this.appId, userId)).length;
    const target = 101 + r.int(3);
    for (let i = have; i < target; i++) {
      const result = await this.registry.register(this.appId, {
        token: this.freshToken(),
        environment: this.env(r),
        userId,
        attributes: this.attrs(r),
      });
      assertOk(result.created);
      if (r.next() < 0.05) {
        this.remember({ id: result.installationId, secret: result.installationSecret }, r);
      }
    }
    assertEquals((await this.registry.userInstallations(this.appId, userId)).length, 100);
    this.count("flood");
  }

  /** A few registry calls, each with its own sub-generator, to run beside a rebuild. */
  protected racers(r: Rng, n: number): (() => Promise<void>)[] {
    const calls = [this.bind, this.unbind, this.update, this.refresh, this.unregistered];
    return Array.from({ length: n }, () => {
      const call = this.devices.length ? r.pick(calls) : this.registerNew;
      const sub = prng(r.int(2 ** 31));
      // A few round trips first, so the calls land at different phases of the rebuild.
      return async () => {
        await this.pings(sub.int(8));
        await call.call(this, sub);
      };
    });
  }

  /** `n` round trips to Redis: shifts a concurrent call to a later phase of a rebuild. */
  protected async pings(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.redis.ping();
  }
}
