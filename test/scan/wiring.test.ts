/**
 * Guards of the wiring between parts that nothing else connects:
 * - every analyzer in the registry is handed detections of each format it declares, when the
 *   engine scans the samples (a format only an analyzer's `refineFormat` names is settled after
 *   the engine picked the analyzers, so it never reaches one);
 * - every registered rule is emitted somewhere in `src/`, and every rule id `src/` writes is
 *   registered.
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Analyzer } from "../../src/core/analyzer.js";
import { hasJoblibArrayWrapper } from "../../src/formats/joblib/layout.js";
import { ANALYZERS } from "../../src/registry/catalog.js";
import { RULES } from "../../src/registry/rules.js";
import type { FileReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { REPO_ROOT, SAMPLES } from "../helpers/scan.js";

const SRC = join(REPO_ROOT, "src");

/**
 * Analyzer formats no detection reaches yet, with the reason. An entry must go once its format is
 * wired: the test below fails while an entry lists a format that is dispatched.
 */
const KNOWN_UNWIRED: Readonly<Record<string, string>> = {};

// ---------------------------------------------------------------- analyzers reached by samples

/** Analyzer name → formats of the detections it was handed. */
const dispatched = new Map<string, Set<string>>();
const originals = new Map<Analyzer, Analyzer["analyze"]>();
/** Reports of the joblib samples, scanned with the rest. */
const joblibReports = new Map<string, FileReport>();

const JOBLIB_SAMPLES = readdirSync(join(SAMPLES, "pickle", "joblib"))
  .filter((n) => n.endsWith(".joblib"))
  .map((n) => join(SAMPLES, "pickle", "joblib", n));

/**
 * Sample files to scan: one per folder and extension (the samples of one folder and extension
 * exercise the same formats; scanning all of them takes seconds), the joblib samples, and no
 * decompression bombs (they take long to hit their budget and exercise nothing else).
 */
