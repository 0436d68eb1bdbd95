/**
 * Attacks on the fast path's item skeletons (`FastPath.#record` / `#matchRun`): an item counted by
 * a skeleton recorded from another item must have exactly the effect the counting loop would have
 * had, whatever differs between the two items' contexts (the tag of the item before a leading
 * memo put, the memo's next index and room, BINPUT / LONG_BINPUT across 256, the parity of the
 * shadow depth under the dunder check, MARK and stack budgets, buffer boundaries).
 *
 * Random streams draw their items from a small pool of shapes (some repeats differ only where a
 * skeleton checks the bytes: a dunder or non-ASCII str of the same length, a put of another
 * index), over a full list or dict, with items a skeleton cannot be recorded from (calls, callees,
 * kept puts) in between, then pass every entry put to an os.system call (the finding shows the
 * value); the analysis with the fast path must report what the machine alone
 * reports (SKELETON_SEED and SKELETON_RUNS set the seed and runs).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  binget,
  bytes,
  LIST_AND_CALLEES,
  type StreamOptions as Options,
  op,
  expectSameAnalyses as same,
  u32le,
} from "./helpers.js";

const PREFIX = LIST_AND_CALLEES;
/** Entries 4 .. 4+n-1 set to 7 in order. */
const fill = (n: number) => Uint8Array.from({ length: 4 * n }, (_, k) => [0x4b, 7, 0x94, 0x30][k % 4] as number);

/** Symbolic pieces, turned into bytes by {@link render} (which knows the memo's next index). */
type Piece =
  | { k: "b"; b: number[] }
  | { k: "put"; how: "memoize" | "binput" | "long" | "binput+1" | "fixed"; at?: number };

const B = (...b: number[]): Piece => ({ k: "b", b });
const scalar = fc.oneof(
  fc.nat(255).map((n) => B(0x4b, n)),
  fc.constantFrom(B(0x4e), B(0x88), B(0x4a, 1, 2, 3, 4), B(0x47, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0)),
  fc.constantFrom("a", "ab", "__x", "_y", "__", "zz", "é").map((s) => B(...op.sbu(s))),
  fc.constantFrom(B(0x8a, 1, 5), B(0x8a, 2, 1, 0), B(0x58, 2, 0, 0, 0, 0x5f, 0x5f)),
);
const put: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 80, arbitrary: fc.constant<Piece>({ k: "put", how: "memoize" }) },
  { weight: 60, arbitrary: fc.constant<Piece>({ k: "put", how: "binput" }) },
  { weight: 20, arbitrary: fc.constant<Piece>({ k: "put", how: "long" }) },
  // puts off the next index end the memo's in-order filling (and the counted puts): rare
  { weight: 1, arbitrary: fc.constant<Piece>({ k: "put", how: "binput+1" }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }).map((at): Piece => ({ k: "put", how: "fixed", at })) },
);
const call0 = fc.constantFrom(0, 0, 1, 2, 3).map((c) => B(...binget(c), 0x29, 0x52));
const callee = fc.constantFrom(0, 1, 2).map((c) => B(...binget(c)));
/** A sub-item: a literal, a tuple or list of literals (with puts inside), a call or a callee. */
const atom: fc.Arbitrary<Piece[]> = fc.oneof(
  { weight: 5, arbitrary: scalar.map((x) => [x]) },
  { weight: 4, arbitrary: put.map((m) => [m]) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.tuple(scalar, fc.option(put, { freq: 3 })), { minLength: 0, maxLength: 3 })
      .map((xs) => [B(0x28), ...xs.flatMap(([x, p]) => (p ? [x, p] : [x])), B(0x74)]),
  },
  {
    weight: 1,
    arbitrary: fc.array(scalar, { minLength: 1, maxLength: 3 }).map((xs) => [...xs, B(0x84 + xs.length)]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(scalar, { minLength: 1, maxLength: 2 }), fc.option(put), fc.boolean())
      .map(([xs, m, marked]) =>
        marked
          ? [B(0x5d), ...(m ? [m] : []), B(0x28), ...xs, B(0x65)]
          : [B(0x5d), ...(m ? [m] : []), ...xs.flatMap((x) => [x, B(0x61)])],
      ),
  },
  { weight: 3, arbitrary: call0.map((c) => [c]) },
  { weight: 1, arbitrary: callee.map((c) => [c]) },
);
/**
 * One item: a few sub-items (an item a skeleton is recorded from starts like the next one), and
 * how many values it leaves (every sub-item but a put leaves one).
 */
