/**
 * Differential test of the text decoders of protocol 0 and BINUNICODE against CPython: the cases
 * in data/text-literals.json (written by data/gen_text_literals.py with /usr/bin/python3) record
 * what `pickle.loads` makes of UNICODE lines (raw-unicode-escape: `\uXXXX` only after an odd run
 * of backslashes, strict errors), STRING lines (quoted, escape-decoded, read as latin-1) and
 * BINUNICODE bytes (UTF-8, surrogatepass) and PUT memo indexes, or that it raises; the engine
 * must agree on every one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { OpArg } from "../../../src/formats/pickle/decoder.js";
import { decimalLineValue, parseQuotedString, rawUnicodeEscape } from "../../../src/formats/pickle/literals.js";
import { decodeUtf8 } from "../../../src/formats/pickle/values.js";

interface Case {
  readonly hex: string;
  readonly text?: string;
  readonly error?: string;
}
const DATA = JSON.parse(readFileSync(join(import.meta.dirname, "data", "text-literals.json"), "utf8")) as {
  unicode: Case[];
  string: Case[];
  binunicode: Case[];
  decimal: { hex: string; index?: number; error?: string }[];
};

function attempt(f: () => string): { text: string } | { error: true } {
  try {
    return { text: f() };
  } catch {
    return { error: true };
  }
}

function expected(c: Case): { text: string } | { error: true } {
  return c.error !== undefined ? { error: true } : { text: c.text as string };
}

describe("text literals decode as CPython's unpickler decodes them", () => {
  it("UNICODE (raw-unicode-escape)", () => {
    expect(DATA.unicode.length).toBeGreaterThan(400);
    for (const c of DATA.unicode) {
      const b = Buffer.from(c.hex, "hex");
      expect({ hex: c.hex, ...attempt(() => rawUnicodeEscape(b, 0, b.length, 0)) }).toEqual({
        hex: c.hex,
        ...expected(c),
      });
    }
  });

  it("STRING (escape-decoded, latin-1)", () => {
    for (const c of DATA.string) {
      const b = Buffer.from(c.hex, "hex");
      const a = { buf: b, start: 0, end: b.length } as unknown as OpArg;
      expect({ hex: c.hex, ...attempt(() => parseQuotedString(a, 0)) }).toEqual({ hex: c.hex, ...expected(c) });
    }
  });

  it("BINUNICODE (UTF-8, surrogatepass)", () => {
    for (const c of DATA.binunicode) {
      const b = Buffer.from(c.hex, "hex");
      const d = decodeUtf8(b, 0, b.length);
      const got = d.ok ? { text: d.text } : { error: true };
      expect({ hex: c.hex, ...got }).toEqual({ hex: c.hex, ...expected(c) });
    }
  });

  it("PUT memo indexes (PyLong_FromString, base 10: underscores between digits, C whitespace)", () => {
    expect(DATA.decimal.length).toBeGreaterThan(200);
    for (const c of DATA.decimal) {
      const v = decimalLineValue(Buffer.from(c.hex, "hex").toString("latin1"));
      const got = v === undefined || v < 0 ? { error: true } : { index: v };
      expect({ hex: c.hex, ...got }).toEqual({
        hex: c.hex,
        ...(c.error !== undefined ? { error: true } : { index: c.index }),
      });
    }
  });

  it("an even run of backslashes before u escapes nothing (a str the loader keeps seven characters long)", () => {
    const b = Buffer.from("\\\\u0041", "latin1");
    expect(rawUnicodeEscape(b, 0, b.length)).toBe("\\\\u0041");
    const odd = Buffer.from("\\\\\\u0041", "latin1");
    expect(rawUnicodeEscape(odd, 0, odd.length)).toBe("\\\\A");
  });
});
