/**
 * Property tests: random opcode streams and mutated real pickles never crash, hang or produce an
 * unregistered rule, and a stream that breaks is never reported as fully analysed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OPCODES } from "../../../src/formats/pickle/opcodes.js";
import { isRuleId } from "../../../src/registry/rules.js";
import { SAMPLES } from "../../helpers/scan.js";
import { analyze, bytes } from "./helpers.js";

const NAMES = [
  "os",
  "system",
  "builtins",
  "getattr",
  "eval",
  "collections",
  "OrderedDict",
  "torch",
  "_utils",
  "a.b",
  "",
  "__import__",
];

/** One opcode with a plausible (often slightly wrong) argument. */
const token = fc.oneof(
  fc.constantFrom(...OPCODES).chain((o) => {
    switch (o.arg) {
      case "none":
        return fc.constant(bytes([o.code]));
      case "u1":
        return fc.integer({ min: 0, max: 255 }).map((n) => bytes([o.code, n]));
      case "u2":
      case "u4":
      case "i4":
      case "u8":
      case "f8": {
        const w = o.arg === "u2" ? 2 : o.arg === "u8" || o.arg === "f8" ? 8 : 4;
        return fc.uint8Array({ minLength: w, maxLength: w }).map((a) => bytes([o.code], a));
      }
      case "line":
        return fc
          .oneof(fc.constantFrom("0", "1", "'x'", "00", "-5", "abc", "1.5"), fc.string({ maxLength: 6 }))
          .map((s) => bytes([o.code], `${s}\n`));
      case "line2":
        return fc
          .tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES))
          .map(([m, n]) => bytes([o.code], `${m}\n${n}\n`));
      default:
        return fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 8 })).map((s) => {
          const b = Buffer.from(s, "utf8");
          const w = o.arg === "counted1" || o.arg === "long1" ? 1 : o.arg === "counted8" ? 8 : 4;
          const len = [b.length & 0xff, 0, 0, 0, 0, 0, 0, 0].slice(0, w);
          return bytes([o.code], len, b);
        });
    }
  }),
  fc.uint8Array({ minLength: 1, maxLength: 4 }),
);

async function check(data: Uint8Array): Promise<void> {
  const a = await analyze(data, { decoder: { maxOpcodes: 100_000 } });
  for (const f of a.findings) expect(isRuleId(f.ruleId), f.ruleId).toBe(true);
  if (a.runs.some((r) => r.error !== undefined)) expect(a.invalid).toBe(true);
}

describe("random streams", () => {
  it("never crash or hang the engine (opcode streams)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 60 }), fc.boolean(), async (tokens, proto) => {
        await check(bytes(proto ? [0x80, 4] : [], ...tokens, [0x2e]));
      }),
      { seed: 20240601, numRuns: 1000 },
    );
  });

  it("never crash on mutated real pickles", async () => {
    const seeds = ["sklearn/forest.pkl", "plain/data_p0.pkl", "plain/data_p4.pkl", "torch/state_dict_legacy.pt"].map(
      (p) => new Uint8Array(readFileSync(join(SAMPLES, "pickle", p))),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        async (which, flips, cut) => {
          const src = seeds[which] as Uint8Array;
          const data = src.slice(0, Math.max(1, src.length - (cut % 64)));
          for (const [at, v] of flips) data[at % data.length] = v;
          await check(data);
        },
      ),
      { seed: 7, numRuns: 500 },
    );
  });
});