const item: fc.Arbitrary<[Piece[], number]> = fc
  .array(atom, { minLength: 1, maxLength: 4 })
  .map((xs) => [xs.flat(), xs.filter((x) => !(x.length === 1 && x[0]?.k === "put")).length]);
/** The same opcode and length, not the same for the counting: a dunder, a non-ASCII str, a put elsewhere. */
const VARIANTS = new Map(
  [
    ["ab", "__"],
    ["zz", "é"],
    ["_y", "__"],
  ].map(([a, b]) => [String(op.sbu(a as string)), op.sbu(b as string)]),
);
function variant(p: Piece): Piece {
  if (p.k === "put") return p.how === "binput" ? { k: "put", how: "fixed", at: 200 } : p;
  const v = VARIANTS.get(String(Uint8Array.from(p.b)));
  return v === undefined ? p : B(...v);
}
/**
 * A batch: items drawn from a small pool of shapes (so that an item recorded as a skeleton is
 * followed, often after others, by items of its shape), each repeated a few times.
 */
const batch = fc
  .tuple(
    fc.array(item, { minLength: 1, maxLength: 4 }),
    fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 12 }),
    fc.constantFrom([0x65], [0x65], [0x74, 0x30], [0x31], "dict", "dict"),
    fc.nat(6),
  )
  .map(([pool, seq, end, vary]): Piece[] => {
    // now and then a repeated item differs from the others only where a skeleton checks it
    let r = 0;
    const items = seq.flatMap(([i, n]) =>
      Array.from({ length: n }, (): [Piece[], number] => {
        const [x, k] = pool[i % pool.length] as [Piece[], number];
        return [(r++ * 5 + vary) % 7 === 0 ? x.map(variant) : x, k];
      }),
    );
    const body = items.flatMap(([x]) => x);
    if (typeof end !== "string") return [B(0x28), ...body, B(...end)];
    // the items as keys and values of a dict full under containerCap 1 (a str key may be a dunder)
    const odd = items.reduce((a, [, n]) => a + n, 0) % 2 === 1;
    return [B(0x7d, 0x4b, 0, 0x4b, 0, 0x73), B(0x28), ...body, ...(odd ? [B(0x4e)] : []), B(0x75, 0x30)];
  });

/**
 * Bytes of the pieces, with memo entries `next` on (adds the indexes put to `seen`); returns them
 * and the next index after.
 */
function render(pieces: Piece[], next: number, seen: Set<number>): [Uint8Array, number] {
  const out: number[] = [];
  let afterMark = false;
  for (const p of pieces) {
    if (p.k === "b") {
      out.push(...p.b);
      afterMark = p.b.length === 1 && p.b[0] === 0x28;
      continue;
    }
    if (afterMark) continue; // a put of the MARK: an error that would end the stream
    let i = next;
    if (p.how === "memoize") out.push(0x94);
    else if (p.how === "binput") out.push(...(i < 256 ? [0x71, i] : [0x72, ...u32le(i)]));
    else if (p.how === "long") out.push(0x72, ...u32le(i));
    else {
      i = p.how === "binput+1" ? next + 1 : (p.at as number);
      out.push(...(i < 256 ? [0x71, i] : [0x72, ...u32le(i)]));
    }
    seen.add(i);
    while (seen.has(next)) next++;
  }
  return [Uint8Array.from(out), next];
}