function sampleFiles(): string[] {
  const seen = new Set<string>();
  const files: string[] = [...JOBLIB_SAMPLES];
  const entries = readdirSync(SAMPLES, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  for (const path of entries) {
    const rel = relative(SAMPLES, path);
    if (rel.startsWith(`generate${sep}`) || /(^|[/\\])bomb\./.test(rel) || rel.endsWith("expected.json")) continue;
    const key = `${rel.slice(0, rel.length - (rel.split(sep).at(-1)?.length ?? 0))}|${extname(rel)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!files.includes(path)) files.push(path);
  }
  return files;
}

beforeAll(async () => {
  for (const analyzer of ANALYZERS) {
    const analyze = analyzer.analyze;
    originals.set(analyzer, analyze);
    (analyzer as { analyze: Analyzer["analyze"] }).analyze = (ctx) => {
      const formats = dispatched.get(analyzer.name) ?? new Set<string>();
      dispatched.set(analyzer.name, formats);
      formats.add(ctx.detection.format);
      return analyze.call(analyzer, ctx);
    };
  }
  const queue = sampleFiles();
  const worker = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      const report = await scan(path, { hash: false, signature: false });
      if (JOBLIB_SAMPLES.includes(path)) joblibReports.set(path, report.files[0]!);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}, 30_000);

afterAll(() => {
  for (const [analyzer, analyze] of originals) (analyzer as { analyze: Analyzer["analyze"] }).analyze = analyze;
});

describe("every analyzer is reached", () => {
  it("by detections of each format it declares, when the engine scans the samples", () => {
    const missing: string[] = [];
    const stale: string[] = [];
    for (const analyzer of ANALYZERS) {
      for (const format of analyzer.formats) {
        const key = `${analyzer.name}:${format}`;
        const reached = dispatched.get(analyzer.name)?.has(format) === true;
        if (!reached && KNOWN_UNWIRED[key] === undefined) missing.push(key);
        if (reached && KNOWN_UNWIRED[key] !== undefined) stale.push(key);
      }
    }
    expect(missing, "analyzer:format never dispatched over samples/ (wire a detector, or add a sample)").toEqual([]);
    expect(stale, "wired now: remove from KNOWN_UNWIRED").toEqual([]);
    for (const key of Object.keys(KNOWN_UNWIRED)) {
      const [name, format] = key.split(":");
      expect(
        ANALYZERS.some((a) => a.name === name && a.formats.some((f) => f === format)),
        `${key} is not registered`,
      ).toBe(true);
    }
  });

  it("joblib files reach the joblib analyzer (joblib.compression is its fact alone)", () => {
    const emitters = sourceFiles().filter((f) => readFileSync(f, "utf8").includes('"joblib.compression"'));
    expect(emitters.map((f) => relative(SRC, f))).toEqual([join("formats", "joblib", "analyzer.ts")]);
    const plain = JOBLIB_SAMPLES.filter((p) => joblibReports.get(p)?.format === "joblib");
    expect(plain.length, "uncompressed joblib samples").toBeGreaterThan(0);
    const reached = plain.filter((p) => joblibReports.get(p)?.facts?.["joblib.compression"] !== undefined);
    if (KNOWN_UNWIRED["joblib:joblib"] !== undefined) {
      // still unwired: the files end up refined to joblib by the pickle analyzer, never analysed as joblib
      expect(reached).toEqual([]);
      expect(dispatched.get("joblib")).toBeUndefined();
    } else {
      expect(reached).toEqual(plain);
    }
  });

  it("the joblib layout is recognised in the head of every uncompressed joblib sample with arrays", () => {
    const plain = JOBLIB_SAMPLES.filter((p) => joblibReports.get(p)?.format === "joblib");
    for (const path of plain) expect(hasJoblibArrayWrapper(readFileSync(path).subarray(0, 65_536)), path).toBe(true);
    for (const path of [join(SAMPLES, "pickle", "numpy", "object.npy"), join(SAMPLES, "hub", "pytorch_model.bin")]) {
      expect(hasJoblibArrayWrapper(readFileSync(path).subarray(0, 65_536)), path).toBe(false);
    }
  });
});

// ---------------------------------------------------------------- rules emitted and registered

/** Every `.ts` file under src/. */
function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

interface Literal {
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

interface Lexed {
  /** The source with comments blanked (same offsets). */
  readonly code: string;
  /** String literals and templates without substitutions. */
  readonly literals: Literal[];
  /** Why the lexer lost its way, if it did (an unterminated string). */
  readonly error?: string;
}

/** Keywords after which `/` starts a regular expression. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
  "instanceof",
]);

/**
 * A small TypeScript lexer, enough to tell string literals from comments and regular expressions
 * (parsing src/ with the compiler takes seconds).
 */
function lex(src: string): Lexed {
  const code = src.split("");
  const literals: Literal[] = [];
  let error: string | undefined;
  let prev = ""; // last significant character outside strings and comments
  let word = ""; // last identifier

  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (code[k] !== "\n") code[k] = " ";
  };
  const quoted = (i: number): number => {
    const q = src[i];
    let j = i + 1;
    let value = "";
    while (j < src.length && src[j] !== q) {
      if (src[j] === "\n") {
        error ??= `unterminated string at ${i}`;
        return j;
      }
      if (src[j] === "\\") {
        value += src[j + 1] === "\n" ? "" : (src[j + 1] ?? "");
        j += 2;
      } else value += src[j++];
    }
    literals.push({ value, start: i, end: j + 1 });
    return j + 1;
  };
  const template = (i: number): number => {
    let j = i + 1;
    let value = "";
    let plain = true;
    while (j < src.length && src[j] !== "`") {
      if (src[j] === "\\") {
        value += src[j + 1] ?? "";
        j += 2;
      } else if (src[j] === "$" && src[j + 1] === "{") {
        plain = false;
        j = codeUntilBrace(j + 2);
      } else value += src[j++];
    }
    if (plain) literals.push({ value, start: i, end: j + 1 });
    return j + 1;
  };
  const regex = (i: number): number => {
    let j = i + 1;
    let inClass = false;
    while (j < src.length) {
      const c = src[j];
      if (c === "\n") {
        error ??= `unterminated regular expression at ${i}`;
        return j;
      }
      if (c === "\\") j += 2;
      else {
        if (c === "[") inClass = true;
        else if (c === "]") inClass = false;
        else if (c === "/" && !inClass) break;
        j++;
      }
    }
    j++;
    while (/[a-z]/i.test(src[j] ?? "")) j++;
    return j;
  };
  /** Lexes code from `i`; inside a template substitution, up to its closing brace (returns after it). */
  const codeUntilBrace = (start: number, top = false): number => {
    let depth = 0;
    let i = start;
    while (i < src.length) {
      const c = src[i]!;
      const next = src[i + 1];
      if (c === "/" && next === "/") {
        const end = src.indexOf("\n", i);
        const stop = end === -1 ? src.length : end;
        blank(i, stop);
        i = stop;
      } else if (c === "/" && next === "*") {
        const end = src.indexOf("*/", i + 2);
        const stop = end === -1 ? src.length : end + 2;
        blank(i, stop);
        i = stop;
      } else if (c === '"' || c === "'") {
        i = quoted(i);
        prev = '"';
        word = "";
      } else if (c === "`") {
        i = template(i);
        prev = "`";
        word = "";
      } else if (c === "/") {
        if (prev === "" || "(,=:[!&|?{};+-*%<>~^".includes(prev) || REGEX_AFTER_WORD.has(word)) i = regex(i);
        else i++;
        prev = "/";
        word = "";
      } else if (/\s/.test(c)) {
        i++;
      } else if (/[A-Za-z0-9_$]/.test(c)) {
        let j = i;
        while (j < src.length && /[A-Za-z0-9_$]/.test(src[j]!)) j++;
        word = src.slice(i, j);
        prev = "a";
        i = j;
      } else {
        if (c === "{") depth++;
        if (c === "}") {
          if (depth === 0 && !top) return i + 1;
          depth--;
        }
        prev = c;
        word = "";
        i++;
      }
    }
    return i;
  };
  codeUntilBrace(0, true);
  return { code: code.join(""), literals, ...(error === undefined ? {} : { error }) };
}

