import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashBytes } from "../../src/integrity/hash/core.js";
import { HashPool } from "../../src/integrity/hash/pool.js";

const dir = mkdtempSync(join(tmpdir(), "mg-hash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function pseudoRandom(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("hashing", () => {
  // Reference values: b3sum / hashlib.blake2b() of "abc".
  it("matches published BLAKE2b-512 and BLAKE3 test vectors", async () => {
    const d = await hashBytes(Buffer.from("abc"), ["sha256", "blake2b", "blake3"]);
    expect(d.sha256).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(d.blake2b).toBe(
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    );
    expect(d.blake3).toBe("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
  });

  for (const workers of [0, 2]) {
    it(`hashes files and ranges with ${workers} workers, across chunk boundaries`, async () => {
      const pool = new HashPool({ workers, chunkSize: 4096, inThreadBelow: 0 });
      try {
        const data = pseudoRandom(3 * 4096 + 123, 7);
        const path = file(`f${workers}.bin`, data);
        const whole = await pool.hash({ path, algorithms: ["sha256", "blake2b", "blake3"] });
        expect(whole.size).toBe(data.length);
        expect(whole.digests[0]?.sha256).toBe(sha(data));
        expect(whole.digests[0]?.blake2b).toBe(createHash("blake2b512").update(data).digest("hex"));
        const ranges = [
          { start: 0, end: 5000 },
          { start: 5000, end: data.length },
          { start: 10, end: 10 },
        ];
        const parts = await pool.hash({ path, ranges });
        expect(parts.digests.map((d) => d.sha256)).toEqual(ranges.map((r) => sha(data.subarray(r.start, r.end))));
        const empty = file(`e${workers}.bin`, new Uint8Array(0));
        expect((await pool.hash({ path: empty })).digests[0]?.sha256).toBe(sha(new Uint8Array(0)));
        // many jobs at once: every answer goes to its own caller
        const files = Array.from({ length: 12 }, (_, i) => pseudoRandom(5000 + i * 997, i + 1));
        const paths = files.map((b, i) => file(`m${workers}-${i}.bin`, b));
        const results = await Promise.all(paths.map((p) => pool.hash({ path: p })));
        expect(results.map((r) => r.digests[0]?.sha256)).toEqual(files.map(sha));
      } finally {
        await pool.close();
      }
    });

    it(`reports typed errors with ${workers} workers`, async () => {
      const pool = new HashPool({ workers, inThreadBelow: 0 });
      try {
        await expect(pool.hash({ path: join(dir, "missing") })).rejects.toMatchObject({ code: "IO" });
        const path = file(`t${workers}.bin`, pseudoRandom(1000, 3));
        await expect(pool.hash({ path, expectedSize: 999 })).rejects.toMatchObject({ code: "TRUNCATED" });
        await expect(pool.hash({ path, ranges: [{ start: 0, end: 1001 }] })).rejects.toMatchObject({
          code: "TRUNCATED",
        });
        await expect(pool.hash({ path: dir })).rejects.toMatchObject({ code: "IO" });
        const controller = new AbortController();
        controller.abort();
        await expect(pool.hash({ path, signal: controller.signal })).rejects.toThrow();
      } finally {
        await pool.close();
      }
    });
  }

  it("cancels a running job in a worker", async () => {
    const pool = new HashPool({ workers: 1, chunkSize: 4096, inThreadBelow: 0 });
    try {
      const path = join(dir, "sparse.bin");
      writeFileSync(path, "");
      truncateSync(path, 512 * 1024 * 1024); // sparse: reads are cheap, hashing in 4 KiB chunks is slow
      const controller = new AbortController();
      const job = pool.hash({ path, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await expect(job).rejects.toMatchObject({ code: "ABORTED" });
      // the worker is free again
      const small = file("after.bin", Buffer.from("abc"));
      expect((await pool.hash({ path: small })).digests[0]?.sha256).toBe(sha(Buffer.from("abc")));
    } finally {
      await pool.close();
    }
  });
});
