import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frontMatter, identifyLicenseText, normaliseLicense } from "../../../src/formats/license/identify.js";
import { renderCycloneDx } from "../../../src/report/render/cyclonedx.js";
import { scan } from "../../../src/scan/engine.js";
import { cycloneDxValidator } from "../../helpers/cyclonedx.js";

describe("licence identification", () => {
  it("normalises Hugging Face slugs to SPDX ids and keeps the others", () => {
    expect(normaliseLicense("apache-2.0")).toBe("Apache-2.0");
    expect(normaliseLicense(" CC-BY-NC-4.0 ")).toBe("CC-BY-NC-4.0");
    expect(normaliseLicense("llama3")).toBe("llama3");
    expect(normaliseLicense("MIT")).toBe("MIT");
  });

  it("recognises licence texts by their opening words", () => {
    expect(
      identifyLicenseText(
        "                                 Apache License\n                           Version 2.0, January 2004",
      ),
    ).toBe("Apache-2.0");
    expect(identifyLicenseText("MIT License\n\nCopyright (c) 2024")).toBe("MIT");
    expect(identifyLicenseText("META LLAMA 3 COMMUNITY LICENSE AGREEMENT\n")).toBe("llama3");
    expect(identifyLicenseText("All rights reserved.")).toBeUndefined();
  });

  it("reads the front matter only at the start of a card", () => {
    expect(frontMatter("---\nlicense: mit\n---\n# Card")).toBe("license: mit");
    expect(frontMatter("# Card\n---\nlicense: mit\n---\n")).toBeUndefined();
  });
});

describe("licence facts, flags and the ML-BOM", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelgate-license-"));
    await writeFile(
      join(dir, "README.md"),
      "---\nlicense: other\nlicense_name: llama3\ntags: [text]\n---\n# A model\n",
    );
    await writeFile(join(dir, "LICENSE"), "Attribution-NonCommercial 4.0 International\n\n=====\n");
    await writeFile(join(dir, "config.json"), '{"model_type": "llama"}');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("records the licences each file states", async () => {
    const report = await scan(dir, { signature: false });
    const facts = Object.fromEntries(report.files.map((f) => [f.path, f.facts?.license]));
    expect(facts["README.md"]).toEqual(["other", "llama3"]);
    expect(facts.LICENSE).toEqual(["CC-BY-NC-4.0"]);
    expect(report.files.flatMap((f) => f.findings).filter((f) => f.ruleId === "license/flagged")).toEqual([]);
  });

  it("flags the licences the policy lists, case-insensitively", async () => {
    const report = await scan(dir, { signature: false, policy: { licenses: { flag: ["cc-by-nc-4.0", "LLAMA3"] } } });
    const flagged = report.files.flatMap((f) =>
      f.findings.filter((x) => x.ruleId === "license/flagged").map(() => f.path),
    );
    expect(flagged.sort()).toEqual(["LICENSE", "README.md"]);
    expect(report.verdict).toBe("suspicious");
  });

  it("puts the licences on the model component of a valid CycloneDX BOM", async () => {
    const bom = renderCycloneDx(await scan(dir, { signature: false }));
    expect(bom.components[0]?.licenses).toEqual([
      { license: { id: "CC-BY-NC-4.0" } },
      { license: { name: "llama3" } },
      { license: { name: "other" } },
    ]);
    const result = cycloneDxValidator()(bom);
    expect(result.errors).toBe("");
    expect(result.valid).toBe(true);
  });
});
