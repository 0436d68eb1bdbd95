/**
 * The fuzz harness itself: the oracle must catch what it claims to catch, mutation must be
 * reproducible, and the executor's crash-recovery record must round-trip.
 */
import { describe, expect, it } from "vitest";
import { ModelgateError } from "../../src/core/errors.js";
import { guardAllocations } from "./alloc-guard.js";
import { checkScan, FuzzFailure, failureSignature, typedOnly } from "./check.js";
import { Coverage } from "./coverage.js";
import { type CpythonRecord, compare, modelgateView } from "./diff.js";
import { execute, Fuzzer } from "./engine.js";
import { decodeCurrent, encodeCurrent, inputFileName } from "./executor.js";
import { mutate, tokens } from "./mutate.js";
import { Rng } from "./rng.js";
import { type FuzzTarget, TARGETS } from "./targets.js";

const fake = (run: FuzzTarget["run"]): FuzzTarget => ({
  name: "fake",
  description: "",
  seeds: () => [{ name: "a.bin", bytes: Uint8Array.of(1, 2, 3) }],
  dictionary: [],
  maxSize: 64,
  run,
});

describe("oracle", () => {
  it("a typed error is a rejection, any other exception (or INTERNAL) is a crash", async () => {
    await expect(typedOnly("x", () => Promise.reject(new ModelgateError("MALFORMED", "bad")))).resolves.toBe(true);
    await expect(typedOnly("x", () => 1)).resolves.toBe(false);
    await expect(
      typedOnly("x", () => {
        throw new TypeError("cannot read properties of undefined");
      }),
    ).rejects.toMatchObject({ kind: "crash", message: "x: TypeError: cannot read properties of undefined" });
    await expect(
      typedOnly("x", () => Promise.reject(new ModelgateError("INTERNAL", "wrapped", { cause: new RangeError("r") }))),
    ).rejects.toMatchObject({ kind: "crash", message: "x: RangeError: r" });
  });

  it("execute turns a stray exception into a crash and times the input", async () => {
    const { failure, ms } = await execute(
      fake(() => Promise.reject(new RangeError("offset 17 is out of bounds"))),
      { name: "a", bytes: new Uint8Array(1) },
    );
    expect(failure).toBeInstanceOf(FuzzFailure);
    expect(failure?.kind).toBe("crash");
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(
      (
        await execute(
          fake(async () => undefined),
          { name: "a", bytes: new Uint8Array(1) },
        )
      ).failure,
    ).toBeUndefined();
  });

  it("signatures ignore numbers and quoted text, and keep the first library frame", () => {
    const stack =
      "Error: x\n    at f (/r/node_modules/.cache/modelgate-fuzz/src/formats/gguf/reader.js:10:5)\n    at g (/r/x.js:1:1)";
    const a = failureSignature("crash", 'offset 12 past "abc"', stack);
    expect(a).toBe(failureSignature("crash", 'offset 99 past "zzz"', stack));
    expect(a).toContain("src/formats/gguf/reader.js:10");
    expect(a).not.toBe(failureSignature("crash", "another message", stack));
  });

  it("checkScan accepts a clean scan and reports nothing for typed rejections", async () => {
    const zip = TARGETS.get("zip")?.seeds()[0];
    expect(zip).toBeDefined();
    await expect(checkScan(zip?.bytes ?? new Uint8Array(), zip?.name ?? "")).resolves.toBeUndefined();
    // a truncated GGUF is `invalid`, not a failure of the oracle
    await expect(
      checkScan(Uint8Array.of(0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, 1), "x.gguf", ["gguf"]),
    ).resolves.toBeUndefined();
  });

  it("checkScan fails a clean verdict on bytes the format's reader rejected", async () => {
    const gguf = TARGETS.get("gguf")
      ?.seeds()
      .find((s) => s.name === "clean-llama.gguf");
    expect(gguf).toBeDefined();
    const bytes = gguf?.bytes ?? new Uint8Array();
    await expect(checkScan(bytes, "clean-llama.gguf")).resolves.toBeUndefined();
    await expect(checkScan(bytes, "clean-llama.gguf", ["gguf"])).rejects.toMatchObject({ kind: "clean" });
    await expect(checkScan(bytes, "clean-llama.gguf", ["onnx"])).resolves.toBeUndefined();
  });
});

