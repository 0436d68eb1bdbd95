import { describe, expect, it } from "vitest";
import { pickleAnalyzer, torchscriptCodeAnalyzer } from "../../../src/formats/pickle/analyzer.js";
import { pickleContextFor } from "../../../src/registry/catalog.js";
import { scanOne } from "../../helpers/scan.js";
import { bytes, fakeContext, op } from "./helpers.js";

describe("pickleContextFor", () => {
  it("chooses profiles from the lineage", () => {
    expect(pickleContextFor([])).toBe("pickle");
    expect(pickleContextFor(["zip", "pytorch-zip"])).toBe("pytorch");
    expect(pickleContextFor(["pytorch-zip", "torchscript"])).toBe("torchscript");
    expect(pickleContextFor(["npz"])).toBe("numpy");
    expect(pickleContextFor(["gzip", "joblib"])).toBe("joblib");
  });
});

describe("pickleAnalyzer", () => {
  it("uses the PyTorch profile inside PyTorch archives and the plain one elsewhere", async () => {
    const data = bytes(
      [0x80, 0x02],
      op.global("torch._utils", "_rebuild_tensor_v2"),
      "(",
      "(",
      op.bu("storage"),
      op.global("torch", "FloatStorage"),
      op.bu("0"),
      op.bu("cpu"),
      "K\x01tQK\x00K\x01\x85K\x01\x85\x89",
      op.global("collections", "OrderedDict"),
      ")RtR.",
    );
    const torch = fakeContext(data, "pickle", { lineage: ["pytorch-zip"] });
    await pickleAnalyzer.analyze(torch.ctx);
    expect(torch.findings).toEqual([]);
    expect(torch.facts).toMatchObject({ tensorCount: 1, parameterCount: 1, dtypes: ["float32"] });
    const plain = fakeContext(data, "pickle");
    await pickleAnalyzer.analyze(plain.ctx);
    expect(plain.findings.map((f) => f.ruleId)).toEqual(["pickle/persistent-id"]);
  });

  it("hands trailing data to the engine when no other detection claims it", async () => {
    const r = fakeContext(bytes("N.", "cos\nsystem\n(S'echo'\ntR."), "pickle");
    await pickleAnalyzer.analyze(r.ctx);
    // a protocol-0 pickle after a protocol-0 pickle is analysed as a concatenated pickle
    expect(r.findings.map((f) => f.evidence?.callee)).toContain("os.system");
    const t = fakeContext(bytes([0x80, 0x02], "N.", "\x00\x01binary"), "pickle");
    await pickleAnalyzer.analyze(t.ctx);
    expect(t.findings.map((f) => f.ruleId)).toEqual(["pickle/trailing-data"]);
    expect(t.members.map((m) => m.name)).toEqual(["@4"]);
  });

  it("runs through the engine for any file name", async () => {
    const file = await scanOne(
      bytes([0x80, 0x02], op.global("os", "system"), op.bu("echo"), op.call1, "."),
      "weights.txt",
    );
    expect(file.format).toBe("pickle");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.map((f) => f.ruleId)).toEqual(
      expect.arrayContaining(["pickle/dangerous-global", "format/extension-mismatch"]),
    );
  });
});

describe("torchscriptCodeAnalyzer", () => {
  const code = (text: string, lineage: ("torchscript" | "pytorch-zip")[] = ["pytorch-zip", "torchscript"]) =>
    fakeContext(bytes(text), "python", { lineage, name: "forward.py" });

  it("lists the operators TorchScript code uses", async () => {
    const r = code(
      "class M(Module):\n  def forward(self, x: Tensor) -> Tensor:\n    return torch.relu(torch.matmul(x, self.w))\n",
    );
    await torchscriptCodeAnalyzer.analyze(r.ctx);
    expect(r.findings.map((f) => f.ruleId)).toEqual(["pickle/torchscript-code"]);
    expect(r.findings[0]?.evidence?.calls).toBe("torch.relu, torch.matmul");
  });

  it("flags file access, custom operator namespaces and __setstate__", async () => {
    const r = code(
      "def forward(self, x):\n  torch.save(x, 'f')\n  return ops.mylib.secret(x)\ndef __setstate__(self, s):\n  pass\n",
    );
    await torchscriptCodeAnalyzer.analyze(r.ctx);
    expect(r.findings.map((f) => `${f.ruleId}:${f.evidence?.callee}`)).toEqual([
      "pickle/torchscript-code:undefined",
      "pickle/torchscript-op:torch.save",
      "pickle/torchscript-op:ops.mylib.secret",
      "pickle/torchscript-op:__setstate__",
    ]);
  });

  it("leaves Python files outside TorchScript archives to the repository-files analyzer", async () => {
    const r = code("import os\nos.system('x')", ["pytorch-zip"]);
    await torchscriptCodeAnalyzer.analyze(r.ctx);
    expect(r.findings).toEqual([]);
  });
});
