import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { parseDoctype } from "../../../src/formats/xml/doctype.js";
import { detectXmlModel } from "../../../src/formats/xml/index.js";
import { doctypeFindings, readXml, type XmlElement } from "../../../src/formats/xml/reader.js";
import { BufferSource } from "../../../src/sources/byte-source.js";

const enc = new TextEncoder();
const src = (text: string | Uint8Array) => new BufferSource(typeof text === "string" ? enc.encode(text) : text);

async function collect(text: string | Uint8Array, chunkSize?: number) {
  const elements: XmlElement[] = [];
  const texts: string[] = [];
  const doc = await readXml(
    src(text),
    { open: (e) => elements.push(e), text: (t) => texts.push(t) },
    chunkSize === undefined ? {} : { chunkSize },
  );
  return { doc, elements, texts };
}

const rules = (doctype: string) => doctypeFindings(parseDoctype(doctype)).map((f) => f.ruleId);

describe("readXml", () => {
  it("reads elements, namespaces and predefined entities, across chunk boundaries", async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><a x="&lt;&amp;&#65;&#x42;">t&gt;ext</a></PMML>`;
    for (const chunk of [undefined, 1, 7]) {
      const { doc, elements, texts } = await collect(xml, chunk);
      expect(doc.error).toBeUndefined();
      expect(doc.root).toMatchObject({ local: "PMML", uri: "http://www.dmg.org/PMML-4_4" });
      expect(elements.map((e) => [e.local, e.depth])).toEqual([
        ["PMML", 1],
        ["a", 2],
      ]);
      expect(elements[1]?.attr("x")).toBe("<&AB");
      expect(texts.join("")).toBe("t>ext");
    }
  });

  it("never resolves other entities, even names inherited from Object", async () => {
    for (const name of ["constructor", "toString", "__proto__", "x"]) {
      const { doc, texts } = await collect(`<r>&${name};</r>`);
      expect(doc.error?.code, name).toBe("MALFORMED");
      expect(texts.join("")).not.toContain("function");
    }
  });

  it("leaves declared internal entities unexpanded and counts the references", async () => {
    const { doc, texts } = await collect(`<!DOCTYPE r [<!ENTITY a "hidden">]><r>&a;&a;</r>`);
    expect(doc.error).toBeUndefined();
    expect(texts.join("")).toBe("");
    expect(doc.entityReferences.get("a")).toBe(2);
  });

  it("reports broken documents as MALFORMED after what came before", async () => {
    for (const bad of ["<r><a></r>", "<r a='1' a='2'/>", "<p:r/>", "<r>", "<r/><s/>", "text"]) {
      const { doc } = await collect(bad);
      expect(doc.error?.code, bad).toBe("MALFORMED");
    }
    const unknown = await collect(`<?xml version="1.0" encoding="x-no-such-charset"?><r/>`);
    expect(unknown.doc.error?.message).toMatch(/encoding/);
    const notUtf8 = await collect(new Uint8Array([0x3c, 0x72, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x72, 0x3e]));
    expect(notUtf8.doc.error?.message).toMatch(/UTF-8/);
  });

  it("enforces its budgets with BUDGET_EXCEEDED", async () => {
    const cases: Array<[string, object]> = [
      ["<a>".repeat(300) + "</a>".repeat(300), {}],
      [`<r x="${"y".repeat(5000)}"/>`, { maxAttributeLength: 1000 }],
      [`<r ${Array.from({ length: 50 }, (_, i) => `a${i}="1"`).join(" ")}/>`, { maxAttributes: 10 }],
      [`<r>${"x".repeat(300_000)}</r>`, { maxTextLength: 100_000 }],
      [`<r>${"<e/>".repeat(200)}</r>`, { maxElements: 100 }],
      ["<r/>", { maxBytes: 2 }],
    ];
    for (const [xml, budgets] of cases) {
      const error = await readXml(src(xml), {}, { budgets }).catch((e: unknown) => e);
      expect(isModelgateError(error, "BUDGET_EXCEEDED"), JSON.stringify(budgets)).toBe(true);
    }
  });
});

describe("DOCTYPE classification", () => {
  it("external identifiers and parameter entities are external-entity attempts", () => {
    expect(rules(` net [<!ENTITY x SYSTEM "file:///etc/passwd">]`)).toEqual(["xml/external-entity"]);
    expect(rules(` net [<!ENTITY x PUBLIC "-//x" "http://attacker/x">]`)).toEqual(["xml/external-entity"]);
    expect(rules(` net SYSTEM "http://attacker/x.dtd"`)).toEqual(["xml/external-entity"]);
    expect(rules(` net [<!ENTITY % p "<!ENTITY y 'z'>"> %p;]`)).toEqual(["xml/external-entity"]);
    const d = parseDoctype(` net [<!ENTITY x SYSTEM "file:///etc/passwd">]`);
    expect(d.entities[0]).toMatchObject({ name: "x", external: "file:///etc/passwd" });
  });

  it("nested or numerous entities are an expansion bomb", () => {
    expect(rules(` r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]`)).toEqual(["xml/entity-expansion"]);
    const many = Array.from({ length: 80 }, (_, i) => `<!ENTITY e${i} "v">`).join("");
    expect(rules(` r [${many}]`)).toEqual(["xml/entity-expansion"]);
  });

  it("any other DOCTYPE is xml/dtd; predefined and comment content do not count", () => {
    expect(rules(" net")).toEqual(["xml/dtd"]);
    expect(
      rules(` r [<!ENTITY a "&amp;&lt;"><!-- <!ENTITY x SYSTEM "f"> --><!ATTLIST layer type CDATA "Custom">]`),
    ).toEqual(["xml/dtd"]);
    expect(parseDoctype(` r [<!ATTLIST layer type CDATA "Custom">]`).attributeDefaults).toBe(true);
  });

  it("stays linear on unterminated declarations", () => {
    const text = ` r [${"<!ENTITY a ".repeat(100_000)}]`;
    const start = Date.now();
    parseDoctype(text);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe("detectXmlModel", () => {
  const detect = (text: string) =>
    detectXmlModel({ head: enc.encode(text), tail: enc.encode(text), size: text.length, name: "x" })?.format;
  it("recognises IR and PMML roots only", () => {
    expect(detect(`<?xml version="1.0"?>\n<!-- c --><net name="m" version="11"><layers/></net>`)).toBe("openvino-ir");
    expect(detect(`\uFEFF<PMML version="4.4"/>`)).toBe("pmml");
    expect(detect(`<pmml:PMML xmlns:pmml="http://www.dmg.org/PMML-4_4"/>`)).toBe("pmml");
    expect(detect(`<?xml version="1.0"?><project><net/></project>`)).toBeUndefined();
    expect(detect(`<net>just a word</net>`)).toBeUndefined();
    expect(detect(`<html><body/></html>`)).toBeUndefined();
  });
  it("recognises by the DOCTYPE when the root lies beyond the sniffed bytes", () => {
    expect(detect(`<!DOCTYPE net [<!ENTITY x "${"a".repeat(100)}"`)).toBe("openvino-ir");
    expect(detect(`<!DOCTYPE PMML SYSTEM "http://x/y.dtd">`)).toBe("pmml");
  });
});
