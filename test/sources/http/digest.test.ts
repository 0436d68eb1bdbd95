// The SHA-256 of a remote object computed on a hashing thread (src/sources/http/digest.ts, used by
// RangeReader when `hashInWorker`): the same digests as in this thread, marks that restore and
// check refetches, a bound on the bytes in flight to the thread, and a RangeReader over it that
// still catches a server changing its answer.
import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InlineDigest, type RangeDigest, WorkerDigest } from "../../../src/sources/http/digest.js";
import { RangeReader, type RangeSink } from "../../../src/sources/http/range-reader.js";
import { pipeExactBody } from "../../../src/sources/http/transport.js";
import { slowSink } from "../../helpers/slow-sink.js";

const sha = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** Feeds `bytes` in chunks of `size`, waiting whenever the digest asks to. */
async function feed(d: RangeDigest, bytes: Uint8Array, size: number): Promise<number> {
  let waits = 0;
  for (let at = 0; at < bytes.length; at += size) {
    const behind = d.update(bytes.subarray(at, Math.min(bytes.length, at + size)));
    if (behind !== undefined) {
      waits++;
      await behind;
    }
  }
  return waits;
}

describe("WorkerDigest and InlineDigest", () => {
  const a = randomBytes(3 << 20);
  const b = randomBytes((1 << 20) + 17);
  const c = randomBytes(70_001);

  for (const [name, make] of [
    ["worker", () => new WorkerDigest()],
    ["inline", () => new InlineDigest()],
  ] as const) {
    it(`${name}: digests of odd chunks across batch boundaries; the digest goes on after hex()`, async () => {
      const d = make();
      await feed(d, a, 65_537);
      expect(await d.hex()).toBe(sha(a));
      await feed(d, b, 1_000_003);
      expect(await d.hex()).toBe(sha(a, b));
      d.close();
    });

    it(`${name}: restore puts the state back to a mark; hexFrom checks bytes from a mark without changing the digest`, async () => {
      const d = make();
      await feed(d, a, 100_000);
      const m = d.mark();
      await feed(d, b, 300_000);
      const afterB = d.hex();
      expect(await d.hexFrom(m, [c])).toBe(sha(a, c));
      expect(await d.hexFrom(m, [b.subarray(0, 5), b.subarray(5)])).toBe(await afterB);
      d.restore(m);
      await feed(d, c, 4096);
      expect(await d.hex()).toBe(sha(a, c));
      d.close();
    });

    it(`${name}: a mark of another digest is refused`, () => {
      const d = make();
      const other = make();
      expect(() => d.restore(other.mark())).toThrow(/another digest/);
      d.close();
      other.close();
    });
  }

  it("worker: the bytes in flight to the thread are bounded (feeding waits), and the digest is right", async () => {
    const big = randomBytes(48 << 20);
    const d = new WorkerDigest();
    const waits = await feed(d, big, 4 << 20);
    expect(waits).toBeGreaterThan(0);
    expect(await d.hex()).toBe(sha(big));
    d.close();
  });

  it("worker: use after close fails, it is never a digest", async () => {
    const d = new WorkerDigest();
    await d.update(a);
    d.close();
    await expect(d.hex()).rejects.toMatchObject({ code: "INTERNAL" });
    await expect(d.update(b)).rejects.toMatchObject({ code: "INTERNAL" });
  });

  it("worker: digests interleaved on the shared thread stay apart", async () => {
    const ds = [new WorkerDigest(), new WorkerDigest(), new WorkerDigest()];
    const inputs = [a, b, c];
    for (let at = 0; at < a.length; at += 50_000) {
      ds.forEach((d, i) => {
        const input = inputs[i]!;
        if (at < input.length) void d.update(input.subarray(at, Math.min(input.length, at + 50_000)));
      });
    }
    expect(await Promise.all(ds.map((d) => d.hex()))).toEqual(inputs.map((x) => sha(x)));
    for (const d of ds) d.close();
  });
});

const SIZE = 3_000_000;
const content = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = (i * 7919 + (i >> 8)) & 0xff;
const digest = sha(content);

