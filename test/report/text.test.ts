// The text report (issue 18): a summary first (verdict, counts, one Signature line per model
// root, the files that are not clean with their worst finding, top rules), then details; quiet,
// default and verbose levels, wrapping to a width, human-readable sizes, colour only on the
// renderer's own words. The fixture is a hand-built report, so the expected text is stable.
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import type { Severity, Verdict } from "../../src/core/severity.js";
import type { SignatureVerification } from "../../src/integrity/oms/result.js";
import { ansiStyle, formatSize, shouldColor, wrapLine } from "../../src/report/render/layout.js";
import { renderText, TEXT_LIMITS } from "../../src/report/render/text.js";
import { type FileReport, type Finding, REPORT_SCHEMA_VERSION, type ScanReport } from "../../src/report/schema.js";
import { summarize } from "../../src/report/summary.js";
import { fakeIO } from "../helpers/cli.js";
import { SAMPLES } from "../helpers/scan.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: the renderer's own colour sequences
const SGR = /\x1b\[[0-9;]*m/g;
const strip = (text: string) => text.replace(SGR, "");
const lines = (text: string) => text.replace(/\n$/, "").split("\n");

function finding(ruleId: string, severity: Severity, message: string, extra: Partial<Finding> = {}): Finding {
  return { ruleId, severity, message, path: "", ...extra } as Finding;
}

function file(path: string, verdict: Verdict, size: number, findings: Finding[], format = "pickle"): FileReport {
  return {
    path,
    size,
    format,
    formats: [format],
    verdict,
    findings: findings.map((f) => ({ ...f, path: f.path === "" ? path : f.path })),
  } as FileReport;
}

/** Three signed roots (one verified, one tampered, one with two failed signatures) and five flagged files. */
function fixture(): ScanReport {
  const sig = (model: string, name = "model.sig") => ({
    signature: `${model}/${name}`,
    model,
    method: "key",
  });
  const files: FileReport[] = [
    file("bert/config.json", "clean", 612, [], "json"),
    file("bert/model.safetensors", "clean", 438_000_000, [], "safetensors"),
    file("bert/model.sig", "clean", 1_870, [], "json"),
    file("llama/model.sig", "clean", 1_900, [], "json"),
    file("llama/weights.bin", "malicious", 1_234_567, [
      finding("integrity/signed-file-mismatch", "high", "differs from the digest signed in llama/model.sig", {
        evidence: sig("llama"),
      }),
    ]),
    file("llama/pytorch_model.bin", "malicious", 52_000, [
      finding("pickle/dangerous-global", "critical", "pickle calls posix.system('id'): runs processes or commands", {
        path: "llama/pytorch_model.bin!archive/data.pkl",
        offset: 48,
        evidence: { callee: "posix.system", args: "'id'" },
      }),
      finding("pickle/dangerous-global", "critical", "pickle calls builtins.exec('x'): evaluates or compiles code"),
      finding("pickle/nested-payload", "high", "a pickle inside the pickle"),
      finding("pickle/unknown-global", "medium", "pickle imports torch._utils._rebuild_tensor_v2"),
      finding("pickle/protocol", "info", "protocol 2"),
    ]),
    file(
      "llama/tokenizer_config.json",
      "suspicious",
      2_100,
      [finding("template/unknown-filter", "medium", "chat_template: unknown filter `tojson2`")],
      "json",
    ),
    file("llama/broken.gguf", "invalid", 17, [finding("gguf/truncated", "medium", "header ends at byte 17")], "gguf"),
    file(
      "vit/model.sig",
      "malicious",
      2_000,
      [
        finding("integrity/signed-file-missing", "high", "vit/config.json: signed but missing", {
          evidence: sig("vit"),
        }),
        finding("integrity/signed-file-missing", "high", "vit/weights.bin: signed but missing", {
          evidence: sig("vit"),
        }),
      ],
      "json",
    ),
    file("vit/old.sig", "clean", 2_000, [], "json"),
    file("vit/notes.txt", "clean", 40, [finding("format/unknown", "info", "content matches no format")], "text"),
  ];
  const signature: SignatureVerification = {
    status: "verified",
    signaturePath: "bert/model.sig",
    model: "bert",
    method: "key",
    errors: [],
    warnings: [],
    signer: { keyFingerprint: "ab".repeat(32) },
    files: [
      { path: "config.json", status: "ok" },
      { path: "model.safetensors", status: "ok" },
    ],
    coverage: {
      complete: false,
      uncoveredCount: 8,
      uncovered: ["llama/broken.gguf", "llama/model.sig"],
      signatures: [
        { signaturePath: "bert/model.sig", model: "bert", status: "verified", covered: 2 },
        { signaturePath: "llama/model.sig", model: "llama", status: "failed", covered: 0 },
        { signaturePath: "vit/model.sig", model: "vit", status: "failed", covered: 0 },
        { signaturePath: "vit/old.sig", model: "vit", status: "failed", covered: 0 },
      ],
    },
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: "modelgate", version: "9.9.9" },
    target: { kind: "directory", name: "models/" },
    startedAt: "2026-01-01T00:00:00.000Z",
    durationMs: 1234,
    verdict: "malicious",
    complete: true,
    files,
    errors: [],
    signature,
    summary: summarize(files, 0),
  } as ScanReport;
}

