import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLAIM_EXTENSIONS, FORMATS } from "../../src/registry/catalog.js";
import { REPO_ROOT } from "../helpers/scan.js";

describe("docs name every format and claim of the registry", () => {
  it("docs/formats.md names every format id", () => {
    const text = readFileSync(join(REPO_ROOT, "docs", "formats.md"), "utf8");
    expect(FORMATS.filter((f) => !text.includes(`\`${f}\``))).toEqual([]);
  });

  it("docs/claims.md lists every extension that claims a format", () => {
    const text = readFileSync(join(REPO_ROOT, "docs", "claims.md"), "utf8");
    expect([...CLAIM_EXTENSIONS.keys()].filter((ext) => !text.includes(`.${ext}`))).toEqual([]);
  });
});
