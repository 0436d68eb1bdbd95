/**
 * CPython bytecode (`.pyc`): the header reader and detector, and the analyzer's findings on files
 * made by py_compile (samples/pyc/, from samples/generate/pyc_shadowing.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPycHeader } from "../../../src/formats/marshal/pyc.js";
import { importableModule, shadowedKind, shadowingModules } from "../../../src/formats/marshal/python-modules.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (path: string) => readFileSync(join(SAMPLES, "pyc", path));

describe(".pyc header", () => {
  it("reads CPython 3.11's header and rejects other bytes", () => {
    const header = readPycHeader(sample("module/helpers.pyc"));
    expect(header).toMatchObject({ magic: 3495, version: "3.11", codeOffset: 16 });
    expect(readPycHeader(Buffer.from("print('hi')\r\n# not bytecode at all"))).toBeUndefined();
    const badFlags = Buffer.from(sample("module/helpers.pyc"));
    badFlags[4] = 8;
    expect(readPycHeader(badFlags)).toBeUndefined();
  });
});

describe(".pyc analysis", () => {
  it("reports a compiled module as code whatever its name", async () => {
    for (const name of ["helpers.pyc", "weights.bin"]) {
      const file = await scanOne(sample("module/helpers.pyc"), name);
      expect(file.format).toBe("pyc");
      expect(file.verdict).toBe("suspicious");
      expect(ruleIds(file)).toContain("pyc/compiled-code");
      expect(ruleIds(file)).not.toContain("format/unknown");
    }
  });

  it("flags an aliased os.system as high", async () => {
    const file = await scanOne(sample("module/aliased_os_system.pyc"), "x.pyc");
    expect(file.verdict).toBe("malicious");
    const risky = file.findings.find((f) => f.ruleId === "pyc/risky-code");
    expect(risky?.evidence).toMatchObject({ first: "os.system" });
  });

  it("reports undecodable bytecode as invalid", async () => {
    const cut = sample("module/helpers.pyc").subarray(0, 40);
    const file = await scanOne(cut, "helpers.pyc");
    expect(file.format).toBe("pyc");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("pyc/malformed");
  });
});

describe("importable modules", () => {
  it("names the module a file makes importable from its folder", () => {
    expect(importableModule("platform.pyc")).toBe("platform");
    expect(importableModule("json.py")).toBe("json");
    expect(importableModule("yaml/__init__.pyc")).toBe("yaml");
    expect(importableModule("_speedups.cpython-311-x86_64-linux-gnu.so")).toBe("_speedups");
    expect(importableModule("numpy.abi3.so")).toBe("numpy");
    expect(importableModule("__pycache__/json.cpython-311.pyc")).toBeUndefined();
    expect(importableModule("pkg/json.py")).toBeUndefined();
    expect(importableModule("model.pt")).toBeUndefined();
  });

  it("knows the standard library and the loaders' packages", () => {
    expect(shadowedKind("platform")).toBe("stdlib");
    expect(shadowedKind("torch")).toBe("package");
    expect(shadowedKind("handler")).toBeUndefined();
    expect(
      shadowingModules(["handler.py", "os.pyc", "index_to_name.json", "ts/__init__.py"]).map((s) => s.module),
    ).toEqual(["os", "ts"]);
  });
});
