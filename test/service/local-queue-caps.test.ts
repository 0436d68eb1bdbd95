/**
 * The in-process queue's memory caps: waiting jobs beyond `maxQueued` are refused (503), and
 * finished jobs beyond `maxRetainedJobs` or `maxRetainedReportBytes` are forgotten oldest first,
 * before their TTL.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolvePolicy } from "../../src/policy/policy.js";
import { ServiceError } from "../../src/service/errors.js";
import { DEFAULT_CAPS, identityOf } from "../../src/service/job.js";
import { createLocalScanQueue, type LocalQueueOptions } from "../../src/service/local-queue.js";
import type { ScanQueue } from "../../src/service/types.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "mg-queue-caps-")));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const jobOf = (target: string) => ({
  target,
  kind: "local" as const,
  policyHash: resolvePolicy({}).hash,
  options: { verify: "read" as const, hash: true, timeoutMs: 60_000, concurrency: 1 },
  submittedAt: Date.now(),
});

const queueWith = (options: Partial<LocalQueueOptions>): ScanQueue =>
  createLocalScanQueue({ run: { roots: [root], env: {}, caps: DEFAULT_CAPS }, ...options });

async function finished(queue: ScanQueue, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = (await queue.status(id))?.state;
    if (state === "completed" || state === "failed") return;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function runOne(queue: ScanQueue, name: string): Promise<string> {
  const target = join(root, name);
  writeFileSync(target, JSON.stringify({ name }));
  const { id } = await queue.submit(jobOf(target), identityOf(target, "local"));
  await finished(queue, id);
  return id;
}

describe("in-process queue caps", () => {
  it("forgets the oldest finished jobs past maxRetainedJobs", async () => {
    const queue = queueWith({ maxRetainedJobs: 2 });
    try {
      const ids = [await runOne(queue, "a.json"), await runOne(queue, "b.json"), await runOne(queue, "c.json")];
      expect(await queue.status(ids[0]!)).toBeUndefined();
      expect(await queue.result(ids[0]!)).toBeUndefined();
      expect((await queue.status(ids[1]!))?.state).toBe("completed");
      expect(await queue.result(ids[2]!)).toBeDefined();
    } finally {
      await queue.close();
    }
  });

  it("forgets the oldest finished reports past maxRetainedReportBytes, keeping the newest", async () => {
    const queue = queueWith({ maxRetainedReportBytes: 1 });
    try {
      const first = await runOne(queue, "d.json");
      expect(await queue.result(first)).toBeDefined();
      const second = await runOne(queue, "e.json");
      expect(await queue.status(first)).toBeUndefined();
      expect(await queue.result(second)).toBeDefined();
      expect((await queue.counts()).completed).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it("refuses a submission past maxQueued waiting jobs with 503 UNAVAILABLE", async () => {
    const queue = queueWith({ maxQueued: 1, concurrency: 1 });
    try {
      const submit = (name: string) => {
        const target = join(root, name);
        writeFileSync(target, "{}");
        return queue.submit(jobOf(target), identityOf(target, "local"));
      };
      const running = await submit("f.json");
      const waiting = await submit("g.json");
      const refused = await submit("h.json").catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ServiceError);
      expect((refused as ServiceError).status).toBe(503);
      await finished(queue, running.id);
      await finished(queue, waiting.id);
      expect((await submit("h.json")).duplicate).toBe(false);
    } finally {
      await queue.close();
    }
  });
});