/** Literals in `ruleId: <expression>` positions (up to the next , or ; outside brackets). */
function ruleIdLiterals({ code, literals }: Pick<Lexed, "code" | "literals">): Literal[] {
  const out: Literal[] = [];
  for (const m of code.matchAll(/\bruleId\??\s*:/g)) {
    let depth = 0;
    let end = m.index + m[0].length;
    for (; end < code.length; end++) {
      const inLiteral = literals.find((l) => l.start <= end && end < l.end);
      if (inLiteral !== undefined) {
        end = inLiteral.end - 1;
        continue;
      }
      const c = code[end]!;
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) {
        if (depth === 0) break;
        depth--;
      } else if ((c === "," || c === ";") && depth === 0) break;
    }
    for (const l of literals) if (l.start >= m.index && l.start < end) out.push(l);
  }
  return out;
}

/** The `area/name` shape of rule ids. */
const RULE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*\/[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Registered rules no `src/` literal names: ids built at run time, with the reason. An entry must
 * go once a literal names the id.
 */
const BUILT_AT_RUN_TIME: Readonly<Record<string, string>> = {};

describe("rules", () => {
  // Rule definitions (each module's rules.ts, the engine's) do not count as emitting their ids.
  const isRuleFile = (f: string) => f.endsWith(`${sep}rules.ts`) || f.endsWith(`${sep}engine-rules.ts`);
  const files = sourceFiles().filter((f) => !isRuleFile(f));
  const lexed = new Map(files.map((f) => [relative(SRC, f), lex(readFileSync(f, "utf8"))]));
  const registered = new Set<string>(RULES.map((r) => r.id));
  const areas = new Set([...registered].map((id) => id.slice(0, id.indexOf("/"))));

  it("the lexer reads every source file to its end", () => {
    const errors = [...lexed].filter(([, l]) => l.error !== undefined).map(([f, l]) => `${f}: ${l.error}`);
    expect(errors).toEqual([]);
    // sanity: comments are not literals, string contents are
    const sample = lex('const a = "x/y"; // "in/comment"\n/* "b/c" */ const r = /"d\\/e"/g; const t = `f/g`;');
    expect(sample.literals.map((l) => l.value)).toEqual(["x/y", "f/g"]);
    const finding = lex(
      'report({ ruleId: ok ? "a/b" : f("c/d"), message: "e/f" }); const x = { ruleId: "g/h" }; type T = { ruleId: R };',
    );
    expect(ruleIdLiterals(finding).map((l) => l.value)).toEqual(["a/b", "c/d", "g/h"]);
  });

  it("every registered rule is named by a literal outside the rule definitions", () => {
    const named = new Set<string>();
    for (const { literals } of lexed.values()) for (const l of literals) if (RULE_ID.test(l.value)) named.add(l.value);
    const unused = [...registered].filter((id) => !named.has(id) && BUILT_AT_RUN_TIME[id] === undefined);
    expect(unused, "registered but never emitted").toEqual([]);
    const stale = Object.keys(BUILT_AT_RUN_TIME).filter((id) => named.has(id) || !registered.has(id));
    expect(stale, "remove from BUILT_AT_RUN_TIME").toEqual([]);
  });

  it("every literal in a ruleId position, and every literal shaped like an id of a rule area, is registered", () => {
    const unregistered: string[] = [];
    let positions = 0;
    for (const [file, { code, literals }] of lexed) {
      for (const l of literals) {
        if (RULE_ID.test(l.value) && areas.has(l.value.slice(0, l.value.indexOf("/"))) && !registered.has(l.value))
          unregistered.push(`${file}: "${l.value}"`);
      }
      for (const l of ruleIdLiterals({ code, literals })) {
        positions++;
        if (RULE_ID.test(l.value) && !registered.has(l.value)) unregistered.push(`${file}: ruleId "${l.value}"`);
      }
    }
    expect(unregistered).toEqual([]);
    expect(positions, "ruleId positions found (the scan works)").toBeGreaterThan(100);
  });
});
