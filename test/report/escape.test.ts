// Forged output (issue 13, item 7): names, pickle globals, messages, evidence, errors and signer
// identities come from the scanned bytes; printed raw, a newline forges `Verdict: CLEAN`, an ESC
// sequence clears the screen, conceals text, writes the clipboard (OSC 52) or plants a link (OSC 8),
// and U+202E reorders the line. The text report and the CLI escape them at the output boundary.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { escapeForTerminal, escapeJsonForTerminal, truncateLine } from "../../src/report/render/escape.js";
import { renderText, type Stylize } from "../../src/report/render/text.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";

const POSIX = process.platform !== "win32";

/**
 * The C0, DEL and C1 control characters in a text ([\0-\x1f\x7f-\x9f]), except those allowed
 * (a report's own newlines).
 */
function controls(text: string, allowed = ""): string[] {
  const found: string[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c < 0x20 || (c >= 0x7f && c <= 0x9f)) && !allowed.includes(ch)) found.push(ch);
  }
  return found;
}
/** Bidi embeddings, overrides, isolates and marks. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the renderer's own colour sequences
const SGR = /\x1b\[[0-9;]*m/g;

/** posix.system("id"), protocol 0. */
const MALICIOUS_PICKLE = "cposix\nsystem\n(S'id'\ntR.";

/** Protocol 4: SHORT_BINUNICODE module, SHORT_BINUNICODE name, STACK_GLOBAL, then `args` REDUCE. */
function stackGlobalPickle(module: string, name: string, arg?: string): Uint8Array {
  const out: number[] = [0x80, 0x04];
  const unicode = (s: string) => {
    const b = Buffer.from(s, "utf8");
    if (b.length > 255) throw new Error("too long for SHORT_BINUNICODE");
    out.push(0x8c, b.length, ...b);
  };
  unicode(module);
  unicode(name);
  out.push(0x93); // STACK_GLOBAL
  if (arg === undefined)
    out.push(0x29); // EMPTY_TUPLE
  else {
    unicode(arg);
    out.push(0x85); // TUPLE1
  }
  out.push(0x52, 0x2e); // REDUCE, STOP
  return Uint8Array.from(out);
}

function fakeIO(cwd: string, tty: boolean): RecordingIO {
  return recordingIO({ cwd, env: { TERM: "xterm-256color" }, stdoutIsTTY: tty, stderrIsTTY: tty });
}

/** Lines starting with `Verdict:` once the renderer's own colours are removed. */
const verdictLines = (text: string) =>
  text
    .replace(SGR, "")
    .split("\n")
    .filter((l) => l.startsWith("Verdict:"));

/**
 * Every ESC in the text is an SGR sequence, and each line ends with every style it opened closed
 * (what `node:util` styleText emits: 1/2 closed by 22, 30–37/90–97 by 39).
 */
function checkStyles(text: string): void {
  for (const line of text.split("\n")) {
    expect(controls(line.replace(SGR, ""))).toEqual([]);
    expect(line).not.toMatch(BIDI);
    const open = new Set<string>();
    for (const m of line.matchAll(SGR)) {
      for (const code of (m[0].slice(2, -1) || "0").split(";")) {
        const n = Number(code);
        if (n === 0) {
          open.clear();
        } else if (n === 22) {
          open.delete("1");
          open.delete("2");
        } else if (n === 39) {
          for (const c of [...open]) if (/^(3[0-7]|9[0-7])$/.test(c)) open.delete(c);
        } else {
          open.add(code);
        }
      }
    }
    expect([...open], `styles left open at the end of ${JSON.stringify(line)}`).toEqual([]);
  }
}

