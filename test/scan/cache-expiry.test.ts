/**
 * A verdict decided under a suppression is not reused once the suppression has expired: the
 * suppressions' expiry state is part of what keys the verdict cache (and service jobs).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { PolicyOptions } from "../../src/policy/policy.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import { MemoryVerdictCache } from "../../src/scan/cache.js";
import { scan } from "../../src/scan/engine.js";
import { MockHub } from "../sources/hub/mock-hub.js";

const COMMIT = "a".repeat(40);
const PAYLOAD = new TextEncoder().encode("cos\nsystem\n(S'echo hi'\ntR.");
const policy: PolicyOptions = {
  suppressions: [{ rule: "pickle/*", path: "x.pkl", reason: "triaged until the 10th", expires: "2026-12-10" }],
};

let hub: MockHub;
beforeAll(async () => {
  hub = await MockHub.start([
    { name: "acme/m", refs: { main: COMMIT }, commits: { [COMMIT]: [{ path: "x.pkl", content: PAYLOAD, lfs: true }] } },
  ]);
});
afterAll(async () => {
  vi.useRealTimers();
  await hub.close();
});

describe("verdict cache and suppression expiry", () => {
  it("the decisions' hash follows expiry; without expiring suppressions it is the policy hash", () => {
    const before = resolvePolicy(policy, { now: new Date("2026-12-09T12:00:00Z") });
    const after = resolvePolicy(policy, { now: new Date("2026-12-11T00:00:00Z") });
    expect(before.hash).toBe(after.hash);
    expect(before.decisionsHash).not.toBe(after.decisionsHash);
    const plain = resolvePolicy({ suppressions: [{ rule: "pickle/*", path: "x.pkl", reason: "r" }] });
    expect(plain.decisionsHash).toBe(plain.hash);
  });

  it("a result cached while a suppression was active is not served after it expired", async () => {
    const cache = new MemoryVerdictCache();
    const target = { hub: { repo: "acme/m", hubUrl: hub.url } };
    vi.useFakeTimers({ now: new Date("2026-12-09T12:00:00Z"), toFake: ["Date"] });
    const first = await scan(target, { policy, cache, signature: false });
    expect(first.files[0]?.verdict).toBe("clean");
    expect(first.files[0]?.suppressed?.length).toBeGreaterThan(0);
    // Still active: the cached result comes back whole, its suppressed finding included.
    const again = await scan(target, { policy, cache, signature: false });
    expect(again.files[0]?.cached).toBe(true);
    expect(again.files[0]?.suppressed).toEqual(first.files[0]?.suppressed);
    vi.setSystemTime(new Date("2026-12-30T12:00:00Z"));
    const later = await scan(target, { policy, cache, signature: false });
    expect(later.files[0]?.cached).not.toBe(true);
    expect(later.files[0]?.verdict).toBe("malicious");
    vi.useRealTimers();
  });
});
