/**
 * A DOCTYPE padded with thousands of harmless declarations still has the entity that follows them
 * judged: an external entity after 10,000 element declarations is reported as one.
 */
import { describe, expect, it } from "vitest";
import { parseDoctype } from "../../../src/formats/xml/doctype.js";
import { doctypeFindings } from "../../../src/formats/xml/reader.js";

const rules = (doctype: string) => doctypeFindings(parseDoctype(doctype)).map((f) => f.ruleId);
const padding = (n: number) => Array.from({ length: n }, (_, i) => `<!ELEMENT e${i} ANY>`).join("");

describe("declarations past the cap", () => {
  it("an external entity after 10,001 element declarations is reported", () => {
    expect(rules(`net [${padding(10_001)}<!ENTITY x SYSTEM "file:///etc/passwd">]`)).toContain("xml/external-entity");
  });

  it("a nested entity after 10,001 harmless entities is kept", () => {
    const plain = Array.from({ length: 10_001 }, (_, i) => `<!ENTITY p${i} "v">`).join("");
    const d = parseDoctype(`net [${plain}<!ENTITY lol "&p1;&p1;">]`);
    expect(d.entities.some((e) => e.name === "lol")).toBe(true);
    expect(d.entities.length).toBeLessThanOrEqual(10_005);
  });
});