describe("mutation", () => {
  const ctx = { dictionary: tokens("PK\x03\x04", "GGUF"), others: () => Uint8Array.of(9, 9, 9), maxSize: 300 };

  it("is reproducible from the seed and changes the input", () => {
    const base = new Uint8Array(200).map((_, i) => i);
    const run = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => mutate(base, rng, ctx));
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    expect(a.filter((m) => m.length !== base.length || m.some((v, i) => v !== base[i])).length).toBeGreaterThan(40);
    expect(Math.max(...a.map((m) => m.length))).toBeLessThanOrEqual(300);
  });

  it("the fuzzer keeps distinct inputs only and names mutants after their parents", () => {
    const f = new Fuzzer(
      fake(async () => undefined),
      1,
      [{ name: "a.bin", bytes: Uint8Array.of(1) }],
    );
    expect(f.add({ name: "a.bin", bytes: Uint8Array.of(1) })).toBe(false);
    expect(f.add({ name: "b.bin", bytes: Uint8Array.of(1) })).toBe(true);
    const names = new Set(Array.from({ length: 50 }, () => f.next().name));
    expect([...names].every((n) => n === "a.bin" || n === "b.bin")).toBe(true);
  });

  it("rng stays in range", () => {
    const rng = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const v = rng.below(10);
      expect(v >= 0 && v < 10 && Number.isInteger(v)).toBe(true);
    }
    expect(new Set(Array.from({ length: 200 }, () => rng.below(4))).size).toBe(4);
  });
});

describe("executor plumbing", () => {
  it("the current-input record round-trips", () => {
    const input = { name: "tokenizer_config.json", bytes: Uint8Array.of(0, 1, 2, 255) };
    expect(decodeCurrent(encodeCurrent(42, input))).toEqual({ seq: 42, input });
    expect(decodeCurrent(encodeCurrent(1, input).subarray(0, 10))).toBeUndefined();
    expect(inputFileName(input)).toMatch(/^[0-9a-f]{16}-tokenizer_config\.json$/);
    expect(inputFileName({ name: "../x y", bytes: new Uint8Array() })).toMatch(/^[0-9a-f]{16}-\.\._x_y$/);
  });

  it("coverage sees library code run and reports nothing new when it runs again", async () => {
    const cov = new Coverage((url) => url.includes("/src/"));
    try {
      cov.take();
      const target = TARGETS.get("gguf") as FuzzTarget;
      const seed = target.seeds()[0];
      if (seed === undefined) throw new Error("no seed");
      await execute(target, seed);
      const first = cov.take();
      expect(cov.novel(first, true)).toBeGreaterThan(50);
      await execute(target, seed);
      expect(cov.novel(cov.take(), true)).toBeLessThan(first.length / 10);
    } finally {
      cov.close();
    }
  });

  it("the allocation guard reports oversized typed-array and Buffer requests", () => {
    const seen: number[] = [];
    guardAllocations(1024 * 1024, (r) => seen.push(r.bytes));
    const small = new Uint8Array(16);
    expect(small).toBeInstanceOf(Uint8Array);
    expect(Buffer.alloc(4)).toBeInstanceOf(Uint8Array);
    new Float64Array(200_000);
    Buffer.allocUnsafe(2 * 1024 * 1024);
    expect(seen).toEqual([1_600_000, 2 * 1024 * 1024]);
  });
});

describe("differential comparison", () => {
  const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const record: CpythonRecord = {
    events: [
      { op: "import", module: "os", name: "system", pos: 11, load: 0 },
      { op: "call", callee: "os.system", args: ["'id'"], kwargs: [], pos: 21, load: 0 },
      { op: "call", callee: "os.system().append", args: ["1"], kwargs: [], pos: 24, load: 0 },
    ],
    error: null,
    loads: 1,
  };

  it("accepts a report with every import and call, methods of results included", async () => {
    const mg = await modelgateView(latin1("cos\nsystem\n(S'id'\ntR."));
    expect(compare(record, mg)).toMatchObject({ missing: [], afterStop: 0 });
  });

  it("fails a report that lacks them", async () => {
    const mg = await modelgateView(latin1("N."));
    expect(compare(record, mg).missing).toEqual([
      "import os.system",
      "call os.system",
      "call os.system().append (call of os.system not reported)",
    ]);
  });

  it("counts events after modelgate's error apart", async () => {
    // modelgate stops at the REDUCE (offset 20): the call there and after is not compared
    const mg = await modelgateView(latin1("cos\nsystem\n(S'id'\ntK"));
    expect(mg.stoppedAt).toBeDefined();
    const c = compare(record, mg);
    expect(c.missing).toEqual([]);
    expect(c.afterStop).toBeGreaterThan(0);
  });
});
