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

/**
 * A reader whose digest is completed by a streaming fetcher over `content`, in chunks of 4 KiB;
 * `serve` may replace what the `n`th streamed range (from 1) sends, and start a new attempt of it
 * with `again` (what the transport does when a body is cut short).
 */
function streamed(
  options: { minFetch?: number; maxWindow?: number; maxCache?: number; maxStream?: number },
  serve: (
    start: number,
    end: number,
    feed: (bytes: Uint8Array) => void,
    n: number,
    again: () => Promise<(c: Uint8Array) => void>,
  ) => Promise<void> = async (s, e, feed) => feed(content.subarray(s, e)),
) {
  const log: Array<[number, number]> = [];
  const reads: Array<[number, number]> = [];
  let fetched = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const chunk = 4096;
  const r = new RangeReader({
    size: SIZE,
    signal: new AbortController().signal,
    bytesFetched: () => fetched,
    options,
    fetch: (start, end) => {
      reads.push([start, end]);
      fetched += end - start;
      return Promise.resolve(content.slice(start, end));
    },
    stream: async (start, end, signal, begin) => {
      const n = log.push([start, end]);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        const run = async () => {
          const sink = await begin(signal);
          return (bytes: Uint8Array) => {
            for (let at = 0; at < bytes.length; at += chunk) {
              const c = bytes.slice(at, Math.min(bytes.length, at + chunk));
              fetched += c.length;
              sink(c);
            }
          };
        };
        let feed = await run();
        await serve(
          start,
          end,
          (b) => feed(b),
          n,
          async () => {
            feed = await run();
            return feed;
          },
        );
      } finally {
        inFlight--;
      }
    },
  });
  return { r, log, reads, fetched: () => fetched, maxInFlight: () => maxInFlight };
}

describe("RangeReader: a digest completed by streamed ranges", () => {
  it("every byte transferred once and hashed once; one range fed at a time, the next requested before it ends", async () => {
    const { r, log, reads, fetched, maxInFlight } = streamed({ minFetch: 8192, maxWindow: 16384, maxStream: 131072 });
    hashed.bytes = 0;
    await r.read(0, 100);
    const state = await r.digest(true);
    expect(state).toMatchObject({ complete: true, sha256: digest, bytesFetched: SIZE });
    expect(fetched()).toBe(SIZE);
    expect(hashed.bytes).toBe(SIZE);
    // Contiguous, from the end of what the analysis read, to the end.
    expect(reads).toEqual([[0, 8192]]);
    expect(log[0]![0]).toBe(8192);
    for (let i = 1; i < log.length; i++) expect(log[i]![0]).toBe(log[i - 1]![1]);
    expect(log.at(-1)![1]).toBe(SIZE);
    // Ranges arriving fast grow from maxWindow to maxStream, never beyond.
    const sizes = log.slice(0, -1).map(([s, e]) => e - s);
    expect(sizes[0]).toBe(16384);
    expect(Math.max(...sizes)).toBe(131072);
    expect(maxInFlight()).toBeLessThanOrEqual(2);
  });

  it("an attempt cut short and retried: the digest is put back to where the range began, and is right", async () => {
    const { r, log } = streamed({ minFetch: 8192, maxWindow: 65536 }, async (s, e, feed, n, again) => {
      if (n === 2) {
        feed(content.subarray(s, s + 10_000)); // the connection drops here
        const retry = await again();
        retry(content.subarray(s, e));
        return;
      }
      feed(content.subarray(s, e));
    });
    await r.read(0, 10);
    expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
    expect(log.length).toBeGreaterThan(2);
  });

  it("a retried attempt that sends other bytes than the first: the digest is of what the retry sent", async () => {
    let flipped = -1;
    const { r } = streamed({ minFetch: 8192, maxWindow: 65536 }, async (s, e, feed, n, again) => {
      if (n === 2) {
        feed(content.subarray(s, s + 10_000));
        const other = content.slice(s, e);
        other[0] = (other[0]! ^ 0xff) & 0xff; // the first bytes fed before are not kept
        flipped = s;
        (await again())(other);
        return;
      }
      feed(content.subarray(s, e));
    });
    await r.read(0, 10);
    const state = await r.digest(true);
    const other = content.slice();
    other[flipped] = (other[flipped]! ^ 0xff) & 0xff;
    const expected = createHash("sha256").update(other);
    expect(state.sha256).toBe(expected.digest("hex"));
    expect(state.sha256).not.toBe(digest);
  });

  it("more bytes than the range, or fewer: NETWORK, the digest is not complete", async () => {
    for (const serve of [
      async (s: number, e: number, feed: (b: Uint8Array) => void) => feed(content.subarray(s, Math.min(SIZE, e + 1))),
      async (s: number, e: number, feed: (b: Uint8Array) => void) => feed(content.subarray(s, e - 1)),
    ]) {
      const { r } = streamed({ minFetch: 8192, maxWindow: 65536 }, (s, e, feed, n) =>
        n === 2 ? serve(s, e, feed) : Promise.resolve(feed(content.subarray(s, e))),
      );
      await r.read(0, 10);
      await expect(r.digest(true)).rejects.toMatchObject({ code: "NETWORK" });
      expect(await r.digest(false)).toMatchObject({ complete: false });
    }
  });

  it("a range waiting behind a stuck one gives up when its attempt ends (it never holds its connection for good)", async () => {
    let gaveUp: unknown;
    const r = new RangeReader({
      size: SIZE,
      signal: new AbortController().signal,
      bytesFetched: () => 0,
      options: { minFetch: 65536, maxWindow: 65536 },
      fetch: (start, end) => Promise.resolve(content.slice(start, end)),
      stream: async (start, end, _signal, begin) => {
        if (start === 65536) {
          const sink = await begin(new AbortController().signal);
          sink(content.subarray(start, end - 100)); // seven eighths in: the next range is requested
          return new Promise<void>(() => undefined); // and this one never ends
        }
        gaveUp = await begin(AbortSignal.timeout(50)).catch((e: unknown) => e);
        throw gaveUp;
      },
    });
    await r.read(0, 10);
    await expect(r.digest(true, AbortSignal.timeout(2000))).rejects.toBeDefined();
    expect(gaveUp).toBeInstanceOf(Error);
    expect((gaveUp as Error).name).toBe("TimeoutError");
  });

  it("after a streamed digest, a range fetched again must still be the bytes that were hashed", async () => {
    let lie = false;
    const r = new RangeReader({
      size: SIZE,
      signal: new AbortController().signal,
      bytesFetched: () => 0,
      options: { minFetch: 65536, maxWindow: 65536, maxCache: 65536 },
      fetch: (start, end) => {
        const out = content.slice(start, end);
        if (lie) out[0] = (out[0]! ^ 0xff) & 0xff;
        return Promise.resolve(out);
      },
      stream: async (start, end, _signal, begin) =>
        (await begin(new AbortController().signal))(content.subarray(start, end)),
    });
    await r.read(0, 10);
    expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
    const again = await r.read(300_000, 10);
    expect(Buffer.from(again).equals(Buffer.from(content.subarray(300_000, 300_010)))).toBe(true);
    lie = true;
    await expect(r.read(700_000, 10)).rejects.toMatchObject({ code: "NETWORK", message: /other bytes/ });
  });
});
