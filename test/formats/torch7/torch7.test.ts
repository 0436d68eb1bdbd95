import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { torch7Analyzer } from "../../../src/formats/torch7/analyzer.js";
import { detectTorch7 } from "../../../src/formats/torch7/index.js";
import { isKnownClass, readTorch7, tensorClass } from "../../../src/formats/torch7/reader.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { fakeContext } from "../pickle/helpers.js";
import { LUA_DUMP, T7 } from "./build.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "torch7", p)));
const sniffInput = (head: Uint8Array, name: string) => ({ head, tail: head, size: head.length, name });

describe("torch7 reader", () => {
  it("walks nn.Sequential with Linear layers (binary and ASCII)", async () => {
    const { file, error } = await readTorch7(new BufferSource(sample("benign/sequential.t7")));
    expect(error).toBeUndefined();
    expect(file.mode).toBe("binary");
    expect(file.root).toBe("nn.Sequential");
    expect([...file.classes.keys()].sort()).toEqual([
      "nn.Linear",
      "nn.ReLU",
      "nn.Sequential",
      "torch.FloatStorage",
      "torch.FloatTensor",
    ]);
    expect(file.storages).toBe(8);
    expect(file.functions).toEqual([]);
    expect(file.end).toBe(sample("benign/sequential.t7").length);
    const ascii = await readTorch7(new BufferSource(sample("benign/sequential-ascii.t7")));
    expect(ascii.error).toBeUndefined();
    expect(ascii.file.mode).toBe("ascii");
    expect(ascii.file.classes.get("nn.Linear")).toBe(1);
  });

  it("records serialized functions with their bytecode kind and strings", async () => {
    const { file } = await readTorch7(new BufferSource(sample("malicious/serialized-function.t7")));
    expect(file.functions).toHaveLength(1);
    expect(file.functions[0]).toMatchObject({ kind: "RECUR_FUNCTION", bytecode: "Lua 5.1 bytecode" });
    expect(file.functions[0]?.strings).toContain("execute");
    const legacy = new T7().int(6).int(LUA_DUMP.length).raw(LUA_DUMP).table(0).bytes();
    expect((await readTorch7(new BufferSource(legacy))).file.functions[0]?.kind).toBe("FUNCTION");
  });

  it("follows references instead of re-reading objects", async () => {
    // {a = t, b = <ref to t>} where t is table id 2
    const data = new T7().table(2).string("a").table(0).string("b").int(3).int(2).bytes();
    const { file, error } = await readTorch7(new BufferSource(data));
    expect(error).toBeUndefined();
    expect(file.objects).toBe(2);
    expect(file.end).toBe(data.length);
  });

  it("stops with a typed error on hostile input, keeping what came before", async () => {
    const read = async (b: Uint8Array) => (await readTorch7(new BufferSource(b))).error?.code;
    expect(await read(new T7().int(9).bytes())).toBe("MALFORMED"); // unknown tag
    expect(await read(new T7().table(0x7fffffff).bytes())).toBe("MALFORMED"); // table larger than the file
    expect(await read(new T7().int(2).int(-5).bytes())).toBe("MALFORMED"); // negative string length
    expect(await read(new T7().int(2).int(1000).raw("abc").bytes())).toBe("TRUNCATED");
    // a storage of 2^40 floats in a tiny file
    expect(
      await read(
        new T7()
          .torch("torch.FloatStorage")
          .long(1n << 40n)
          .bytes(),
      ),
    ).toBe("TRUNCATED");
    // a tensor whose storage is an nn module
    const t = new T7().torch("torch.FloatTensor").int(0).long(1n).int(4).int(9).str("V 1").str("nn.Linear");
    expect(await read(t.table(0).bytes())).toBe("MALFORMED");
    // nesting bomb: 1000 nested one-entry tables
    const deep = new T7();
    for (let i = 0; i < 1000; i++) deep.table(1).number(1);
    expect(await read(deep.int(0).bytes())).toBe("BUDGET_EXCEEDED");
    // a function before the break is still reported
    const partial = await readTorch7(new BufferSource(new T7().table(2).string("f").fn(LUA_DUMP).string("g").bytes()));
    expect(partial.error?.code).toBe("TRUNCATED");
    expect(partial.file.functions).toHaveLength(1);
  });

  it("knows which classes are allowlisted", () => {
    expect(tensorClass("torch.CudaTensor")).toEqual({ kind: "Tensor", elementSize: 4 });
    expect(tensorClass("torch.DoubleStorage")).toEqual({ kind: "Storage", elementSize: 8 });
    expect(tensorClass("torch.Tensor")).toBeUndefined();
    expect(isKnownClass("nn.SpatialConvolution")).toBe(true);
    expect(isKnownClass("cudnn.ReLU")).toBe(true);
    expect(isKnownClass("tds.Hash")).toBe(false);
    expect(isKnownClass("nn.")).toBe(false);
  });
});

