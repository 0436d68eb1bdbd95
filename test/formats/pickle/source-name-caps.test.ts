/**
 * The source scanner feeds judgements (TorchScript operators, names code strings call): a name
 * past any cap must still be judged, and code past the scanner's budget must make the file
 * non-clean. An attacker pads with harmless names so the dangerous one comes last.
 */
import { describe, expect, it } from "vitest";
import { scanPythonSource } from "../../../src/formats/pickle/pysource.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";
import { analyze, bytes, callees, op, rules } from "./helpers.js";

/** `self.b0 ... self.b<n-1>`: n distinct harmless names. */
const padding = (n: number) => Array.from({ length: n }, (_, i) => `self.b${i}`).join(", ");

describe("scanPythonSource keeps every name", () => {
  it("a name after 600 distinct harmless names is listed", () => {
    const src = `def forward(self, x):\n    _0 = [${padding(600)}]\n    torch.save(x, "/tmp/p")\n    return x\n`;
    const scan = scanPythonSource(src, 1 << 20, "torchscript");
    expect(scan.names.map((n) => n.name)).toContain("torch.save");
    expect(scan.truncated).toBe(false);
  });
});

describe("TorchScript code padded with harmless names", () => {
  it("torch.save after 505 `self.bN` names is judged (torch.jit.load writes the file)", async () => {
    const code = `class M(Module):\n  def forward(self, x):\n    _0 = [${padding(505)}]\n    torch.save(x, "/tmp/p")\n    return x\n`;
    const zip = buildZip([
      { name: "m/data.pkl", data: new Uint8Array([0x80, 0x02, 0x4e, 0x2e]) },
      { name: "m/code/__torch__.py", data: code },
      { name: "m/version", data: "3\n" },
    ]);
    const file = await scanOne(zip, "m.pt");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.map((f) => f.evidence?.callee)).toContain("torch.save");
    expect(ruleIds(file)).toContain("pickle/torchscript-op");
  });
});

describe("code strings handed to exec", () => {
  const P4 = op.proto(4);
  const execOf = (code: string) => bytes(P4, op.sglobal("builtins", "exec"), op.bu(code), op.call1, op.stop);

  it("os.system after 600 distinct harmless names is judged", async () => {
    const code = `import os\nx = [${Array.from({ length: 600 }, (_, i) => `a.b${i}`).join(", ")}]\nos.system("id")\n`;
    expect(callees(await analyze(execOf(code)))).toContain("os.system");
  });

  it("code past the scanner's budget is reported, not dropped", async () => {
    const code = `x = 1\n${"#".repeat((1 << 20) + 10)}\nimport os\nos.system("id")\n`;
    const a = await analyze(execOf(code));
    expect(rules(a)).toContain("scan/budget-exceeded");
    const f = a.findings.find((x) => x.ruleId === "scan/budget-exceeded");
    expect(f?.evidence?.budget).toBe("pickle.nestedCodeChars");
    // the evidence lists stay bounded however many names the code holds
    const big = `x = [${Array.from({ length: 5000 }, (_, i) => `f${i}()`).join(", ")}]\n`;
    const nested = (await analyze(execOf(big))).findings.find((x) => x.ruleId === "pickle/nested-payload");
    expect(String(nested?.evidence?.calls ?? "").length).toBeLessThanOrEqual(400);
  });
});

describe("persistent ids past the machine's list", () => {
  it("a bad id after a million storage ids is not dropped silently", async () => {
    const storage = bytes(
      "(",
      op.bu("storage"),
      op.global("torch", "FloatStorage"),
      op.bu("0"),
      op.bu("cpu"),
      [0x4b, 1], // BININT1 1
      "t",
      [0x71, 0], // BINPUT 0
      "0", // POP
    );
    const one = [0x68, 0, 0x51, 0x30]; // BINGET 0, BINPERSID, POP
    const body = new Uint8Array(one.length * 1_000_001);
    for (let i = 0; i < 1_000_001; i++) body.set(one, i * one.length);
    const data = bytes(op.proto(2), storage, body, op.bu("evil"), [0x51], op.stop);
    const a = await analyze(data, { context: "pytorch" });
    const f = a.findings.find((x) => x.ruleId === "scan/budget-exceeded");
    expect(f?.evidence?.budget).toBe("pickle.persistentIds");
  }, 60_000);
});
