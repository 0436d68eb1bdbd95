// The workers' counters are summed in memory and written together: one write per interval, the
// sums exact, what is left written on close, a failed write dropped without breaking later ones.
import { describe, expect, it } from "vitest";
import { countersOf, DURATION_BUCKETS, type ScanCounters } from "../../src/service/metrics.js";
import { CounterBatch } from "../../src/service/redis-metrics.js";

const report = (sizes: number[], cached: boolean[] = [], errors: string[] = []) =>
  ({
    files: sizes.map((size, i) => ({ size, ...(cached[i] === true ? { cached: true } : {}) })),
    errors: errors.map((code) => ({ code, message: "x" })),
  }) as never;

class Recorder {
  readonly writes: Partial<ScanCounters>[] = [];
  failNext = false;
  add(delta: Partial<ScanCounters>): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("Redis away"));
    }
    this.writes.push(structuredClone(delta));
    return Promise.resolve();
  }
}

describe("CounterBatch", () => {
  it("writes the sum of many scans once per interval", async () => {
    const target = new Recorder();
    const batch = new CounterBatch(target, { intervalMs: 50 });
    batch.add(countersOf(report([100, 20], [false, true], ["IO"]), 0.07));
    batch.add(countersOf(report([5]), 2));
    batch.error("NETWORK");
    batch.error("IO");
    expect(target.writes).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 120));
    expect(target.writes).toHaveLength(1);
    const w = target.writes[0]!;
    expect(w.durationCount).toBe(2);
    expect(w.durationSum).toBeCloseTo(2.07);
    // 0.07 s falls in the buckets from 0.1 up, 2 s in those from 2.5 up.
    expect(w.durationBuckets).toEqual(DURATION_BUCKETS.map((le) => (le >= 2.5 ? 2 : le >= 0.1 ? 1 : 0)));
    expect(w.bytesRead).toBe(105);
    expect(w.filesScanned).toBe(3);
    expect(w.cacheHits).toBe(1);
    expect(w.errors).toEqual({ IO: 2, NETWORK: 1 });
    // Nothing counted since: no empty write.
    await new Promise((r) => setTimeout(r, 120));
    expect(target.writes).toHaveLength(1);
  });

  it("close writes what is left at once; a failed write is dropped and later ones go on", async () => {
    const target = new Recorder();
    const batch = new CounterBatch(target, { intervalMs: 60_000 });
    target.failNext = true;
    batch.add(countersOf(report([1]), 0.01));
    await batch.flush();
    expect(target.writes).toHaveLength(0);
    batch.add(countersOf(report([7, 8]), 0.2));
    await batch.close();
    expect(target.writes).toHaveLength(1);
    expect(target.writes[0]).toMatchObject({ durationCount: 1, bytesRead: 15, filesScanned: 2 });
    await batch.close();
    expect(target.writes).toHaveLength(1);
  });
});