describe("torch7 detector", () => {
  it("recognises a torch object or a walkable root by content, any plausible opening under a .t7 name", () => {
    const obj = new T7().torch("nn.Sequential").table(0).bytes();
    expect(detectTorch7(sniffInput(obj, "model.bin"))?.format).toBe("torch7");
    // torch.load ignores the name: a whole-file table with string keys is Torch7 by content.
    const table = new T7().table(1).string("a").number(1).bytes();
    expect(detectTorch7(sniffInput(table, "model.bin"))?.format).toBe("torch7");
    expect(detectTorch7(sniffInput(table, "model.t7"))?.format).toBe("torch7");
    const keyless = new T7().table(1).number(1).number(2).bytes();
    expect(detectTorch7(sniffInput(keyless, "model.bin"))).toBeUndefined();
    expect(detectTorch7(sniffInput(keyless, "model.t7"))?.format).toBe("torch7");
    expect(detectTorch7(sniffInput(new Uint8Array([9, 0, 0, 0]), "model.t7"))).toBeUndefined();
    const ascii = sample("benign/sequential-ascii.t7");
    expect(detectTorch7(sniffInput(ascii, "x.txt"))?.reason).toContain("ASCII");
    expect(detectTorch7(sniffInput(new TextEncoder().encode("3\n1\n0\n"), "notes.txt"))).toBeUndefined();
  });
});

describe("torch7 analyzer", () => {
  it("reports functions as critical and unknown classes as medium", async () => {
    const data = new T7().torch("evil.Loader").table(1).string("f").fn(LUA_DUMP).bytes();
    const { ctx, findings, facts } = fakeContext(data, "torch7");
    await torch7Analyzer.analyze(ctx);
    expect(findings.map((f) => f.ruleId).sort()).toEqual(["torch7/serialized-function", "torch7/unknown-class"]);
    expect(findings.find((f) => f.ruleId === "torch7/serialized-function")?.evidence?.bytecode).toBe(
      "Lua 5.1 bytecode",
    );
    expect(facts["torch7.classes"]).toEqual(["evil.Loader"]);
    expect(facts.architecture).toBe("evil.Loader");
  });

  it("finds a bytecode dump past a break by its length-prefixed header", async () => {
    const data = new T7().table(1).string("x").int(77).int(8).int(2).int(LUA_DUMP.length).raw(LUA_DUMP).bytes();
    const { ctx, findings } = fakeContext(data, "torch7");
    await torch7Analyzer.analyze(ctx);
    expect(findings.map((f) => f.ruleId)).toEqual(["torch7/serialized-function", "torch7/malformed"]);
  });

  it("scans trailing bytes as a member", async () => {
    const data = new T7().number(1).raw("PK\x05\x06").bytes();
    const { ctx, findings, members } = fakeContext(data, "torch7", { name: "x.t7" });
    await torch7Analyzer.analyze(ctx);
    expect(findings.map((f) => f.ruleId)).toEqual(["torch7/trailing-data"]);
    expect(members.map((m) => m.name)).toEqual(["trailing-data"]);
  });

  it("scans: benign clean, function malicious, junk named .t7 invalid", async () => {
    expect((await scanOne(sample("benign/sequential.t7"), "model.t7")).verdict).toBe("clean");
    // the content detector does not need the name
    const f = await scanOne(sample("malicious/serialized-function.t7"), "model.bin");
    expect(f.format).toBe("torch7");
    expect(f.verdict).toBe("malicious");
    const junk = await scanOne(new Uint8Array([0x41, 0x42, 0x43, 0x44, 0, 0, 0, 0]), "model.t7");
    expect(junk.verdict).toBe("invalid");
    expect(ruleIds(junk)).toContain("format/claim-unmet");
  });
});
