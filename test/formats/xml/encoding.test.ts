/**
 * XML documents in the encodings parsers detect (byte order marks, the `<?` pattern of UTF-16 and
 * UTF-32) or are told (the XML declaration): the detector finds their root element and the reader
 * reads them, DOCTYPE included, as a loader would.
 */
import { describe, expect, it } from "vitest";
import { decodeXmlHead, sniffXmlEncoding } from "../../../src/formats/xml/detect.js";
import { detectXmlModel } from "../../../src/formats/xml/index.js";
import { readXml, type XmlElement } from "../../../src/formats/xml/reader.js";
import { BufferSource } from "../../../src/sources/byte-source.js";

const XXE = `<!DOCTYPE PMML [<!ENTITY x SYSTEM "http://127.0.0.1:8999/leak">]>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header description="déjà"><Annotation>&x;</Annotation></Header></PMML>`;

/** Encodes text in UTF-16 or UTF-32 of either byte order. */
function encode(text: string, unit: 2 | 4, littleEndian: boolean): Uint8Array {
  const cps = [...text].map((c) => c.codePointAt(0) ?? 0);
  if (unit === 4) {
    const out = new DataView(new ArrayBuffer(cps.length * 4));
    for (const [k, cp] of cps.entries()) out.setUint32(k * 4, cp, littleEndian);
    return new Uint8Array(out.buffer);
  }
  const le = Buffer.from(text, "utf16le");
  return littleEndian ? new Uint8Array(le) : new Uint8Array(le.swap16());
}

const BOMS = {
  "utf-16le": [0xff, 0xfe],
  "utf-16be": [0xfe, 0xff],
  "utf-32le": [0xff, 0xfe, 0, 0],
  "utf-32be": [0, 0, 0xfe, 0xff],
};

/** The document in every UTF-16/UTF-32 form, with and without a byte order mark. */
function wideForms(body: string): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  for (const [name, unit, le] of [
    ["utf-16le", 2, true],
    ["utf-16be", 2, false],
    ["utf-32le", 4, true],
    ["utf-32be", 4, false],
  ] as const) {
    const doc = encode(`<?xml version="1.0" encoding="${name.slice(0, 6).toUpperCase()}"?>\n${body}`, unit, le);
    out.push([`${name} without BOM`, doc]);
    out.push([`${name} with BOM`, new Uint8Array([...BOMS[name], ...doc])]);
  }
  return out;
}

async function read(bytes: Uint8Array, chunkSize?: number) {
  const elements: XmlElement[] = [];
  const texts: string[] = [];
  const doc = await readXml(
    new BufferSource(bytes),
    { open: (e) => elements.push(e), text: (t) => texts.push(t) },
    chunkSize === undefined ? {} : { chunkSize },
  );
  return { doc, elements, texts };
}

describe("sniffXmlEncoding", () => {
  it("follows XML 1.0 Appendix F", () => {
    const name = (b: number[] | string) => {
      const r = sniffXmlEncoding(typeof b === "string" ? Buffer.from(b, "latin1") : new Uint8Array(b));
      return "name" in r ? [r.name, r.bom, r.fixed] : r.error;
    };
    expect(name([0xef, 0xbb, 0xbf, 0x3c])).toEqual(["utf-8", 3, true]);
    expect(name([0xff, 0xfe, 0x3c, 0])).toEqual(["utf-16le", 2, true]);
    expect(name([0xff, 0xfe, 0, 0])).toEqual(["utf-32le", 4, true]);
    expect(name([0, 0x3c, 0, 0x3f])).toEqual(["utf-16be", 0, true]);
    expect(name("<r/>")).toEqual(["utf-8", 0, false]);
    expect(name(`<?xml version="1.0" encoding='latin1'?>`)).toEqual(["latin1", 0, false]);
    expect(name(`<?xml version="1.0" encoding="Shift_JIS"?>`)).toEqual(["shift_jis", 0, false]);
    expect(name(`<?xml version="1.0" encoding="UTF-16"?>`)).toMatch(/unsupported/);
    expect(name(`<?xml version="1.0" encoding="EBCDIC-CP-US"?>`)).toMatch(/unsupported/);
    expect(name(`\u00ef\u00bb\u00bf<?xml version="1.0" encoding="ISO-8859-1"?>`)).toMatch(/byte order mark/);
  });

  it("decodes wide heads for the detector and leaves binary heads alone", () => {
    for (const [form, bytes] of wideForms("<PMML/>")) {
      expect(decodeXmlHead(bytes), form).toMatch(/^<\?xml version="1.0" encoding="UTF-(16|32)"\?>\n<PMML\/>$/);
    }
    expect(decodeXmlHead(new Uint8Array([0x3c, 0x72, 0, 0x3e]))).toBeUndefined();
  });
});

