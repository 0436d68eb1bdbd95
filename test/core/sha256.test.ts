/**
 * core/sha256.ts: the JavaScript SHA-256 against the FIPS 180-4 examples and against node:crypto
 * (every length around the block and padding boundaries, random inputs in random pieces), and the
 * incremental hasher's hand-over to node:crypto past SMALL_INPUT.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSha256, SMALL_INPUT, sha256Hex, sha256Js } from "../../src/core/sha256.js";

const native = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const pattern = (length: number, seed = 7): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 131 + seed) & 255);

describe("sha256Js", () => {
  it("gives the FIPS 180-4 example digests", () => {
    expect(sha256Js(ascii("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Js(new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Js(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(sha256Js(new Uint8Array(1_000_000).fill(0x61))).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });

  it("equals node:crypto at every length up to 300 bytes (one and two padding blocks)", () => {
    for (let length = 0; length <= 300; length++)
      expect([length, sha256Js(pattern(length))]).toEqual([length, native(pattern(length))]);
  });

  it("equals node:crypto on random bytes, high bits included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => sha256Js(bytes) === native(bytes)),
      { numRuns: 300 },
    );
  });
});

describe("sha256Hex", () => {
  it("hashes a string as its UTF-8 encoding, as node:crypto does", () => {
    for (const text of ["", "modelgate", "naïve – ☃ 𝄞", "x".repeat(SMALL_INPUT + 5)])
      expect(sha256Hex(text)).toBe(createHash("sha256").update(text).digest("hex"));
  });

  it("gives the same digest on both sides of SMALL_INPUT", () => {
    for (const length of [SMALL_INPUT - 1, SMALL_INPUT, SMALL_INPUT + 1, 3 * SMALL_INPUT])
      expect(sha256Hex(pattern(length))).toBe(native(pattern(length)));
  });
});

describe("createSha256", () => {
  it("equals node:crypto whatever the pieces, below and past SMALL_INPUT", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 * SMALL_INPUT + 100 }),
        fc.array(fc.integer({ min: 0, max: 2 * SMALL_INPUT + 100 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 255 }),
        (length, cuts, seed) => {
          const bytes = pattern(length, seed);
          const points = [...new Set(cuts.map((c) => c % (length + 1)))].sort((a, b) => a - b);
          const hash = createSha256();
          let at = 0;
          for (const p of [...points, length]) {
            hash.update(bytes.subarray(at, p));
            at = p;
          }
          return hash.digest() === native(bytes);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("copies what it keeps: a caller reusing its buffer does not change the digest", () => {
    const buffer = pattern(100);
    const expected = native(new Uint8Array([...buffer, ...buffer.map((b) => b ^ 0xff)]));
    const hash = createSha256();
    hash.update(buffer);
    buffer.set(buffer.map((b) => b ^ 0xff));
    hash.update(buffer);
    expect(hash.digest()).toBe(expected);
  });
});