/**
 * Reads the entries put back: each is the argument of an os.system call (the finding shows the
 * value: a call as a call, a literal, or an entry only marked present).
 */
function uses(seen: Set<number>): Uint8Array {
  return bytes(...[...seen].slice(0, 80).map((i) => [...binget(2), ...binget(i), 0x85, 0x52, 0x30]));
}

const options: Options[] = [
  { machine: { memoDetailCap: 2, containerCap: 1 } },
  { machine: { memoDetailCap: 2, containerCap: 1, memoSeqCap: 0 } },
  { machine: { memoDetailCap: 1, containerCap: 1, maxStack: 60, maxMarks: 3 } },
  { machine: { memoDetailCap: 4, containerCap: 1, maxMemo: 270 } },
  // every entry kept in full: puts end the counted runs, the machine keeps the values
  { machine: { containerCap: 1 } },
];

describe("item skeletons: attacks", () => {
  it("a skeleton counts an item as the counting loop would, whatever the item's context", async () => {
    const seed = Number(process.env.SKELETON_SEED ?? 20261207);
    const runs = Number(process.env.SKELETON_RUNS ?? 60);
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(0, 3, 240, 248, 252),
        fc.constantFrom(1 << 20, 97, 13, 7),
        fc.nat(options.length - 1),
        async (batches, filled, chunk, o) => {
          let next = 4 + filled;
          const seen = new Set<number>();
          const parts: Uint8Array[] = [PREFIX, fill(filled)];
          for (const b of batches) {
            const [bb, n] = render(b, next, seen);
            parts.push(bb);
            next = n;
          }
          parts.push(uses(seen), Uint8Array.from([0x2e]));
          await same(bytes(...parts), options[o] as Options, chunk);
        },
      ),
      { seed, numRuns: runs },
    );
  }, 120_000);
});

/** Builds a stream from groups of repeated items (as the property does). */
function stream(groups: [Piece[], number][], filled: number, end: number[] = [0x65]): Uint8Array {
  const seen = new Set<number>();
  const [b] = render(
    [B(0x28), ...groups.flatMap(([it, n]) => Array.from({ length: n }, () => it).flat()), B(...end)],
    4 + filled,
    seen,
  );
  return bytes(PREFIX, fill(filled), b, uses(seen), [0x2e]);
}

describe("item skeletons: hand-made", () => {
  it("a stale skeleton with a leading put is not applied after a call", async () => {
    const M: Piece = { k: "put", how: "memoize" };
    const data = stream(
      [
        [[B(0x4b, 1), B(...op.sbu("a"))], 2],
        [[M, B(0x4b, 1)], 2],
        [[M, B(0x68, 0, 0x29, 0x52)], 1],
        [[M, B(0x4b, 2)], 1],
      ],
      0,
    );
    for (const chunk of [1 << 20, 97, 7]) await same(data, options[0] as Options, chunk);
  });
});