/** A RangeReader hashing on the worker, over `content`; `serve` may alter a fetch's answer. */
function reader(
  options: { minFetch?: number; maxWindow?: number; maxCache?: number; maxStream?: number },
  serve: (start: number, end: number, n: number) => Uint8Array = (s, e) => content.slice(s, e),
  streamed = false,
) {
  let fetched = 0;
  let n = 0;
  let waits = 0;
  const r = new RangeReader({
    size: SIZE,
    signal: new AbortController().signal,
    bytesFetched: () => fetched,
    options,
    hashInWorker: true,
    fetch: (start, end) => {
      const bytes = serve(start, end, ++n);
      fetched += bytes.length;
      return Promise.resolve(bytes);
    },
    ...(streamed
      ? {
          stream: async (
            start: number,
            end: number,
            signal: AbortSignal,
            begin: (a: AbortSignal) => Promise<RangeSink>,
          ) => {
            const bytes = serve(start, end, ++n);
            const sink = await begin(signal);
            for (let at = 0; at < bytes.length; at += 8192) {
              const c = bytes.slice(at, Math.min(bytes.length, at + 8192));
              fetched += c.length;
              const behind = sink(c);
              if (behind !== undefined) {
                waits++;
                await behind;
              }
            }
          },
        }
      : {}),
  });
  return { r, fetched: () => fetched, waits: () => waits };
}

describe("RangeReader hashing on a worker thread", () => {
  it("any read pattern, then the rest: right bytes and the file's digest", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(SIZE + 10), fc.nat(80_000)), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(4096, 65536),
        fc.boolean(),
        async (reads, minFetch, streamed) => {
          const { r } = reader({ minFetch, maxWindow: minFetch * 4, maxCache: minFetch * 8 }, undefined, streamed);
          for (const [offset, length] of reads) {
            const got = await r.read(offset, length);
            const start = Math.min(offset, SIZE);
            expect(Buffer.from(got).equals(Buffer.from(content.subarray(start, Math.min(SIZE, start + length))))).toBe(
              true,
            );
          }
          expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
          await r.close();
        },
      ),
      { seed: 11, numRuns: 12 },
    );
  });

  it("a range hashed in order, evicted and fetched again with other bytes: NETWORK", async () => {
    let lie = false;
    const { r } = reader({ minFetch: 4096, maxWindow: 4096, maxCache: 8192 }, (s, e) => {
      const out = content.slice(s, e);
      if (lie) out[0] = (out[0]! ^ 0xff) & 0xff;
      return out;
    });
    for (let at = 0; at < 64 << 10; at += 4096) await r.read(at, 4096); // [0, 4096) is evicted
    const honest = await r.read(0, 10); // fetched again, checked against the worker's marks
    expect(Buffer.from(honest).equals(Buffer.from(content.subarray(0, 10)))).toBe(true);
    for (let at = 4096; at < 64 << 10; at += 4096) await r.read(at, 4096);
    lie = true;
    await expect(r.read(0, 10)).rejects.toMatchObject({ code: "NETWORK", message: /other bytes/ });
  });

  it("streamed ranges: the digest is right; below the bound the sink never asks the stream to wait", async () => {
    const { r, waits } = reader({ minFetch: 1 << 20, maxWindow: 1 << 20, maxStream: 1 << 20 }, undefined, true);
    await r.read(0, 100);
    expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
    // 3 MB never exceeds the bound: no wait needed, none asked for.
    expect(waits()).toBe(0);
  });

  it("closed after the digest completed: the digest is still given", async () => {
    const { r } = reader({ minFetch: 1 << 20, maxWindow: 1 << 20 });
    expect(await r.digest(true)).toMatchObject({ complete: true, sha256: digest });
    await r.close();
    expect(await r.digest(false)).toMatchObject({ complete: true, sha256: digest });
  });
});

describe("pipeExactBody with a sink that asks to wait", () => {
  it("no chunk is read while the sink's promise is pending; every byte arrives in order", async () => {
    const body = randomBytes(1 << 20);
    const stats = { requests: 0, bytes: 0 };
    let at = 0;
    const chunked = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= body.length) controller.close();
        else {
          controller.enqueue(body.subarray(at, at + 10_000));
          at += 10_000;
        }
      },
    });
    const { sink, state } = slowSink(3, 2);
    await pipeExactBody(new Response(chunked), body.length, stats, async () => sink);
    expect(state.overlapped).toBe(false);
    expect(Buffer.concat(state.got).equals(body)).toBe(true);
    expect(stats.bytes).toBe(body.length);
    expect(state.waits).toBeGreaterThan(10);
  });

  it("a sink's promise that rejects ends the read with its error", async () => {
    const body = randomBytes(256 << 10);
    const failure = new Error("hashing thread failed");
    await expect(
      pipeExactBody(
        new Response(body),
        body.length,
        { requests: 0, bytes: 0 },
        async () => () => Promise.reject(failure),
      ),
    ).rejects.toBe(failure);
  });
});