/** `count` flagged files spread over `folders` folders, one malicious finding each. */
function big(count: number, folders: number): ScanReport {
  const files: FileReport[] = [];
  for (let i = 0; i < count; i++) {
    const verdict: Verdict = i % 7 === 0 ? "invalid" : "malicious";
    files.push(
      file(`area${String(i % folders).padStart(2, "0")}/f${String(i).padStart(4, "0")}.pkl`, verdict, 100 + i, [
        finding("pickle/dangerous-global", "critical", `pickle calls posix.system('echo ${i}')`),
        finding("pickle/nested-payload", "high", "nested"),
        finding("pickle/unknown-global", "medium", "unknown"),
        finding("pickle/protocol", "low", "old protocol"),
      ]),
    );
  }
  const report = fixture();
  return { ...report, files, signature: undefined, summary: summarize(files, 0) } as ScanReport;
}

/** The summary block: from the first line to the line before `Details:`. */
const summaryBlock = (text: string) => text.slice(0, text.indexOf("\nDetails:") + 1);

describe("renderText: summary", () => {
  it("opens with the verdict, counts, one Signature line per model root, the files not clean and top rules", () => {
    const text = renderText(fixture());
    expect(summaryBlock(text)).toBe(
      `modelgate 9.9.9  scanned models/ (11 files, 439 MB, 1.23 s)
Policy: built-in defaults

Verdict: MALICIOUS
Files: 11 (3 malicious, 1 invalid, 1 suspicious, 6 clean)
Findings: 11 (2 critical, 4 high, 3 medium, 0 low, 2 info)
Signature: FAILED llama/ (key, model.sig) weights.bin: differs from the digest signed in llama/model.sig
Signature: FAILED vit/ (key, model.sig) 2 signatures: 2 failed; vit/config.json: signed but missing (+1 more finding)
Signature: VERIFIED bert/ (key, model.sig) key sha256:${"ab".repeat(32)}; 2 files match
Signature coverage: INCOMPLETE: 8 of 11 files covered by no verified signature, e.g. llama/broken.gguf

Not clean: 5 of 11 files, worst first
  MALICIOUS  llama/pytorch_model.bin  pickle/dangerous-global: pickle calls posix.system('id'): runs processes or commands
  MALICIOUS  llama/weights.bin  integrity/signed-file-mismatch: differs from the digest signed in llama/model.sig
  MALICIOUS  vit/model.sig  integrity/signed-file-missing: vit/config.json: signed but missing
  INVALID    llama/broken.gguf  gguf/truncated: header ends at byte 17
  SUSPICIOUS llama/tokenizer_config.json  template/unknown-filter: chat_template: unknown filter \`tojson2\`

Top rules: 7 rules, 9 findings above info
  integrity/signed-file-missing  × 2  high, 1 file
  pickle/dangerous-global        × 2  critical, 1 file
  gguf/truncated                 × 1  medium, 1 file
  integrity/signed-file-mismatch × 1  high, 1 file
  pickle/nested-payload          × 1  high, 1 file
  pickle/unknown-global          × 1  medium, 1 file
  template/unknown-filter        × 1  medium, 1 file

`,
    );
  });

  it("quiet: the summary and nothing else", () => {
    const quiet = renderText(fixture(), { quiet: true });
    expect(quiet).toBe(summaryBlock(renderText(fixture())).replace(/\n\n$/, "\n"));
    expect(quiet).not.toContain("Details:");
  });

  it("groups the files by folder past groupAbove, worst folder first, and stays within totalLines", () => {
    const report = big(600, 45);
    const text = renderText(report);
    const all = lines(text);
    expect(all.length).toBeLessThanOrEqual(TEXT_LIMITS.totalLines);
    expect(text).toContain("Not clean: 600 of 600 files in 45 folders, worst first (the worst file of each)");
    expect(text).toContain("  area00/  14 files: 12 malicious, 2 invalid\n    MALICIOUS  area00/f0045.pkl  pickle/");
    const folders = all.filter((l) => /^ {2}area\d\d\//.test(l));
    expect(folders).toHaveLength(TEXT_LIMITS.maxGroups);
    expect(text).toContain(`  ... ${45 - TEXT_LIMITS.maxGroups} more folders (`);
    expect(text).toMatch(/^\.\.\. \d+ more files not clean, not detailed here: --verbose shows every file/m);
    expect(lines(renderText(report, { quiet: true })).length).toBeLessThan(80);
    // A few folders: the three worst files of each.
    const few = renderText(big(40, 4), { quiet: true });
    expect(few).toContain("(the 3 worst files of each)");
    expect(lines(few).filter((l) => l.startsWith("    MALICIOUS"))).toHaveLength(12);
  });

  it("the shipped samples' signatures: one line per signed folder, failed ones first", async () => {
    const { scan } = await import("../../src/scan/engine.js");
    const report = await scan(`${SAMPLES}/integrity`, { hash: false });
    const sigs = lines(renderText(report, { quiet: true })).filter((l) => l.startsWith("Signature: "));
    const roots = new Set(report.signature?.coverage?.signatures.map((s) => s.model));
    expect(roots.size).toBeGreaterThan(3);
    expect(sigs).toHaveLength(roots.size);
    for (const root of roots) expect(sigs.filter((l) => l.includes(` ${root}/ `))).toHaveLength(1);
    expect(sigs.find((l) => l.includes(" tampered-model/ "))).toMatch(
      /^Signature: FAILED tampered-model\/ \(key, model\.sig\) weights\.bin: differs from the digest signed/,
    );
    const statuses = sigs.map((l) => l.split(" ")[1]);
    expect(statuses.indexOf("FAILED")).toBe(0);
    expect(statuses.lastIndexOf("FAILED")).toBeLessThan(statuses.indexOf("UNVERIFIED"));
  });
});

describe("renderText: details", () => {
  it("default: files not clean, worst first, info left out, capped per file with an N more line", () => {
    const text = renderText(fixture());
    const details = text.slice(text.indexOf("Details:"));
    expect(details).toBe(
      `Details: files that are not clean, worst first
MALICIOUS  llama/pytorch_model.bin  (pickle, 52 kB)
  critical pickle/dangerous-global  pickle calls posix.system('id'): runs processes or commands  [llama/pytorch_model.bin!archive/data.pkl @48]
  critical pickle/dangerous-global  pickle calls builtins.exec('x'): evaluates or compiles code
  high     pickle/nested-payload  a pickle inside the pickle
  ... 1 more finding (1 medium)
MALICIOUS  llama/weights.bin  (pickle, 1.2 MB)
  high     integrity/signed-file-mismatch  differs from the digest signed in llama/model.sig
MALICIOUS  vit/model.sig  (json, 2.0 kB)
  high     integrity/signed-file-missing  vit/config.json: signed but missing
  high     integrity/signed-file-missing  vit/weights.bin: signed but missing
INVALID    llama/broken.gguf  (gguf, 17 B)
  medium   gguf/truncated  header ends at byte 17
SUSPICIOUS llama/tokenizer_config.json  (json, 2.1 kB)
  medium   template/unknown-filter  chat_template: unknown filter \`tojson2\`
`,
    );
    expect(text).not.toContain("callee=");
  });

  it("verbose: every finding with evidence, info findings, clean files too", () => {
    const text = renderText(fixture(), { verbose: true });
    expect(text).toContain("           callee=posix.system  args='id'\n");
    expect(text).toContain("  info     pickle/protocol  protocol 2");
    expect(text).toContain("  medium   pickle/unknown-global");
    expect(text).not.toContain("more finding (");
    expect(text).toContain("CLEAN      bert/model.safetensors  (safetensors, 438 MB)");
    expect(text).toContain("  info     format/unknown  content matches no format");
    expect(lines(renderText(big(600, 45), { verbose: true })).length).toBeGreaterThan(2400);
  });

  it("a scan of a few files lists its clean files too", () => {
    const report = fixture();
    const small = { ...report, files: report.files.slice(0, 3), signature: undefined } as ScanReport;
    expect(renderText(small)).toContain("Details: files\nCLEAN      bert/config.json  (json, 612 B)\n");
  });
});

describe("renderText: width and colour", () => {
  it("wraps details to the width with a hanging indent and cuts summary lines to one line", () => {
    const long = fixture();
    long.files[5]!.findings[0]!.message = `pickle calls posix.system('${"x".repeat(150)}'): runs processes`;
    const text = renderText(long, { width: 60 });
    for (const line of lines(text)) expect(line.length).toBeLessThanOrEqual(60);
    expect(text).toContain("  MALICIOUS  llama/pytorch_model.bin  pickle/dangerous-gl...\n");
    const wrapped = lines(text).findIndex((l) => l.startsWith("  critical pickle/dangerous-global  pickle"));
    expect(lines(text)[wrapped + 1]).toMatch(/^ {11}\S/);
    // No width: one output line per report line.
    expect(lines(renderText(long)).some((l) => l.length > 150)).toBe(true);
  });

  it("wrapLine keeps styles per output line and never splits a surrogate pair", () => {
    const out = wrapLine([{ text: "MALICIOUS", style: "red" }, { text: ` ${"😀".repeat(30)} tail` }], 20, 4, ansiStyle);
    expect(out.length).toBeGreaterThan(1);
    for (const l of out) {
      expect(Array.from(strip(l)).length).toBeLessThanOrEqual(20);
      expect(strip(l)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
    expect(out[0]).toBe("\x1b[31mMALICIOUS\x1b[39m");
  });

  it("colour: ANSI only around the renderer's own words, never inside input strings", () => {
    const report = fixture();
    report.files[5]!.path = "llama/\x1b[31mred\x1b[0m.bin";
    const text = renderText(report, { color: true, verbose: true });
    expect(text).toContain("llama/\\x1b[31mred\\x1b[0m.bin");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the renderer's own colour sequences
    const styled = new Set([...text.matchAll(/\x1b\[\d+m([^\x1b]*)\x1b\[\d+m/g)].map((m) => m[1]));
    const own =
      /^(modelgate 9\.9\.9|MALICIOUS|INVALID|SUSPICIOUS|CLEAN|malicious|invalid|suspicious|clean|critical|high|medium|low|info|FAILED|VERIFIED|INCOMPLETE|Not clean:|Top rules:|Details:)$/;
    for (const s of styled) expect(s?.trim()).toMatch(own);
    expect(renderText(report)).not.toMatch(SGR);
    expect(strip(text)).toBe(renderText(report, { verbose: true }));
  });

  it("shouldColor: the flag, then FORCE_COLOR, NO_COLOR, TERM=dumb, then the terminal", () => {
    expect(shouldColor({ env: {}, isTTY: true })).toBe(true);
    expect(shouldColor({ env: {}, isTTY: false })).toBe(false);
    expect(shouldColor({ env: { FORCE_COLOR: "1" }, isTTY: false })).toBe(true);
    expect(shouldColor({ env: { FORCE_COLOR: "" }, isTTY: false })).toBe(true);
    expect(shouldColor({ env: { FORCE_COLOR: "0" }, isTTY: true })).toBe(false);
    expect(shouldColor({ env: { NO_COLOR: "1" }, isTTY: true })).toBe(false);
    expect(shouldColor({ env: { NO_COLOR: "" }, isTTY: true })).toBe(true);
    expect(shouldColor({ env: { TERM: "dumb" }, isTTY: true })).toBe(false);
    expect(shouldColor({ flag: true, env: { NO_COLOR: "1" }, isTTY: false })).toBe(true);
    expect(shouldColor({ flag: false, env: { FORCE_COLOR: "1" }, isTTY: true })).toBe(false);
  });

  it("formatSize: SI units, one decimal below 10", () => {
    const cases: [number, string][] = [
      [0, "0 B"],
      [999, "999 B"],
      [1000, "1.0 kB"],
      [1234, "1.2 kB"],
      [99_499, "99 kB"],
      [999_960, "1.0 MB"],
      [1_234_567, "1.2 MB"],
      [438_000_000, "438 MB"],
      [15e9, "15 GB"],
      [2.5e15, "2.5 PB"],
    ];
    for (const [bytes, text] of cases) expect(formatSize(bytes), String(bytes)).toBe(text);
  });
});

describe("modelgate scan: text options", () => {
  const target = `${SAMPLES}/pickle/malicious/appends_hook.pkl`;
  it("--quiet, --verbose, --color/--no-color, FORCE_COLOR and NO_COLOR", async () => {
    const run = async (args: string[], env: Record<string, string> = {}, tty = false) => {
      const io = fakeIO({ env, stdoutIsTTY: tty });
      const code = await runCli(["scan", "--no-policy", ...args, target], io);
      return { code, out: io.out, err: io.err };
    };
    const quiet = await run(["--quiet"]);
    expect(quiet.out).toMatch(/^Verdict: MALICIOUS$/m);
    expect(quiet.out).not.toContain("Details:");
    expect((await run(["--verbose"])).out).toMatch(/^ {11}callee=/m);
    expect((await run([])).out).not.toMatch(/^ {11}callee=/m);
    expect((await run(["--color"])).out).toMatch(SGR);
    expect((await run([], { FORCE_COLOR: "1" })).out).toMatch(SGR);
    expect((await run(["--no-color"], { FORCE_COLOR: "1" }, true)).out).not.toMatch(SGR);
    expect((await run([], { NO_COLOR: "1" }, true)).out).not.toMatch(SGR);
    expect((await run([], {}, true)).out).toMatch(SGR);
    for (const args of [
      ["--quiet", "--verbose"],
      ["--color", "--no-color"],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/conflict/);
    }
  });
});