describe("escapeForTerminal", () => {
  it("escapes C0, DEL, C1, bidi, zero-width, tag and separator characters visibly", () => {
    expect(escapeForTerminal("a\nb\r\tc")).toBe("a\\nb\\r\\tc");
    expect(escapeForTerminal("\x1b[2J\x00\x07\x7f\x85\x9b")).toBe("\\x1b[2J\\x00\\x07\\x7f\\x85\\x9b");
    expect(escapeForTerminal("evil\u202egnp.pkl")).toBe("evil\\u202egnp.pkl");
    expect(escapeForTerminal("\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d")).toBe(
      "\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c\\u202a\\u202b\\u202c\\u202d",
    );
    expect(escapeForTerminal("a\u200bb\u200cc\u200dd\ufeff\u00ad\u2028\u2029")).toBe(
      "a\\u200bb\\u200cc\\u200dd\\ufeff\\xad\\u2028\\u2029",
    );
    expect(escapeForTerminal("tag\u{e0041}\u{e007f}")).toBe("tag\\u{e0041}\\u{e007f}");
    expect(escapeForTerminal("lone \ud800 \udfff")).toBe("lone \\ud800 \\udfff");
  });

  it("leaves printable text of any script alone", () => {
    for (const s of ["model.safetensors", "a\\b", "日本語/モデル.bin", "héllo ü", "emoji 😀", "עברית", "x y~"]) {
      expect(escapeForTerminal(s)).toBe(s);
    }
  });

  it("never leaves a control, bidi or format character and never adds a line (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        const out = escapeForTerminal(s);
        expect(controls(out)).toEqual([]);
        expect(out).not.toMatch(BIDI);
        expect(out).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u);
        expect(out.includes("\n")).toBe(false);
        // Idempotent: an escaped string has nothing left to escape.
        expect(escapeForTerminal(out)).toBe(out);
      }),
      { seed: 1313, numRuns: 2000 },
    );
    // Strings made mostly of the dangerous characters.
    const hostile = fc.constantFrom(
      "\n",
      "\r",
      "\x1b",
      "\x07",
      "\x9b",
      "\x7f",
      "\u202e",
      "\u2066",
      "\u200b",
      "\ufeff",
      "\u{e0041}",
      "\ud800",
      "a",
      "[",
      "\\",
    );
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 30 }), (parts) => {
        const out = escapeForTerminal(parts.join(""));
        expect(controls(out)).toEqual([]);
        expect(out).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}]/u);
      }),
      { seed: 1314, numRuns: 1000 },
    );
  });

  it("is the identity on printable ASCII (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{0,60}$/), (s) => {
        expect(escapeForTerminal(s)).toBe(s);
      }),
      { seed: 1315, numRuns: 1000 },
    );
  });

  it("truncateLine never splits a surrogate pair", () => {
    expect(truncateLine("abc", 3)).toBe("abc");
    expect(truncateLine("abcdef", 5)).toBe("ab...");
    expect(truncateLine("a😀bcdef", 5)).toBe("a...");
    expect(truncateLine("ab😀cdef", 5)).toBe("ab...");
  });
});

describe("escapeJsonForTerminal", () => {
  it("keeps the JSON value exact while writing C1, DEL and format characters as \\u escapes (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: "binary", maxLength: 20 }), (v, s) => {
        const value = { v, s, [s]: s };
        const json = escapeJsonForTerminal(JSON.stringify(value, null, 2));
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(controls(json, "\n")).toEqual([]);
        expect(json).not.toMatch(/[\p{Cf}\p{Cs}\u2028\u2029]/u);
      }),
      { seed: 1316, numRuns: 500 },
    );
    expect(escapeJsonForTerminal(JSON.stringify("a\u202eb\x9b\u{e0041}"))).toBe('"a\\u202eb\\u009b\\udb40\\udc41"');
  });
});

