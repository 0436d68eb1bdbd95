/**
 * SHA-256 (FIPS 180-4) for the small digests every scan computes: the policy's hash, a small
 * file's content digest, a verdict-cache key. Hand-written because of start-up, not speed (issue
 * 18): the first `node:crypto` digest of a process loads about 20 internal modules and initialises
 * OpenSSL, 10–15 ms of a `modelgate scan small.pkl` that otherwise takes ~110 ms over a bare
 * `node`, and `@noble/hashes` costs as much through its own module graph. Inputs up to
 * {@link SMALL_INPUT} bytes are hashed here; anything longer goes to `node:crypto` (loaded on that
 * first use), which is many times faster on long inputs. Both give the same digest: the tests
 * compare them on the FIPS 180-4 examples and on random inputs split at random points.
 *
 * The round constants and initial hash value are derived, not listed (as the standard defines
 * them: the first 32 bits of the fractional parts of the cube and square roots of the first
 * primes); a wrong derivation fails every test vector.
 * @module
 */

/** Inputs longer than this are hashed by `node:crypto`. */
export const SMALL_INPUT = 16 * 1024;

/** The first 32 bits of the fractional part of `x`. */
const frac32 = (x: number): number => ((x - Math.floor(x)) * 2 ** 32) >>> 0;

function primes(count: number): number[] {
  const out: number[] = [];
  for (let n = 2; out.length < count; n++) if (out.every((p) => n % p !== 0)) out.push(n);
  return out;
}

const PRIMES = primes(64);
/** Round constants: cube roots of the first 64 primes. */
const K = Int32Array.from(PRIMES, (p) => frac32(Math.cbrt(p)));
/** Initial hash value: square roots of the first 8 primes. */
const H0 = Int32Array.from(PRIMES.slice(0, 8), (p) => frac32(Math.sqrt(p)));
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** An incremental SHA-256: `update` any number of times, then `digest` once. */
export interface Sha256 {
  /** Adds bytes (copied when kept: the caller may reuse its buffer). */
  update(bytes: Uint8Array): void;
  /** The lowercase hex digest; the hasher must not be used afterwards. */
  digest(): string;
}

/** The compression function over the 64-byte blocks of `data[offset, offset + length)`. */
function compress(state: Int32Array, w: Int32Array, data: Uint8Array, offset: number, length: number): void {
  let h0 = state[0]!;
  let h1 = state[1]!;
  let h2 = state[2]!;
  let h3 = state[3]!;
  let h4 = state[4]!;
  let h5 = state[5]!;
  let h6 = state[6]!;
  let h7 = state[7]!;
  for (let at = offset; at < offset + length; at += 64) {
    for (let t = 0; t < 16; t++) {
      const i = at + 4 * t;
      w[t] = (data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15]!;
      const b = w[t - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[t] = (s1 + w[t - 7]! + s0 + w[t - 16]!) | 0;
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  state[0] = h0;
  state[1] = h1;
  state[2] = h2;
  state[3] = h3;
  state[4] = h4;
  state[5] = h5;
  state[6] = h6;
  state[7] = h7;
}

/** SHA-256 of bytes, in JavaScript whatever their length (the tests' reference for the split). */
export function sha256Js(data: Uint8Array): string {
  const state = H0.slice();
  const w = new Int32Array(64);
  const whole = data.length - (data.length % 64);
  compress(state, w, data, 0, whole);
  // The rest, 0x80, zeros, and the length in bits as a 64-bit big-endian number: one or two blocks.
  const tail = new Uint8Array(data.length - whole < 56 ? 64 : 128);
  tail.set(data.subarray(whole));
  tail[data.length - whole] = 0x80;
  const bits = data.length * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(tail.length - 4, bits >>> 0);
  compress(state, w, tail, 0, tail.length);
  let hex = "";
  for (const word of state)
    hex += HEX[word >>> 24]! + HEX[(word >>> 16) & 255]! + HEX[(word >>> 8) & 255]! + HEX[word & 255]!;
  return hex;
}

const encoder = new TextEncoder();

/**
 * SHA-256 (lowercase hex) of bytes or of a string's UTF-8 encoding.
 * @param data - what to hash
 */
export function sha256Hex(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  if (bytes.length <= SMALL_INPUT) return sha256Js(bytes);
  return process.getBuiltinModule("node:crypto").createHash("sha256").update(bytes).digest("hex");
}

/**
 * An incremental SHA-256 that keeps (a copy of) what it is given while the total is at most
 * {@link SMALL_INPUT} bytes and hashes that in JavaScript; past it, it hands what it kept to
 * `node:crypto` and streams the rest there.
 */
export function createSha256(): Sha256 {
  let kept: Uint8Array[] | undefined = [];
  let keptBytes = 0;
  let native: import("node:crypto").Hash | undefined;
  return {
    update(bytes) {
      if (kept !== undefined && keptBytes + bytes.length <= SMALL_INPUT) {
        kept.push(bytes.slice());
        keptBytes += bytes.length;
        return;
      }
      if (native === undefined) {
        native = process.getBuiltinModule("node:crypto").createHash("sha256");
        for (const part of kept ?? []) native.update(part);
        kept = undefined;
      }
      native.update(bytes);
    },
    digest() {
      if (native !== undefined) return native.digest("hex");
      const all = new Uint8Array(keptBytes);
      let at = 0;
      for (const part of kept ?? []) {
        all.set(part, at);
        at += part.length;
      }
      kept = undefined;
      return sha256Js(all);
    },
  };
}
