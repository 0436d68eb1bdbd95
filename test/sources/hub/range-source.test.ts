import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubFileSource, type RangeReadOptions } from "../../../src/sources/hub/range-source.js";
import { HubTransport, retryAfterMs } from "../../../src/sources/hub/transport.js";
import { MockHub } from "./mock-hub.js";

const A = "a".repeat(40);
const SIZE = 300_000;
const content = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 7919 + (i >> 8)) & 0xff;
const sha256 = createHash("sha256").update(content).digest("hex");

let hub: MockHub;
beforeAll(async () => {
  hub = await MockHub.start([
    {
      name: "acme/p",
      refs: { main: A },
      commits: {
        [A]: [
          { path: "f.bin", content, lfs: true },
          { path: "g.txt", content },
          { path: "short.bin", content, lfs: true, served: content.subarray(0, 1000) },
        ],
      },
    },
  ]);
});
afterAll(() => hub.close());

function source(path: string, options: RangeReadOptions, pinned = { sha256 }) {
  return new HubFileSource({
    transport: new HubTransport({ retries: 0 }),
    url: `${hub.url}/acme/p/resolve/${A}/${path}`,
    size: SIZE,
    commit: A,
    pinned,
    ctx: { origin: hub.url, signal: new AbortController().signal, stats: { requests: 0, bytes: 0 } },
    options,
  });
}

describe("HubFileSource", () => {
  it("returns the right bytes for any read pattern, and the digest is right whatever was cached", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(SIZE + 10), fc.nat(40_000)), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(2048, 16384, 65536),
        async (reads, minFetch) => {
          const src = source("f.bin", { minFetch, maxWindow: minFetch * 4, maxCache: minFetch * 8 });
          for (const [offset, length] of reads) {
            const got = await src.read(offset, length);
            const start = Math.min(offset, SIZE);
            expect(Buffer.from(got).equals(Buffer.from(content.subarray(start, Math.min(SIZE, start + length))))).toBe(
              true,
            );
          }
          const state = await src.integrity(true);
          expect(state).toMatchObject({ complete: true, sha256, problems: [] });
          await src.close();
        },
      ),
      { seed: 42, numRuns: 25 },
    );
  });

  it("sequential reads grow the read-ahead window: a streamed file costs few requests", async () => {
    const src = source("f.bin", { minFetch: 4096, maxWindow: 64 << 10 });
    for (let at = 0; at < SIZE; at += 4096) await src.read(at, 4096);
    const before = hub.log.length;
    const state = await src.integrity(false);
    expect(hub.log.length).toBe(before);
    expect(state.complete).toBe(true);
    expect(state.sha256).toBe(sha256);
    expect(state.bytesFetched).toBe(SIZE);
  });

  it("fetches only the gaps between cached bytes, and read-ahead stops where cached bytes begin", async () => {
    const src = source("f.bin", { minFetch: 65536 });
    const cdnRanges = (from: number) =>
      hub.log
        .slice(from)
        .filter((e) => e.server === "cdn")
        .map((e) => e.range);
    let mark = hub.log.length;
    await src.read(0, 10); // read-ahead: [0, 65536)
    await src.read(SIZE - 10, 10); // the tail: [SIZE - 10, SIZE)
    await src.read(100_000, 10); // read-ahead: [100000, 165536)
    expect(cdnRanges(mark)).toEqual([`bytes=0-65535`, `bytes=${SIZE - 10}-${SIZE - 1}`, "bytes=100000-165535"]);
    mark = hub.log.length;
    // Straddles three cached segments: two gaps are fetched, the second only up to the tail.
    const got = await src.read(60_000, SIZE - 60_000);
    expect(Buffer.from(got).equals(Buffer.from(content.subarray(60_000)))).toBe(true);
    expect(cdnRanges(mark)).toEqual(["bytes=65536-99999", `bytes=165536-${SIZE - 11}`]);
    const state = await src.integrity(false);
    expect(state).toMatchObject({ complete: true, sha256, bytesFetched: SIZE });
  });

  it("the git blob SHA-1 of a git file is checked when read whole", async () => {
    const gitSha1 = createHash("sha1").update(`blob ${SIZE}\0`).update(content).digest("hex");
    const good = await source("g.txt", { minFetch: SIZE }, { gitSha1 } as never).integrity(true);
    expect(good).toMatchObject({ complete: true, gitSha1, problems: [] });
    const bad = await source("g.txt", { minFetch: SIZE }, { gitSha1: "0".repeat(40) } as never).integrity(true);
    expect(bad.problems).toEqual([{ check: "git-sha1", expected: "0".repeat(40), actual: gitSha1 }]);
  });

  it("a 416 for a range inside the pinned size means the served file is shorter: a size problem", async () => {
    const src = source("short.bin", {});
    await expect(src.read(SIZE - 10, 10)).rejects.toThrow(/not satisfiable/);
    const state = await src.integrity(false);
    expect(state.problems).toEqual([{ check: "size", expected: String(SIZE), actual: "1000" }]);
    expect(hub.log.at(-1)).toMatchObject({ server: "cdn", status: 416 });
  });

  it("reads after close fail; Retry-After accepts seconds and dates", async () => {
    const src = source("f.bin", {});
    await src.close();
    await expect(src.read(0, 10)).rejects.toThrow(/after close/);
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});
