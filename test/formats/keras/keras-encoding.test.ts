/**
 * Keras configs in the encodings Python's `json.loads(bytes)` detects (UTF-8 with or without a
 * byte-order mark, UTF-16 and UTF-32 in either byte order, with or without a mark): Keras 3 reads a
 * `.keras` archive's `config.json` that way, so what it holds must be found whatever the encoding,
 * and bytes Python cannot decode must not come out clean. The samples come from
 * samples/generate/keras_encoding.py (which checks each config with CPython's json.loads).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import {
  decodeJsonBytes,
  detectJsonEncoding,
  type JsonBytesEncoding,
  jsonOpeningEncoding,
} from "../../../src/core/json-bytes.js";
import { detectJsonBytes, detectJsonUtf32 } from "../../../src/formats/keras/index.js";
import { detectText } from "../../../src/formats/text/index.js";
import type { Finding } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const AREA = "bypass/keras-encoding";

interface Expectation {
  verdict: string;
  rules?: string[];
  absentRules?: string[];
}

const expected = JSON.parse(readFileSync(join(SAMPLES, AREA, "expected.json"), "utf8")) as Record<string, Expectation>;

/** Text in one of Python's codecs (`-bom` ones with their byte-order mark). */
function encode(text: string, codec: string): Uint8Array {
  const units = [...text].map((c) => c.codePointAt(0)!);
  const utf16 = (be: boolean) => {
    const buf = Buffer.from(text, "utf16le");
    if (be) buf.swap16();
    return buf;
  };
  const utf32 = (be: boolean) => {
    const buf = Buffer.alloc(units.length * 4);
    for (const [i, u] of units.entries()) {
      if (be) buf.writeUInt32BE(u, i * 4);
      else buf.writeUInt32LE(u, i * 4);
    }
    return buf;
  };
  const parts: Record<string, () => Uint8Array> = {
    "utf-8": () => Buffer.from(text, "utf8"),
    "utf-8-sig": () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, "utf8")]),
    "utf-16-le": () => utf16(false),
    "utf-16-be": () => utf16(true),
    "utf-16-bom-le": () => Buffer.concat([Buffer.from([0xff, 0xfe]), utf16(false)]),
    "utf-16-bom-be": () => Buffer.concat([Buffer.from([0xfe, 0xff]), utf16(true)]),
    "utf-32-le": () => utf32(false),
    "utf-32-be": () => utf32(true),
    "utf-32-bom-le": () => Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32(false)]),
    "utf-32-bom-be": () => Buffer.concat([Buffer.from([0, 0, 0xfe, 0xff]), utf32(true)]),
  };
  return new Uint8Array(parts[codec]!());
}

/** The error `decodeJsonBytes` throws, or undefined. */
function decodeError(bytes: number[]): { code: string; offset: number | undefined } | undefined {
  try {
    decodeJsonBytes(new Uint8Array(bytes));
    return undefined;
  } catch (error) {
    if (!isModelgateError(error)) throw error;
    return { code: error.code, offset: error.offset };
  }
}

describe("detectJsonEncoding (Python's json.detect_encoding rules)", () => {
  it.each<[number[], JsonBytesEncoding]>([
    [[0xff, 0xfe, 0, 0, 0x7b, 0, 0, 0], "utf-32"],
    [[0, 0, 0xfe, 0xff, 0, 0, 0, 0x7b], "utf-32"],
    [[0xff, 0xfe, 0x7b, 0], "utf-16"],
    [[0xfe, 0xff, 0, 0x7b], "utf-16"],
    [[0xef, 0xbb, 0xbf, 0x7b, 0x7d], "utf-8-sig"],
    [[0, 0, 0, 0x7b], "utf-32-be"],
    [[0, 0x7b, 0, 0x7d], "utf-16-be"],
    [[0x7b, 0, 0, 0], "utf-32-le"],
    [[0x7b, 0, 0x7d, 0], "utf-16-le"],
    [[0x7b, 0, 0, 0x7d], "utf-16-le"],
    [[0, 0x31], "utf-16-be"],
    [[0x31, 0], "utf-16-le"],
    [[0x31, 0, 0], "utf-8"],
    [[0x7b, 0x7d], "utf-8"],
    [[], "utf-8"],
  ])("%j is %s", (bytes, encoding) => {
    expect(detectJsonEncoding(new Uint8Array(bytes))).toBe(encoding);
  });
});