describe("detectXmlModel", () => {
  it("finds PMML and OpenVINO IR roots in UTF-16 and UTF-32", () => {
    for (const [form, head] of wideForms(XXE)) {
      expect(detectXmlModel({ head, tail: head, size: head.length, name: "m.xml" })?.format, form).toBe("pmml");
    }
    for (const [form, head] of wideForms('<net name="m" version="11"><layers/></net>')) {
      expect(detectXmlModel({ head, tail: head, size: head.length, name: "m.xml" })?.format, form).toBe("openvino-ir");
    }
  });
});

describe("readXml encodings", () => {
  it("reads UTF-16 and UTF-32 documents, DOCTYPE included, across chunk boundaries", async () => {
    for (const [form, bytes] of wideForms(XXE)) {
      for (const chunk of [undefined, 1, 3]) {
        const { doc, elements } = await read(bytes, chunk);
        expect(doc.error, `${form} ${chunk}`).toBeUndefined();
        expect(doc.doctype?.entities[0]?.external, form).toBe("http://127.0.0.1:8999/leak");
        expect(elements[1]?.attr("description"), form).toBe("déjà");
      }
    }
  });

  it("reads the ASCII-compatible encoding the declaration names", async () => {
    const latin = Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>\n${XXE}`, "latin1");
    const r = await read(new Uint8Array(latin));
    expect(r.doc.error).toBeUndefined();
    expect(r.elements[1]?.attr("description")).toBe("déjà");
    expect(r.doc.doctype?.entities).toHaveLength(1);
    // 0x82 is a low quotation mark in windows-1252, a control character in ISO-8859-1
    const cp = await read(
      new Uint8Array([...Buffer.from(`<?xml version="1.0" encoding="windows-1252"?><r a="`), 0x82, 0x22, 0x2f, 0x3e]),
    );
    expect(cp.elements[0]?.attr("a")).toBe("\u201a");
    const bom = await read(new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from("<r>é</r>")]));
    expect(bom.doc.error).toBeUndefined();
    expect(bom.texts.join("")).toBe("é");
  });

  it("reads EBCDIC documents in the code page their declaration names", async () => {
    // "<?xml" + ' version="1.0" encoding="IBM037"?>' + "<r a='!'>[x]</r>" in IBM037 (bytes from Python's cp037 codec)
    const ibm037 = Buffer.from(
      "4c6fa7949340a58599a28996957e7ff14bf07f4085958396848995877e7fc9c2d4f0f3f77f6f6e4c9940817e7d5a7d6ebaa7bb4c61996e",
      "hex",
    );
    const r = await read(new Uint8Array(ibm037));
    expect(r.doc.error).toBeUndefined();
    expect(r.elements[0]?.attr("a")).toBe("!");
    expect(r.texts.join("")).toBe("[x]");
    const head = new Uint8Array(ibm037);
    expect(decodeXmlHead(head)).toBe(`<?xml version="1.0" encoding="IBM037"?><r a='!'>[x]</r>`);
    const unknown = Buffer.from(ibm037.toString("hex").replace("c9c2d4f0f3f7", "c9c2d4f2f7f7"), "hex");
    expect(sniffXmlEncoding(new Uint8Array(unknown))).toEqual({ error: 'unsupported EBCDIC encoding "IBM277"' });
  });

  it("reports documents whose bytes the encoding cannot decode as MALFORMED", async () => {
    const odd = new Uint8Array([0xff, 0xfe, 0x3c, 0, 0x72, 0, 0x2f, 0, 0x3e]);
    expect((await read(odd)).doc.error?.message).toMatch(/not UTF-16LE/);
    const surrogate = new Uint8Array([0xff, 0xfe, 0, 0, 0x3c, 0, 0, 0, 0x00, 0xd8, 0, 0]);
    expect((await read(surrogate)).doc.error?.code).toBe("MALFORMED");
    const ascii16 = Buffer.from(`<?xml version="1.0" encoding="UTF-16"?><r/>`);
    expect((await read(new Uint8Array(ascii16))).doc.error?.message).toMatch(/unsupported declared encoding/);
  });
});

describe("SVG in UTF-16", () => {
  it("is detected as an SVG (the media detector decodes like an XML parser)", async () => {
    const { scanOne } = await import("../../helpers/scan.js");
    const svg =
      '<?xml version="1.0" encoding="UTF-16"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(svg, "utf16le")]);
    const file = await scanOne(utf16, "image.svg");
    expect(file.format).toBe("image-svg");
    expect(file.verdict).not.toBe("clean");
  });
});
