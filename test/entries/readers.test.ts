// The format readers of the subpath entries: what they return for real and hostile samples, the
// inputs they take (path, bytes, ByteSource), and that they honour the read budget and the signal.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../src/core/byte-source.js";
import { isModelgateError } from "../../src/core/errors.js";
import { readGguf } from "../../src/entries/gguf.js";
import { readNpy } from "../../src/entries/numpy.js";
import { readOnnx } from "../../src/entries/onnx.js";
import { disassemblePickle, readPickle } from "../../src/entries/pickle.js";
import { readSafetensors } from "../../src/entries/safetensors.js";
import { readZip } from "../../src/entries/zip.js";
import { SAMPLES } from "../helpers/scan.js";

const sample = (path: string) => join(SAMPLES, path);

describe("modelgate/pickle", () => {
  it("lists what a malicious pickle imports and calls, with the scan's findings", async () => {
    const view = await readPickle(sample("pickle/malicious/exec_string.pkl"));
    expect(view.protocol).toBe(4);
    expect(view.pickles).toBe(1);
    expect(view.invalid).toBe(false);
    const exec = view.globals.find((g) => g.name === "builtins.exec");
    expect(exec).toMatchObject({ module: "builtins", qualname: "exec", origin: "STACK_GLOBAL", callCount: 1 });
    expect(exec?.calls[0]).toMatchObject({ opcode: "REDUCE", use: "call" });
    expect(exec?.calls[0]?.args).toContain("os.system");
    expect(view.findings).toContainEqual(
      expect.objectContaining({ ruleId: "pickle/dangerous-global", severity: "critical" }),
    );
    expect(structuredClone(view)).toEqual(view); // plain data
  });

  it("takes bytes and sources as well as paths, and lists opcodes", async () => {
    const bytes = readFileSync(sample("pickle/malicious/exec_string.pkl"));
    const fromBytes = await readPickle(bytes);
    const fromSource = await readPickle(new BufferSource(bytes));
    expect(fromBytes).toEqual(fromSource);
    expect(fromBytes.globals.map((g) => g.name)).toEqual(["builtins.exec"]);
    const listing = await disassemblePickle(bytes);
    expect(listing.truncated).toBe(false);
    expect(listing.ops[0]).toEqual({ offset: 0, name: "PROTO", arg: "4" });
    expect(listing.ops.at(-1)?.name).toBe("STOP");
    const short = await disassemblePickle(bytes, { maxOps: 2 });
    expect(short).toMatchObject({ truncated: true, ops: [{ name: "PROTO" }, { name: "SHORT_BINUNICODE" }] });
  });

  it("reports a broken stream instead of rejecting, and a listing says where it broke", async () => {
    const broken = Uint8Array.of(0x80, 0x04, 0x8c, 0x05, 0x61); // SHORT_BINUNICODE of 5 bytes, 1 present
    const view = await readPickle(broken);
    expect(view.invalid).toBe(true);
    expect(view.findings.length).toBeGreaterThan(0);
    const listing = await disassemblePickle(broken);
    expect(listing.error?.offset).toBeGreaterThanOrEqual(2);
  });

  it("honours the read budget and the signal (a budget cut in a pickle is a finding)", async () => {
    const path = sample("pickle/malicious/exec_string.pkl");
    // as in a scan, a pickle cut by a budget is reported: the stream was not read to its end
    const cut = await readPickle(path, { maxReadBytes: 8 });
    expect(cut.invalid).toBe(true);
    expect(cut.findings).toContainEqual(
      expect.objectContaining({
        ruleId: "scan/budget-exceeded",
        evidence: expect.objectContaining({ budget: "maxReadBytes" }),
      }),
    );
    await expect(readSafetensors(sample("safetensors/clean-model.safetensors"), { maxReadBytes: 8 })).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED"),
    );
    await expect(readPickle(path, { signal: AbortSignal.abort() })).rejects.toSatisfy((e) =>
      isModelgateError(e, "ABORTED"),
    );
  });
});

describe("modelgate/safetensors", () => {
  it("reads the tensors of a clean file without issues", async () => {
    const view = await readSafetensors(sample("safetensors/clean-model.safetensors"));
    expect(view.tensors.length).toBeGreaterThan(0);
    expect(view.issues).toEqual([]);
    expect(view.parameterCount).toBeGreaterThan(0n);
    for (const t of view.tensors) expect(t.end).toBeGreaterThanOrEqual(t.begin);
  });

  it("returns rule violations as issues with their default severity", async () => {
    const view = await readSafetensors(sample("safetensors/duplicate-key.safetensors"));
    expect(view.issues).toContainEqual(expect.objectContaining({ ruleId: "safetensors/duplicate-key" }));
    for (const issue of view.issues) expect(["info", "low", "medium", "high", "critical"]).toContain(issue.severity);
  });
});

describe("modelgate/gguf", () => {
  it("reads metadata and tensors with type names", async () => {
    const view = await readGguf(sample("gguf/clean-llama.gguf"));
    expect(view.complete).toBe(true);
    expect(view.metadata.find((kv) => kv.key === "general.architecture")).toMatchObject({
      type: "STRING",
      value: "llama",
    });
    expect(view.tensors.length).toBe(Number(view.tensorCount));
    for (const t of view.tensors) expect(t.type).not.toMatch(/^type#/);
    expect(view.issues).toEqual([]);
  });

  it("reports hostile headers as issues", async () => {
    const view = await readGguf(sample("gguf/tensor-out-of-bounds.gguf"));
    expect(view.issues.length).toBeGreaterThan(0);
  });
});

describe("modelgate/onnx", () => {
  it("summarises operators, opsets and producer", async () => {
    const view = await readOnnx(sample("onnx/clean/mlp_torch.onnx"));
    expect(view).toMatchObject({ complete: true, producer: "pytorch", opsets: [{ domain: "", version: 13 }] });
    expect(view.operators.map((o) => o.opType)).toEqual(["Gemm", "Relu", "Softmax"]);
  });

  it("returns what it read before a malformed field", async () => {
    const bytes = readFileSync(sample("onnx/clean/mlp_torch.onnx"));
    const view = await readOnnx(bytes.subarray(0, bytes.length - 7));
    expect(view.complete).toBe(false);
    expect(view.error?.code).toMatch(/^(MALFORMED|TRUNCATED)$/);
  });
});

describe("modelgate/numpy", () => {
  it("reads a header and says when the data is a pickle", async () => {
    expect(await readNpy(sample("pickle/numpy/object.npy"))).toMatchObject({ dtype: { object: true }, shape: [6] });
    const float = await readNpy(sample("pickle/numpy/float.npy"));
    expect(float.dtype.object).toBe(false);
    expect(float.dataBytes).toBeGreaterThan(0);
  });
});

describe("modelgate/zip", () => {
  it("lists entries with data offsets and the anomalies", async () => {
    const view = await readZip(sample("containers/zip/name-mismatch.zip"));
    expect(view.entries.map((e) => e.name)).toEqual(["notes/readme.txt", "config.json"]);
    for (const e of view.entries) expect(e.dataOffset).toBeGreaterThan(e.localHeaderOffset);
    expect(view.issues.map((i) => i.ruleId)).toContain("zip/name-mismatch");
  });

  it("rejects what is not a zip", async () => {
    await expect(readZip(Uint8Array.of(1, 2, 3))).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
  });
});