describe("decodeJsonBytes", () => {
  const text = '{"a": "é€𝄞", "b": [1, 2]}';
  it.each([
    "utf-8",
    "utf-8-sig",
    "utf-16-le",
    "utf-16-be",
    "utf-16-bom-le",
    "utf-16-bom-be",
    "utf-32-le",
    "utf-32-be",
    "utf-32-bom-le",
    "utf-32-bom-be",
  ])("decodes %s, the byte-order mark dropped", (codec) => {
    expect(decodeJsonBytes(encode(text, codec)).text).toBe(text);
  });

  it("keeps a second byte-order mark (Python's json then refuses the text)", () => {
    expect(decodeJsonBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x7b, 0x7d])).text).toBe("\ufeff{}");
  });

  it("lets lone surrogates through, as surrogatepass does", () => {
    // UTF-8: an encoded surrogate (ED A0 80); UTF-16: an unpaired unit; UTF-32: a surrogate value.
    expect(decodeJsonBytes(new Uint8Array([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d])).text).toBe('["\ud800"]');
    expect(decodeJsonBytes(new Uint8Array([0x5b, 0, 0x22, 0, 0x00, 0xd8, 0x22, 0, 0x5d, 0])).text).toBe('["\ud800"]');
    expect(decodeJsonBytes(new Uint8Array([0x5b, 0, 0, 0, 0x00, 0xdc, 0, 0])).text).toBe("[\udc00");
  });

  it.each<[string, number[], number]>([
    ["an invalid UTF-8 start byte", [0x7b, 0x22, 0xff, 0x22], 2],
    ["an overlong UTF-8 form", [0x7b, 0x22, 0xc0, 0x80, 0x22], 2],
    ["an overlong three-byte form", [0x7b, 0x22, 0xe0, 0x80, 0x80, 0x22], 2],
    ["UTF-8 past U+10FFFF", [0x7b, 0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], 2],
    ["UTF-8 cut short", [0x7b, 0x22, 0xe2, 0x82], 2],
    ["a bad byte after a UTF-8 byte-order mark", [0xef, 0xbb, 0xbf, 0x7b, 0xfe], 4],
    ["UTF-16 of odd length", [0x7b, 0, 0x7d, 0, 0x20], 4],
    ["UTF-16 with a mark, of odd length", [0xfe, 0xff, 0, 0x7b, 0, 0x7d, 0], 6],
    ["UTF-32 past U+10FFFF", [0x7b, 0, 0, 0, 0, 0, 0x11, 0], 4],
    ["UTF-32 cut short", [0, 0, 0, 0x7b, 0, 0], 4],
  ])("raises on %s (at the offending byte)", (_what, bytes, offset) => {
    expect(decodeError(bytes)).toEqual({ code: "MALFORMED", offset });
  });

  it("goes on when asked to (lossy), for a look inside", () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
    expect(decodeJsonBytes(bytes, { lossy: true }).text).toBe('{"\ufffd":1}');
    expect(decodeJsonBytes(new Uint8Array([0x7b, 0, 0x7d, 0, 0x20]), { lossy: true }).text).toBe("{}");
  });

  it("decodes a large UTF-16 document whole", () => {
    const big = `[${'"x",'.repeat(200_000)}"\ud800"]`;
    expect(decodeJsonBytes(encode(big, "utf-16-be")).text).toBe(big);
  });
});

