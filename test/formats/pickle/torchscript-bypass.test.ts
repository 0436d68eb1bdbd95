/**
 * TorchScript and torch.package loaders that run code modelgate must see: line continuations and
 * line ends as the TorchScript lexer reads them, code past the scanner's budget, code members that
 * are not UTF-8, the lite interpreter's operator table (`bytecode.pkl`) and torch.package pickles
 * that name the archive's own modules. The samples were built and loaded with torch 1.13
 * (samples/generate/torchscript_bypass.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanPythonSource } from "../../../src/formats/pickle/pysource.js";
import { detectText } from "../../../src/formats/text/index.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const ts = (src: string) => scanPythonSource(src, 1 << 20, "torchscript");
const tsNames = (src: string) => ts(src).names.map((n) => n.name);
const pyNames = (src: string) => scanPythonSource(src).names.map((n) => n.name);
const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "torchscript-bypass", name)));

async function verdictOf(name: string) {
  const report = await scanSample(join("torchscript-bypass", name));
  const file = report.files[0];
  if (file === undefined) throw new Error("no file report");
  return { verdict: file.verdict, rules: ruleIds(file), file };
}

describe("source scanner: line joins and line ends", () => {
  it("joins backslash-newline continuations inside dotted names and defs", () => {
    expect(tsNames("x = torch.\\\n      save(t, 'f')\n")).toContain("torch.save");
    expect(ts("  def \\\n  __setstate__(self, state):\n    pass\n").defs).toContain("__setstate__");
    expect(pyNames("import os\nos.\\\nsystem('id')\n")).toContain("os.system");
  });

  it("joins continuations whatever the line end (a loader that refuses them runs nothing)", () => {
    expect(tsNames("torch.\\\r\nsave(t, 'f')\n")).toContain("torch.save");
    expect(tsNames("torch.\\\rsave(t, 'f')\n")).toContain("torch.save");
    expect(pyNames("import os\nos.\\\r\nsystem('id')\n")).toContain("os.system");
  });

  it("ends a comment where the loader does", () => {
    // CPython: a lone \r ends a line, so the comment ends there
    expect(pyNames("import os # x\ros.system('id')\n")).toContain("os.system");
    // TorchScript: \r is blank space; the comment runs to \n and what follows is code
    expect(tsNames("# a\r'''\ntorch.save(t, 'f')\n# '''\n")).toContain("torch.save");
    expect(tsNames("x = 1 # c\r\ny = torch.from_file('f')\r\n")).toContain("torch.from_file");
    // `# type:` is a token for the TorchScript lexer, not a comment: a ''' there opens a string
    expect(tsNames("# type: '''\n'''\ntorch.save(t, 'f')\n")).toContain("torch.save");
  });

  it("reads raw strings and numbers as the lexers do", () => {
    expect(pyNames("import os\nx = r'\\'' ; os.system('id') ; y = ''\n")).toContain("os.system");
    expect(tsNames("x = 1if c else torch.save(t, 'f')\n")).toContain("torch.save");
  });
});

describe("TorchScript archives", () => {
  it("continuation.pt: `torch.\\<nl>save` and `def \\<nl>__setstate__` (torch.jit.load runs the payload)", async () => {
    const r = await verdictOf("continuation.pt");
    expect(r.verdict).toBe("malicious");
    expect(r.rules).toContain("pickle/torchscript-op");
    const callees = r.file.findings.map((f) => f.evidence?.callee);
    expect(callees).toContain("torch.save");
    expect(callees).toContain("__setstate__");
  });

  it("past_budget.pt: code past the scan budget is a budget stop, never clean", async () => {
    const r = await verdictOf("past_budget.pt");
    expect(r.verdict).toBe("invalid");
    expect(r.rules).toContain("scan/budget-exceeded");
  });

  it("code_not_utf8.pt: a code/*.py member that is not UTF-8 is still TorchScript code", async () => {
    const r = await verdictOf("code_not_utf8.pt");
    expect(r.verdict).toBe("malicious");
    expect(r.rules).toContain("pickle/torchscript-op");
    expect(r.rules).not.toContain("format/unknown");
  });

  it("a code member holding a NUL is still read", async () => {
    const code = "class M(Module):\n  def __setstate__(self, state: int) -> None:\n    torch.save(1, 'f')\n";
    const zip = buildZip([
      { name: "m/data.pkl", data: new Uint8Array([0x80, 0x02, 0x4e, 0x2e]) },
      { name: "m/code/__torch__.py", data: `# \0\n${code}` },
      { name: "m/version", data: "3\n" },
    ]);
    const file = await scanOne(zip, "m.pt");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/torchscript-op");
  });

  it("CRLF line ends keep a clean archive clean", async () => {
    expect((await verdictOf("clean_crlf.pt")).verdict).toBe("clean");
  });
});

describe("TorchScript Lite (bytecode.pkl)", () => {
  it("lite_stripped_code.ptl: the operator table calls aten::save though code/ does not", async () => {
    const r = await verdictOf("lite_stripped_code.ptl");
    expect(r.verdict).toBe("malicious");
    const callees = r.file.findings.map((f) => f.evidence?.callee);
    expect(callees).toContain("aten::save");
    expect(callees).toContain("__torch__.Saver.__setstate__");
  });

  it("lite.ptl is malicious, lite_clean.ptl clean", async () => {
    expect((await verdictOf("lite.ptl")).verdict).toBe("malicious");
    const clean = await verdictOf("lite_clean.ptl");
    expect(clean.verdict).toBe("clean");
    expect(clean.file.findings.some((f) => f.message.includes("Lite bytecode uses"))).toBe(true);
  });

  it("an archive with bytecode.pkl but no code/ is TorchScript Lite", async () => {
    const src = sample("lite_stripped_code.ptl");
    // rebuild without code/ and constants.pkl: only data.pkl, bytecode.pkl and version
    const members = readZipMembers(src).filter((m) => !m.name.includes("/code/") && !m.name.endsWith("constants.pkl"));
    const file = await scanOne(buildZip(members), "m.ptl");
    expect(file.format).toBe("torchscript");
    expect(file.findings.map((f) => f.evidence?.callee)).toContain("aten::save");
  });
});

describe("torch.package archives", () => {
  it.each(["package_override.pt", "package_override_latin1.pt"])(
    "%s: an allowlisted global whose module the archive provides runs archive code",
    async (name) => {
      const r = await verdictOf(name);
      expect(r.rules).toContain("pytorch/package-module-override");
      expect(["malicious", "suspicious"]).toContain(r.verdict);
      const f = r.file.findings.find((x) => x.ruleId === "pytorch/package-module-override");
      expect(f?.severity).toBe("high");
      expect(f?.evidence?.global).toBe("collections.OrderedDict");
      expect(r.file.facts?.["torchPackage.root"]).toBe("archive");
      // the module is analysed as Python (Latin-1 bytes included)
      const module = r.file.findings.filter((x) => x.path?.endsWith("collections/__init__.py"));
      expect(module.map((x) => x.ruleId)).toEqual(["repo/python-file"]);
    },
  );

  it("package_clean.pt: a package without modules of its own reports no override", async () => {
    const r = await verdictOf("package_clean.pt");
    expect(r.rules).not.toContain("pytorch/package-module-override");
    expect(r.file.facts?.["torchPackage.root"]).toBe("archive");
  });
});

describe("text detection of .py names", () => {
  it("a .py name is Python whatever its bytes", () => {
    const detect = (head: Uint8Array, name: string) =>
      detectText({ head, tail: head, size: head.length, name })?.format;
    expect(detect(new Uint8Array([0x23, 0x20, 0xff, 0xfe, 0x0a, 0x78]), "code/__torch__.py")).toBe("python");
    expect(detect(new Uint8Array([0x23, 0x00, 0x0a, 0x78]), "mod.py")).toBe("python");
    expect(detect(new Uint8Array([0x23, 0x20, 0xff, 0xfe, 0x0a]), "notes.txt")).toBeUndefined();
  });
});

/** Stored/deflated members of a zip, read with the central directory (test helper). */
function readZipMembers(zip: Uint8Array): { name: string; data: Uint8Array }[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const out: { name: string; data: Uint8Array }[] = [];
  for (let k = 0; k < count; k++) {
    const method = view.getUint16(p + 10, true);
    const size = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    const lNameLen = view.getUint16(local + 26, true);
    const lExtraLen = view.getUint16(local + 28, true);
    const start = local + 30 + lNameLen + lExtraLen;
    if (method !== 0) throw new Error(`member ${name} is compressed`);
    out.push({ name, data: zip.slice(start, start + size) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
