// RangeReader (src/sources/http/range-reader.ts), the reader under https://, s3://, oci:// and Hub
// files: a full verification transfers and hashes each byte once, and a range fetched again
// (after eviction, or after the digest completed) must be the bytes that were hashed.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";

/** Bytes passed to every SHA-256 `update` made through `createHash` (copies included). */
const hashed = vi.hoisted(() => ({ bytes: 0 }));
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  type H = ReturnType<typeof real.createHash>;
  const count = (h: H): H => {
    const update = h.update.bind(h) as (data: Uint8Array | string) => H;
    const copy = h.copy.bind(h);
    h.update = ((data: Uint8Array | string) => {
      hashed.bytes += data.length;
      return update(data);
    }) as H["update"];
    h.copy = ((o?: never) => count(copy(o))) as H["copy"];
    return h;
  };
  return { ...real, createHash: (alg: string, o?: never) => count(real.createHash(alg, o)) };
});

const { RangeReader } = await import("../../../src/sources/http/range-reader.js");

const SIZE = 1_000_000;
const content = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 7919 + (i >> 8)) & 0xff;
const digest = createHash("sha256").update(content).digest("hex");

/** A reader over `content`; `serve` may alter what a fetch returns. */
function reader(
  options: { minFetch?: number; maxWindow?: number; maxCache?: number },
  serve: (start: number, end: number, n: number) => Uint8Array = (s, e) => content.slice(s, e),
) {
  const log: Array<[number, number]> = [];
  let fetched = 0;
  const r = new RangeReader({
    size: SIZE,
    signal: new AbortController().signal,
    bytesFetched: () => fetched,
    options,
    fetch: (start, end) => {
      log.push([start, end]);
      const bytes = serve(start, end, log.length);
      fetched += bytes.length;
      return Promise.resolve(bytes);
    },
  });
  return { r, log, fetched: () => fetched };
}

describe("RangeReader: full verification", () => {
  it("a header read then the rest: every byte transferred once and hashed once", async () => {
    const { r, fetched } = reader({ minFetch: 128 << 10, maxWindow: 128 << 10, maxCache: 256 << 10 });
    hashed.bytes = 0;
    await r.read(0, 8);
    await r.read(8, 300);
    const state = await r.digest(true);
    expect(state).toMatchObject({ complete: true, sha256: digest, bytesFetched: SIZE });
    expect(fetched()).toBe(SIZE);
    // Before: each range was hashed on arrival for its own check and again for the file digest.
    expect(hashed.bytes).toBe(SIZE);
  });

  it("a range read ahead of the prefix (a tail) is the only thing hashed twice", async () => {
    const { r, fetched } = reader({ minFetch: 64 << 10, maxWindow: 128 << 10, maxCache: 512 << 10 });
    hashed.bytes = 0;
    const tail = await r.read(SIZE - 1000, 1000);
    expect(Buffer.from(tail).equals(Buffer.from(content.subarray(SIZE - 1000)))).toBe(true);
    await r.read(0, 100);
    const state = await r.digest(true);
    expect(state).toMatchObject({ complete: true, sha256: digest });
    expect(fetched()).toBe(SIZE);
    expect(hashed.bytes).toBe(SIZE + 1000);
  });

  it("any read pattern: right bytes, right digest, each byte hashed at most twice", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(SIZE + 10), fc.nat(80_000)), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(2048, 16384, 65536),
        async (reads, minFetch) => {
          const { r } = reader({ minFetch, maxWindow: minFetch * 4, maxCache: minFetch * 8 });
          hashed.bytes = 0;
          for (const [offset, length] of reads) {
            const got = await r.read(offset, length);
            const start = Math.min(offset, SIZE);
            expect(Buffer.from(got).equals(Buffer.from(content.subarray(start, Math.min(SIZE, start + length))))).toBe(
              true,
            );
          }
          expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
          expect(hashed.bytes).toBeLessThanOrEqual(2 * SIZE + reads.length * 80_000 * 2);
          await r.close();
        },
      ),
      { seed: 7, numRuns: 25 },
    );
  });
});

describe("RangeReader: a server that changes its answer", () => {
  const flip = (bytes: Uint8Array) => {
    const out = bytes.slice();
    out[0] = (out[0]! ^ 0xff) & 0xff;
    return out;
  };

  it("a range hashed in order, evicted and fetched again with other bytes: NETWORK", async () => {
    let lie = false;
    const { r } = reader({ minFetch: 4096, maxWindow: 4096, maxCache: 8192 }, (s, e) =>
      lie ? flip(content.slice(s, e)) : content.slice(s, e),
    );
    for (let at = 0; at < 64 << 10; at += 4096) await r.read(at, 4096); // [0, 4096) is evicted
    lie = true;
    await expect(r.read(0, 10)).rejects.toMatchObject({ code: "NETWORK", message: /other bytes/ });
  });

  it("after the digest completed, a range fetched again must still be the bytes hashed", async () => {
    let lie = false;
    const { r } = reader({ minFetch: 64 << 10, maxWindow: 64 << 10, maxCache: 64 << 10 }, (s, e) =>
      lie ? flip(content.slice(s, e)) : content.slice(s, e),
    );
    await r.read(0, 10);
    expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
    // Honest: the evicted middle is fetched again and accepted.
    const again = await r.read(500_000, 10);
    expect(Buffer.from(again).equals(Buffer.from(content.subarray(500_000, 500_010)))).toBe(true);
    lie = true;
    await expect(r.read(700_000, 10)).rejects.toMatchObject({ code: "NETWORK", message: /other bytes/ });
  });

  it("a tail read ahead, evicted, and different when the digest reaches it: NETWORK", async () => {
    let lie = false;
    const { r } = reader({ minFetch: 4096, maxWindow: 64 << 10, maxCache: 64 << 10 }, (s, e) =>
      lie && s >= SIZE - 4096 ? flip(content.slice(s, e)) : content.slice(s, e),
    );
    await r.read(SIZE - 100, 100);
    for (let at = 0; at < 256 << 10; at += 4096) await r.read(at, 4096); // the tail is evicted
    lie = true;
    await expect(r.digest(true)).rejects.toMatchObject({ code: "NETWORK", message: /other bytes/ });
  });

  it("a digest waiting behind a stuck read gives up when its signal fires", async () => {
    let calls = 0;
    const r = new RangeReader({
      size: SIZE,
      signal: new AbortController().signal,
      bytesFetched: () => 0,
      fetch: () => (++calls === 1 ? new Promise<Uint8Array>(() => undefined) : Promise.resolve(new Uint8Array())),
    });
    void r.read(0, 10).catch(() => undefined);
    const t0 = Date.now();
    await expect(r.digest(true, AbortSignal.timeout(100))).rejects.toBeDefined();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await r.digest(false)).toMatchObject({ complete: false });
  });
});