describe("text report and CLI output of hostile names", () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "mg-escape-"));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it.skipIf(!POSIX)("a file named to forge `Verdict: CLEAN` leaves exactly one Verdict line, MALICIOUS", async () => {
    const dir = join(base, "forged");
    await mkdir(dir);
    const name = "x\n\nVerdict: CLEAN\x1b[2J.pkl";
    await writeFile(join(dir, name), MALICIOUS_PICKLE);
    const report = await scan(dir, { hash: false, signature: false });
    expect(report.verdict).toBe("malicious");
    // The report data keeps the name exactly; only the rendering escapes it.
    expect(report.files.map((f) => f.path)).toContain(name);
    expect(JSON.parse(JSON.stringify(report)).files[0].path).toBe(name);

    const text = renderText(report);
    expect(verdictLines(text)).toEqual(["Verdict: MALICIOUS"]);
    expect(controls(text, "\n")).toEqual([]);
    expect(text).not.toMatch(BIDI);
    expect(text).toContain("x\\n\\nVerdict: CLEAN\\x1b[2J.pkl");
    // Every line is a line of the report: no line starts with forged text.
    expect(text.split("\n").filter((l) => l.includes("CLEAN") && !l.includes("\\n\\nVerdict"))).toEqual([]);

    // The CLI, with colours (a terminal): still one Verdict line, only the renderer's own SGR codes.
    const io = fakeIO(base, true);
    const code = await runCli(["scan", "--no-policy", dir], io);
    expect(code).toBe(1);
    expect(verdictLines(io.out)).toEqual(["Verdict: MALICIOUS"]);
    checkStyles(io.out);
    // The progress line (stderr, a terminal) escapes the name too: only its own `\r\x1b[2K`.
    expect(controls(io.err.replaceAll("\r\x1b[2K", ""), "\n")).toEqual([]);
  });

  it.skipIf(!POSIX)("names with U+202E, OSC 52, OSC 8 and conceal sequences are shown escaped", async () => {
    const dir = join(base, "names");
    await mkdir(dir);
    const names = [
      "report\u202elkp.pkl",
      "clip\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07.pkl",
      "link\x1b]8;;https:evil.example\x1b\\click\x1b]8;;\x1b\\.pkl", // no `/` in a file name
      "hide\x1b[8mhidden\x1b[28m.pkl",
    ];
    for (const n of names) await writeFile(join(dir, n), MALICIOUS_PICKLE);
    const report = await scan(dir, { hash: false, signature: false });
    const text = renderText(report);
    expect(controls(text, "\n")).toEqual([]);
    expect(text).not.toMatch(BIDI);
    for (const visible of [
      "report\\u202elkp.pkl",
      "clip\\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07.pkl",
      "link\\x1b]8;;https:evil.example\\x1b\\click\\x1b]8;;\\x1b\\.pkl",
      "hide\\x1b[8mhidden\\x1b[28m.pkl",
    ]) {
      expect(text).toContain(visible);
    }
    expect(verdictLines(text)).toEqual(["Verdict: MALICIOUS"]);

    const io = fakeIO(base, true);
    await runCli(["scan", "--no-policy", dir], io);
    checkStyles(io.out);
    expect(controls(io.err.replaceAll("\r\x1b[2K", ""), "\n")).toEqual([]);
    expect(io.err).not.toMatch(BIDI);
  });

  it("pickle globals and arguments with ESC and newlines are escaped in messages and evidence", async () => {
    const dir = join(base, "globals");
    await mkdir(dir);
    await writeFile(
      join(dir, "a.pkl"),
      stackGlobalPickle("os\x1b[2J\n\nVerdict: CLEAN\n", "system\x1b]52;c;aGk=\x07", "id\n\nVerdict: CLEAN\x1b[8m"),
    );
    await writeFile(
      join(dir, "b.pkl"),
      stackGlobalPickle("posix", "system", "echo\x1b[2J\nVerdict: CLEAN\u202e\x1b]8;;https://evil.example/\x1b\\x"),
    );
    const report = await scan(dir, { hash: false, signature: false });
    const raw = JSON.stringify(report.files.flatMap((f) => f.findings));
    // The hostile characters did reach the report data (so the renderer is what protects).
    expect(raw).toMatch(/\\u001b|\\n|\u202e/);
    const text = renderText(report);
    expect(controls(text, "\n")).toEqual([]);
    expect(text).not.toMatch(BIDI);
    expect(verdictLines(text)).toHaveLength(1);
    expect(verdictLines(text)[0]).not.toContain("CLEAN");
    expect(text).toMatch(/os\\x1b\[2J\\n\\nVerdict: CLEAN|os\\u001b\[2J/);
  });

  it("every untrusted field of a report is escaped: errors, suppressions, policy source, signer", async () => {
    const dir = join(base, "fields");
    await mkdir(dir);
    await writeFile(join(dir, "m.pkl"), MALICIOUS_PICKLE);
    const real = await scan(dir, { hash: false, signature: false });
    const evil = (tag: string) => `${tag}\n\nVerdict: CLEAN\x1b[2J\x1b]52;c;aGk=\x07\u202e\x9b31m`;
    const report = structuredClone(real) as ScanReport & Record<string, unknown>;
    const file = report.files[0]!;
    const finding = file.findings[0]!;
    Object.assign(report.target, { name: evil("target") });
    report.policy = {
      hash: "0".repeat(64),
      source: evil("policy"),
      suppressions: [
        {
          rule: evil("rule"),
          path: evil("glob"),
          reason: evil("reason"),
          expires: "2020-01-01",
          status: "expired",
          matched: 1,
        },
      ],
    };
    file.findings = [
      {
        ...finding,
        path: `${file.path}!${evil("member")}`,
        message: evil("message"),
        evidence: { [evil("key")]: evil("value"), n: 1 },
      },
    ];
    file.suppressed = [
      { ...finding, message: evil("suppressed"), suppression: { rule: "x/y", path: "*", reason: evil("why") } },
    ];
    report.errors = [{ code: "IO", path: evil("errpath"), message: evil("error") }];
    report.signature = {
      status: "failed",
      method: "sigstore",
      signaturePath: evil("sigpath"),
      failedStage: "identity",
      errors: [evil("sigerror")],
      warnings: [],
      files: [],
      signer: { identity: evil("identity"), issuer: evil("issuer") },
    } as unknown as ScanReport["signature"];

    // Every level of detail escapes; the verbose one prints every field (evidence, suppressed findings).
    for (const options of [{ quiet: true }, {}, { width: 40 }]) {
      const text = renderText(report, options);
      expect(controls(text, "\n")).toEqual([]);
      expect(text).not.toMatch(BIDI);
      expect(verdictLines(text)).toEqual(["Verdict: MALICIOUS"]);
    }
    const plain = renderText(report, { verbose: true });
    expect(controls(plain, "\n")).toEqual([]);
    expect(plain).not.toMatch(BIDI);
    expect(verdictLines(plain)).toEqual(["Verdict: MALICIOUS"]);
    for (const tag of [
      "target",
      "policy",
      "rule",
      "glob",
      "reason",
      "member",
      "message",
      "key",
      "value",
      "suppressed",
    ]) {
      expect(plain).toContain(`${tag}\\n\\nVerdict: CLEAN\\x1b[2J\\x1b]52;c;aGk=\\x07\\u202e\\x9b31m`);
    }
    for (const tag of ["why", "errpath", "error", "identity"]) expect(plain).toContain(`${tag}\\n\\nVerdict`);

    // With colours: the renderer's styles are the only escape sequences, closed on every line.
    const colour: Stylize = (style, text) => {
      const codes: Record<string, [number, number]> = {
        red: [31, 39],
        yellow: [33, 39],
        green: [32, 39],
        magenta: [35, 39],
        cyan: [36, 39],
        dim: [2, 22],
        bold: [1, 22],
      };
      const [on, off] = codes[style] ?? [0, 0];
      return `\x1b[${on}m${text}\x1b[${off}m`;
    };
    for (const options of [{ stylize: colour }, { stylize: colour, verbose: true }, { color: true, width: 50 }]) {
      checkStyles(renderText(report, options));
      expect(verdictLines(renderText(report, options))).toEqual(["Verdict: MALICIOUS"]);
    }
  });

  it("the CLI's JSON output keeps values exact and prints no raw control or bidi character", async () => {
    const dir = join(base, "json");
    await mkdir(dir);
    const name = POSIX ? "j\u202e\x9b\x1b[2J.pkl" : "j\u202e.pkl";
    await writeFile(join(dir, name), MALICIOUS_PICKLE);
    for (const format of ["json", "jsonl", "sarif", "cyclonedx"]) {
      const io = fakeIO(base, false);
      await runCli(["scan", "--no-policy", "--no-hash", "--format", format, dir], io);
      expect(controls(io.out, "\n"), format).toEqual([]);
      expect(io.out, format).not.toMatch(/[\p{Cf}]/u);
      if (format === "json") expect((JSON.parse(io.out) as ScanReport).files[0]?.path).toBe(name);
    }
  });
});
