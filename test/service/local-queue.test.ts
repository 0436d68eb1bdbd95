/**
 * The in-process queue's own bookkeeping: finished jobs and their reports are kept for the TTL and
 * then forgotten (each on its own finish time), and an unpinned target is scanned again once its
 * scan finished.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolvePolicy } from "../../src/policy/policy.js";
import { DEFAULT_CAPS, identityOf } from "../../src/service/job.js";
import { createLocalScanQueue } from "../../src/service/local-queue.js";
import type { ScanQueue } from "../../src/service/types.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "mg-local-queue-")));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const jobOf = (target: string) => ({
  target,
  kind: "local" as const,
  policyHash: resolvePolicy({}).hash,
  options: { verify: "read" as const, hash: true, timeoutMs: 60_000, concurrency: 1 },
  submittedAt: Date.now(),
});

async function finished(queue: ScanQueue, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = (await queue.status(id))?.state;
    if (state === "completed" || state === "failed") return;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("in-process queue", () => {
  it("forgets each finished job once its own TTL has passed, and no job before", async () => {
    const ttl = 400;
    const queue = createLocalScanQueue({ resultTtlMs: ttl, run: { roots: [root], env: {}, caps: DEFAULT_CAPS } });
    try {
      const submitOne = async (name: string) => {
        const target = join(root, name);
        writeFileSync(target, JSON.stringify({ name }));
        const { id } = await queue.submit(jobOf(target), identityOf(target, "local"));
        await finished(queue, id);
        return { id, at: performance.now() };
      };
      const first = await submitOne("first.json");
      await new Promise((r) => setTimeout(r, ttl / 2));
      const second = await submitOne("second.json");
      // both kept while within their TTL
      expect((await queue.status(first.id))?.state).toBe("completed");
      expect((await queue.status(second.id))?.verdict).toBe("clean");
      // past the first one's TTL, not the second's
      await new Promise((r) => setTimeout(r, Math.max(0, first.at + ttl + 20 - performance.now())));
      const secondLeft = second.at + ttl - performance.now();
      expect(await queue.status(first.id)).toBeUndefined();
      expect(await queue.result(first.id)).toBeUndefined();
      if (secondLeft > 30) expect((await queue.status(second.id))?.state).toBe("completed");
      // past both
      await new Promise((r) => setTimeout(r, Math.max(0, second.at + ttl + 20 - performance.now())));
      expect(await queue.status(second.id)).toBeUndefined();
      expect((await queue.counts()).completed).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it("scans an unpinned target again once finished, a queued one not twice, and starts over after the TTL", async () => {
    const ttl = 1_000;
    const queue = createLocalScanQueue({ resultTtlMs: ttl, run: { roots: [root], env: {}, caps: DEFAULT_CAPS } });
    try {
      const target = join(root, "again.json");
      writeFileSync(target, "{}");
      const identity = identityOf(target, "local");
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const [a, b] = await Promise.all([
          queue.submit(jobOf(target), identity),
          queue.submit(jobOf(target), identity),
        ]);
        expect(a.id).toBe(b.id);
        expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
        await finished(queue, a.id);
        ids.push(a.id);
      }
      expect(new Set(ids).size).toBe(30);
      expect((await queue.counts()).completed).toBe(30);
      // every generation forgotten: the next submission is the first generation again
      await new Promise((r) => setTimeout(r, ttl + 50));
      const again = await queue.submit(jobOf(target), identity);
      expect(again).toEqual({ id: ids[0], duplicate: false });
      await finished(queue, again.id);
    } finally {
      await queue.close();
    }
  });
});