describe("item skeletons: contexts the property reaches rarely", () => {
  const M: Piece = { k: "put", how: "memoize" };
  const P: Piece = { k: "put", how: "binput" };
  const s = (x: string) => B(...op.sbu(x));

  it("dunder strs where a dict key may be (the shadow depth's parity differs between items)", async () => {
    // a full dict under containerCap 1, then key/value items over it; items of one and of two
    // pushes shift the parity, and a leading put is the put of the item before
    const dict = bytes([0x7d, 0x4b, 0, 0x4b, 0, 0x73]);
    const shapes: Piece[][][] = [
      [
        [s("ab"), M, B(0x4b, 1)],
        [s("ab"), M, B(0x4b, 1)],
        [s("__"), M, B(0x4b, 1)],
        [s("ab"), M, B(0x4b, 1)],
      ],
      [[B(0x4b, 1)], [s("ab"), M, B(0x4b, 1)], [s("ab"), M, B(0x4b, 1)], [s("__"), M, B(0x4b, 1)], [s("ab")]],
      [[s("k")], [M, s("__x")], [M, s("ab")], [M, s("__")], [M, s("ab")], [M, B(0x4b, 1)]],
      [[B(0x4b, 1)], [s("__y"), M], [s("zz"), M], [s("__y"), M], [s("zz"), M], [s("zz"), M]],
      [[B(0x4b, 1), s("__x"), B(0x86)], [B(0x4b, 1), s("__x"), B(0x86)], [s("__q")], [s("v")]],
    ];
    for (const items of shapes) {
      for (const reps of [1, 3]) {
        const seen = new Set<number>();
        const pieces = [B(0x28), ...Array.from({ length: reps }, () => items.flat()).flat(), B(0x75)];
        const [b] = render(pieces, 4, seen);
        const data = bytes(PREFIX, [0x30], dict, b, uses(seen), [0x2e]);
        for (const chunk of [1 << 20, 11, 5]) {
          for (const o of options.slice(0, 2)) {
            const a = await same(data, o, chunk);
            expect(a.runs.map((r) => r.error?.message)).toEqual([undefined]);
          }
        }
      }
    }
  });

  it("puts across index 256 (BINPUT to LONG_BINPUT) and past the memo budget", async () => {
    for (const filled of [246, 248, 250, 251, 252]) {
      for (const shape of [
        [P, B(0x4b, 1)],
        [B(0x4b, 1), P],
        [B(0x28), B(0x4b, 1), P, s("a"), P, B(0x74), P],
        [B(0x5d), P, B(0x4b, 1), B(0x61)],
      ]) {
        const data = stream(
          [
            [[B(0x4b, 1), s("a")], 2],
            [shape, 8],
          ],
          filled,
        );
        for (const chunk of [1 << 20, 13]) {
          for (const o of options) {
            const a = await same(data, o, chunk);
            if (o === options[0]) expect(a.runs.map((r) => r.error?.message)).toEqual([undefined]);
          }
        }
      }
    }
  });
  it("an item whose memo index or str bytes differ from the skeleton's is not counted by it", async () => {
    const skip: Piece = { k: "put", how: "binput+1" };
    const far: Piece = { k: "put", how: "fixed", at: 200 };
    for (const [groups, o] of [
      // a put of the index after the next one (the next one comes after it), of a far index
      [
        [
          [[B(0x4b, 1), s("a")], 1],
          [[B(0x4b, 1), P], 3],
          [[B(0x4b, 1), skip], 1],
          [[B(0x4b, 1), P], 2],
        ],
        options[0],
      ],
      [
        [
          [[B(0x4b, 1), s("a")], 1],
          [[P, B(0x4b, 1)], 3],
          [[skip, B(0x4b, 1)], 1],
          [[P, B(0x4b, 1)], 2],
        ],
        options[0],
      ],
      [
        [
          [[B(0x4b, 1), s("a")], 1],
          [[B(0x4b, 1), P], 3],
          [[B(0x4b, 1), far], 1],
          [[B(0x4b, 1), P], 2],
        ],
        options[0],
      ],
      // a str of the same length that is not ASCII, memoised in full (entries under the detail cap)
      [
        [
          [[s("ab")], 3],
          [[s("é"), P], 1],
          [[s("ab")], 2],
        ],
        { machine: { containerCap: 1 } },
      ],
      [
        [
          [[s("ab"), P], 3],
          [[s("é"), P], 1],
          [[s("ab"), P], 2],
        ],
        options[0],
      ],
    ] as [[Piece[], number][], Options][]) {
      const data = stream(groups, 0);
      for (const chunk of [1 << 20, 13]) {
        const a = await same(data, o, chunk);
        expect(a.runs.map((r) => r.error?.message)).toEqual([undefined]);
      }
      // then every index in turn, up to the first one absent (an error both must report)
      const all = new Set(Array.from({ length: 40 }, (_, i) => 4 + i));
      const probe = bytes(data.subarray(0, data.length - 1), uses(all), [0x2e]);
      for (const chunk of [1 << 20, 13]) await same(probe, o, chunk);
    }
  });
});