describe("JSON detection around the text sniffer", () => {
  /** The three detectors in rank order (189, 190, 191), as the sniffer runs them. */
  const sniff = (bytes: Uint8Array) => {
    const input = { head: bytes, tail: bytes, size: bytes.length, name: "x" };
    return detectJsonUtf32(input) ?? detectText(input) ?? detectJsonBytes(input);
  };
  it.each([
    "utf-8",
    "utf-8-sig",
    "utf-16-le",
    "utf-16-be",
    "utf-16-bom-le",
    "utf-16-bom-be",
    "utf-32-le",
    "utf-32-be",
    "utf-32-bom-le",
    "utf-32-bom-be",
  ])("reads JSON in %s as JSON", (codec) => {
    expect(sniff(encode('{"class_name": "Sequential"}', codec))?.format).toBe("json");
  });
  it("takes UTF-32 before the text sniffer and nothing else", () => {
    const input = (codec: string) => {
      const head = encode('{"a": 1}', codec);
      return { head, tail: head, size: head.length, name: "x" };
    };
    expect(detectJsonUtf32(input("utf-32-bom-le"))?.format).toBe("json");
    expect(detectJsonUtf32(input("utf-16-le"))).toBeUndefined();
    expect(detectJsonUtf32(input("utf-8"))).toBeUndefined();
    expect(detectJsonBytes(input("utf-32-le"))).toBeUndefined();
  });
  it("reads UTF-8 JSON the text sniffer refuses (an encoded surrogate, an invalid byte) as JSON", () => {
    expect(sniff(new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]))?.format).toBe("json");
    expect(sniff(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))?.format).toBe("json");
  });
  it("leaves bytes that do not open like JSON alone", () => {
    expect(sniff(new Uint8Array([0x7b, 0, 0, 0, 0x10, 0x20, 0x30, 0x40]))).toBeUndefined();
    expect(sniff(encode("hello world", "utf-16-le"))).toBeUndefined();
    expect(jsonOpeningEncoding(new Uint8Array([1, 0, 0, 0]))).toBeUndefined();
  });
});

describe.each(Object.entries(expected))(`samples/${AREA}/%s`, (file, want) => {
  it(`is ${want.verdict} with ${(want.rules ?? []).join(", ") || "no rules"}`, async () => {
    const report = await scan(join(SAMPLES, AREA, file));
    const result = report.files[0]!;
    const findings = result.findings;
    const ids = new Set<string>(findings.map((f) => f.ruleId));
    const context = JSON.stringify(findings.map((f) => `${f.severity} ${f.ruleId} ${f.path} ${f.message}`));
    expect(result.verdict, context).toBe(want.verdict);
    for (const rule of want.rules ?? []) expect(ids.has(rule), `${rule} missing: ${context}`).toBe(true);
    for (const rule of want.absentRules ?? []) expect(ids.has(rule), `${rule} present: ${context}`).toBe(false);
    expect(result.verdict).not.toBe("clean");
    // The member is read as JSON whatever its encoding.
    expect(result.members?.find((m) => m.path.endsWith("!config.json"))?.format).toBe("json");
  });
});

describe("every encoding gives the finding the UTF-8 config gives", () => {
  const keyOf = (f: Finding) => JSON.stringify([f.ruleId, f.severity, f.evidence]);
  const kerasFindings = async (file: string) =>
    (await scan(join(SAMPLES, AREA, file))).files[0]!.findings.filter((f) => f.ruleId.startsWith("keras/")).map(keyOf);
  it.each(Object.keys(expected).filter((f) => /^lambda_utf-/.test(f)))("%s", async (file) => {
    const reference = await kerasFindings("lambda_utf-8.keras");
    expect(reference.length).toBeGreaterThan(0);
    expect(await kerasFindings(file)).toEqual(reference);
  });
});

describe("stand-alone Keras model JSON", () => {
  const config = JSON.stringify({
    module: "keras",
    class_name: "Sequential",
    config: { name: "s", layers: [{ module: "os", class_name: "system", config: "id", registered_name: null }] },
    registered_name: null,
  });
  it.each(["utf-16-le", "utf-32-be", "utf-32-bom-le"])("is analysed in %s", async (codec) => {
    const file = await scanOne(encode(config, codec), "model.json");
    expect(file.findings.map((f) => f.ruleId)).toContain("keras/foreign-module");
    expect(file.verdict).toBe("malicious");
  });
});
