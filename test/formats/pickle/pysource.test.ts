import { describe, expect, it } from "vitest";
import { scanPythonSource } from "../../../src/formats/pickle/pysource.js";

const names = (src: string) => scanPythonSource(src).names.map((n) => `${n.kind}:${n.name}`);

describe("scanPythonSource", () => {
  it("follows imports, aliases, __import__ and getattr", () => {
    expect(names("import os\nos.system('id')")).toEqual(["import:os", "call:os.system"]);
    expect(names("import subprocess as sp; sp.run(['x'])")).toEqual(["import:subprocess", "call:subprocess.run"]);
    expect(names("from os import system as s\ns('id')")).toEqual(["import:os", "ref:os.system", "call:os.system"]);
    expect(names("__import__('os').popen('id').read()")).toContain("call:os.popen");
    expect(names("getattr(os, 'system')('id')")).toContain("call:os.system");
    expect(names("eval('1+1')")).toEqual(["call:builtins.eval"]);
  });

  it("ignores names in strings and comments", () => {
    expect(names("x = 'os.system(1)'  # os.system\nprint(x)")).toEqual(["call:builtins.print"]);
  });

  it("lists defs and stops at its budget", () => {
    const s = scanPythonSource("def __setstate__(self, state):\n  pass\n");
    expect(s.defs).toEqual(["__setstate__"]);
    expect(scanPythonSource("a.b()\n".repeat(100), 50).truncated).toBe(true);
  });
});
