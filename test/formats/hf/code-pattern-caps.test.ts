/**
 * The risky-construct search of scripts follows every import alias (padding with hundreds of
 * harmless aliases cannot hide `import os as o; o.system(...)`), and a script longer than the
 * search reads is reported, not passed as searched.
 */
import { describe, expect, it } from "vitest";
import { pythonRisks, RISK_SCAN_MAX_CHARS, unaliasPython } from "../../../src/formats/hf/code-patterns.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const pads = (n: number) => Array.from({ length: n }, (_, i) => `import mod${i} as m${i}`).join("\n");

describe("import aliases past 256", () => {
  it("an alias after 300 harmless ones is followed", () => {
    const src = `${pads(300)}\nimport os as o\no.system("id")\n`;
    expect(unaliasPython(src)).toContain('os.system("id")');
    expect(pythonRisks(src).map((h) => h.kind)).toContain("process");
  });

  it("a from-import alias after 300 harmless ones is followed", () => {
    const src = `${pads(300)}\nfrom os import system as run\nrun("id")\n`;
    expect(pythonRisks(src).map((h) => h.kind)).toContain("process");
  });

  it("keeps whole identifiers: a longer name that starts like an alias is untouched", () => {
    expect(unaliasPython("import numpy as np\nnpx.load(f)\nnp.load(f)\n")).toBe(
      "import numpy as np\nnpx.load(f)\nnumpy.load(f)\n",
    );
  });
});

describe("scripts past the search budget", () => {
  it("a Python file longer than the search reads is not clean", async () => {
    const src = `x = 1\n${"#".repeat(RISK_SCAN_MAX_CHARS + 10)}\nimport os\nos.system("id")\n`;
    const file = await scanOne(new TextEncoder().encode(src), "helper.py");
    expect(ruleIds(file)).toContain("scan/budget-exceeded");
    expect(file.findings.find((f) => f.ruleId === "scan/budget-exceeded")?.evidence?.budget).toBe("riskScanChars");
  }, 60_000);
});
