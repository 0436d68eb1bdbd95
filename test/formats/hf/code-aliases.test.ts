/**
 * Proposed test for src/formats/hf/code-patterns.ts (aliased imports): to be placed at
 * test/formats/hf/code-aliases.test.ts once the change to pythonRisks is applied.
 */
import { describe, expect, it } from "vitest";
import { pythonRisks, unaliasPython } from "../../../src/formats/hf/code-patterns.js";

const kinds = (src: string) => [...new Set(pythonRisks(src).map((h) => h.kind))].sort();

describe("aliased imports", () => {
  it.each([
    ['import os as _o\n_o.system("id")\n', "process"],
    ['import os as _o; _o.system("id")\n', "process"],
    ['import sys, os as o2\no2.popen("id")\n', "process"],
    ['from os import system\nsystem("id")\n', "process"],
    ['from os import system as run_it\nrun_it("id")\n', "process"],
    ['import subprocess as sp\nsp.Popen(["id"])\n', "process"],
    ['from builtins import exec as e\ne("print(1)")\n', "dynamic-code"],
    ["import pickle as p\np.loads(b'')\n", "deserialize"],
    ["import numpy as np\nnp.load('x.npy', allow_pickle=True)\n", "deserialize"],
  ])("%j is %s", (src, kind) => {
    expect(kinds(src)).toContain(kind);
  });

  it("keeps line numbers and leaves plain code alone", () => {
    expect(pythonRisks('import os as _o\n\n\n_o.system("id")\n')[0]?.line).toBe(4);
    expect(kinds("import numpy as np\nx = np.zeros(3)\nfrom math import sqrt\nsqrt(2)\n")).toEqual([]);
    expect(unaliasPython("x = 1\n")).toBe("x = 1\n");
  });
});
