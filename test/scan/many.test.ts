import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScanManyResult } from "../../src/scan/many.js";
import { scanMany } from "../../src/scan/many.js";
import type { ByteSource } from "../../src/sources/byte-source.js";
import { MockHub } from "../sources/hub/mock-hub.js";

/** A source whose reads wait until released, to observe the pool. */
function gated(name: string, state: { running: number; max: number }) {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const bytes = new TextEncoder().encode('{"ok":true}');
  const source: ByteSource & { name: string } = {
    name,
    size: bytes.length,
    async read(offset, length) {
      state.running++;
      state.max = Math.max(state.max, state.running);
      await gate;
      state.running--;
      return bytes.subarray(offset, offset + length);
    },
  };
  return { source, release };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-many-"));
  await writeFile(join(dir, "a.json"), "{}");
});
afterAll(() => rm(dir, { recursive: true }));

describe("scanMany", () => {
  it("runs at most targetConcurrency targets at once and yields in completion order", async () => {
    const state = { running: 0, max: 0 };
    const gates = Array.from({ length: 5 }, (_, i) => gated(`t${i}.json`, state));
    const seen: number[] = [];
    const iterator = scanMany(
      gates.map((g) => g.source),
      { targetConcurrency: 2, hash: false },
    );
    // Release the second while the first is held: it must come out first (no timers, so a loaded
    // machine cannot reorder them); the first is released once the second is out, the rest after.
    gates[1]!.release();
    for await (const r of iterator) {
      seen.push(r.index);
      if (r.index === 1) gates[0]!.release();
      if (r.index === 0) for (const g of gates.slice(2)) g.release();
    }
    expect(seen.slice(0, 2)).toEqual([1, 0]);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(state.max).toBeLessThanOrEqual(2);
  });

  it("policyFor gives each target its own policy in one pool", async () => {
    const payload = new TextEncoder().encode("cposix\nsystem\n(S'id'\ntR.");
    const targets = [
      { bytes: payload, name: "a.pkl" },
      { bytes: payload, name: "b.pkl" },
    ];
    const allow = { pickle: { allow: ["posix.system"] } };
    const verdicts: string[] = [];
    for await (const r of scanMany(targets, { policyFor: (_t, i) => (i === 0 ? allow : undefined) })) {
      verdicts[r.index] = r.report.verdict;
    }
    expect(verdicts).toEqual(["clean", "malicious"]);
  });

  it("a target that cannot be opened yields an invalid, incomplete report and its error", async () => {
    const results: ScanManyResult[] = [];
    for await (const r of scanMany([join(dir, "a.json"), join(dir, "missing")])) results.push(r);
    results.sort((a, b) => a.index - b.index);
    expect(results[0]?.report.verdict).toBe("clean");
    expect(results[1]?.report).toMatchObject({ verdict: "invalid", complete: false, files: [] });
    expect(results[1]?.error?.code).toBe("INVALID_ARGUMENT");
  });

  it("consumes its input lazily and stops the pool when the caller breaks out", async () => {
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield join(dir, "a.json");
      }
    }
    let n = 0;
    for await (const _ of scanMany(endless(), { targetConcurrency: 3 })) {
      if (++n === 4) break;
    }
    expect(pulled).toBeLessThanOrEqual(4 + 3);
  });

  it("takes no more input once the caller's signal aborts, so an endless queue drains", async () => {
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield join(dir, "a.json");
      }
    }
    const controller = new AbortController();
    let results = 0;
    for await (const _ of scanMany(endless(), { targetConcurrency: 2, signal: controller.signal })) {
      if (++results === 3) controller.abort();
      expect(results).toBeLessThan(50);
    }
    expect(pulled).toBeLessThanOrEqual(3 + 2);
  });

  it("Hub targets share one transport, so the connection budget holds across repositories", async () => {
    const A = "a".repeat(40);
    const repos = Array.from({ length: 4 }, (_, i) => ({
      name: `acme/r${i}`,
      refs: { main: A },
      commits: {
        [A]: Array.from({ length: 4 }, (_, j) => ({
          path: `f${j}.bin`,
          // text (recognised, clean): bytes no format accounts for would be format/unknown
          content: new TextEncoder().encode(`${j}`.repeat(3000)),
          lfs: true,
        })),
      },
    }));
    const hub = await MockHub.start(repos, { latencyMs: 10 });
    try {
      const { HubTransport } = await import("../../src/sources/hub/transport.js");
      const results: ScanManyResult[] = [];
      for await (const r of scanMany(
        repos.map((r) => ({ hub: { repo: r.name, hubUrl: hub.url, env: {} } })),
        { targetConcurrency: 4, concurrency: 4, hubTransport: new HubTransport({ maxConnections: 3 }) },
      )) {
        results.push(r);
      }
      expect(results.map((r) => r.report.verdict)).toEqual(["clean", "clean", "clean", "clean"]);
      expect(results.flatMap((r) => r.report.files.map((f) => f.integrity?.status))).toEqual(
        new Array(16).fill("verified"),
      );
      expect(results.every((r) => r.report.complete)).toBe(true);
      expect(hub.maxConcurrent).toBe(3);
    } finally {
      await hub.close();
    }
  });
});
