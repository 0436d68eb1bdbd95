import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isObjectDtype, looksLikeFlaxMsgpack, MsgpackError, readMsgpack } from "../../../src/formats/msgpack/reader.js";
import { sniff } from "../../../src/registry/catalog.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "msgpack", p)));
const read = (bytes: number[] | Uint8Array, options = {}) =>
  readMsgpack(new BufferSource(Uint8Array.from(bytes)), options);
const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes, tail: bytes, size: bytes.length, name }).map((d) => d.format);
/** fixstr */
const str = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];

describe("msgpack detection", () => {
  it("recognises Flax checkpoints by content, whatever the name", () => {
    const flax = sample("flax_model.msgpack");
    expect(looksLikeFlaxMsgpack(flax)).toBe(true);
    expect(sniffAs(flax, "flax_model.msgpack")[0]).toBe("flax-msgpack");
    expect(sniffAs(flax, "weights.bin")[0]).toBe("flax-msgpack");
  });

  it("takes a bare map header only under a .msgpack name", () => {
    const map = Uint8Array.from([0x81, ...str("a"), 0x01]);
    expect(sniffAs(map, "x.msgpack")[0]).toBe("flax-msgpack");
    expect(sniffAs(map, "x.bin")).not.toContain("flax-msgpack");
    expect(sniffAs(Uint8Array.from([0xa1, 0x61]), "x.msgpack")).not.toContain("flax-msgpack");
  });

  it("a .msgpack name on other content is a claim the content does not meet", async () => {
    const file = await scanOne(new TextEncoder().encode("hello"), "flax_model.msgpack");
    expect(file.verdict).toBe("invalid");
    expect(file.findings.map((f) => f.ruleId)).toContain("format/claim-unmet");
  });
});

describe("readMsgpack", () => {
  it("inventories a Flax checkpoint without reading its arrays", async () => {
    const s = await readMsgpack(new BufferSource(sample("flax_model.msgpack")));
    expect(s.tensors).toBe(6);
    expect(s.parameters).toBe(32n + 8n + 16n + 2n + 15n + 1n);
    expect([...s.dtypes].sort()).toEqual(["float16", "float32", "int32", "int64"]);
    expect(s.issues.list()).toEqual([]);
    expect(s.extensions.get(2)).toBe(1);
  });

  it("refuses what msgpack.unpackb refuses", async () => {
    await expect(read([0xc1])).rejects.toMatchObject({ ruleId: "msgpack/malformed" });
    await expect(read([0x81, 0x01, 0x02])).rejects.toThrow(/strict_map_key/);
    await expect(read([0x81, 0xa1, 0xff, 0x01])).rejects.toThrow(/not UTF-8/);
    await expect(read([0x92, 0x01])).rejects.toBeInstanceOf(MsgpackError);
  });

  it("checks declared lengths against the file before anything else", async () => {
    for (const bytes of [
      [0xdf, 0xff, 0xff, 0xff, 0xff],
      [0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01],
      [0xc6, 0xff, 0xff, 0xff, 0xf0, 0x00],
      [0xdb, 0x10, 0, 0, 0, 0x61],
      [0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01],
    ]) {
      await expect(read(bytes)).rejects.toMatchObject({ ruleId: "msgpack/length-out-of-bounds" });
    }
  });

  it("enforces depth and item budgets", async () => {
    await expect(read([...new Array(100).fill(0x91), 0x01])).rejects.toMatchObject({ code: "BUDGET_EXCEEDED" });
    await expect(read([0x9f, ...new Array(15).fill(0x01)], { maxItems: 10 })).rejects.toMatchObject({
      code: "BUDGET_EXCEEDED",
    });
  });

  it("reports duplicate keys, unknown extensions and trailing bytes", async () => {
    const s = await read([0x83, ...str("a"), 0x01, ...str("a"), 0x02, ...str("e"), 0xd4, 0x09, 0x00, 0xc0]);
    expect(s.issues.list().map((i) => i.ruleId)).toEqual([
      "msgpack/duplicate-key",
      "msgpack/unknown-extension",
      "msgpack/trailing-data",
    ]);
    expect(s.end).toBe(12);
  });

  it("checks ndarray payloads: triple, dtype, size", async () => {
    const ext = (payload: number[]) => [0x81, ...str("w"), 0xc7, payload.length, 0x01, ...payload];
    const nd = (dtype: string, n: number, shape = [0x91, 0x02]) => [
      0x93,
      ...shape,
      ...str(dtype),
      0xc4,
      n,
      ...new Array(n).fill(0),
    ];
    expect((await read(ext(nd("float32", 8)))).issues.list()).toEqual([]);
    const short = await read(ext(nd("float32", 4)));
    expect(short.issues.list().map((i) => i.ruleId)).toEqual(["msgpack/tensor-size-mismatch"]);
    const odd = await read(ext(nd("<U3", 8)));
    expect(odd.issues.list().map((i) => i.ruleId)).toEqual(["msgpack/unknown-dtype"]);
    const obj = await read(ext(nd("O", 8)));
    expect(obj.issues.list().map((i) => i.ruleId)).toEqual(["msgpack/object-array"]);
    expect(obj.payloads).toHaveLength(1);
    await expect(read(ext([0x92, 0x90, ...str("int8")]))).rejects.toThrow(/shape, dtype, data/);
    await expect(read(ext([0x93, 0x90, ...str("int8"), 0xd4, 0x01, 0x00]))).rejects.toThrow(/extension inside/);
  });

  it("knows object dtype spellings", () => {
    for (const d of ["object", "O", "|O", "O8", "i4,O", "[('a', 'O')]"]) expect(isObjectDtype(d), d).toBe(true);
    for (const d of ["float32", "bfloat16", "<f4", "bool", "int8"]) expect(isObjectDtype(d), d).toBe(false);
  });
});

describe("msgpack analyzer", () => {
  it("records the inventory facts", async () => {
    const file = await scanOne(sample("flax_model.msgpack"), "flax_model.msgpack");
    expect(file.format).toBe("flax-msgpack");
    expect(file.verdict).toBe("clean");
    expect(file.facts).toMatchObject({
      tensorCount: 6,
      parameterCount: 74,
      dtypes: ["float16", "float32", "int32", "int64"],
    });
  });

  it("hands msgpack-numpy object data to the pickle engine", async () => {
    const file = await scanOne(sample("malicious/msgpack_numpy_object.msgpack"), "x.msgpack");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.path?.endsWith("weights.pkl"))).toBe(
      true,
    );
  });
});
