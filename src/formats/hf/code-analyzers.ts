/**
 * Analyzers for scripts shipped in model directories: Python modules, Jupyter notebooks and
 * shell scripts. Each is reported (it is code users are invited to run) and scanned for risky
 * constructs.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import { pythonImports, pythonRisks, RISK_SCAN_MAX_CHARS, type RiskyHit, shellRisks } from "./code-patterns.js";
import { parseConfigJson, readText } from "./text.js";

/** Kinds that are worth a look but common in honest code: reported at medium severity. */
const MEDIUM_KINDS: ReadonlySet<string> = new Set(["network", "install-from-url"]);

/**
 * Reports a script longer than the risky-construct search reads: its rest was not searched, so
 * it cannot be clean.
 */
function reportUnsearched(ctx: AnalysisContext, length: number): void {
  if (length <= RISK_SCAN_MAX_CHARS) return;
  ctx.report({
    ruleId: "scan/budget-exceeded",
    message: `the script (${length} characters) is longer than the risky-construct search reads (${RISK_SCAN_MAX_CHARS}): the rest was not searched`,
    evidence: { budget: "riskScanChars", limit: RISK_SCAN_MAX_CHARS, length },
  });
}

function reportRisks(ctx: AnalysisContext, hits: readonly RiskyHit[], what: string): void {
  if (hits.length === 0) return;
  const kinds = [...new Set(hits.map((h) => h.kind))];
  ctx.report({
    ruleId: "repo/risky-code",
    ...(kinds.every((k) => MEDIUM_KINDS.has(k)) ? { severity: "medium" as const } : {}),
    message: `${what} ${kinds.join(", ")}: ${hits
      .slice(0, 4)
      .map((h) => `line ${h.line} \`${preview(h.match, 60)}\``)
      .join("; ")}`,
    evidence: {
      kinds: kinds.join(","),
      first: preview(hits[0]?.match ?? "", 120),
      line: hits[0]?.line ?? 0,
      count: hits.length,
    },
  });
}

/** Analyses Python source files found in models. */
export const pythonAnalyzer: Analyzer = {
  name: "python",
  formats: ["python"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const src = await readText(ctx.source, undefined, ctx.head);
    const imports = pythonImports(src);
    ctx.report({
      ruleId: "repo/python-file",
      message: `Python source (${src.split("\n").length} lines${imports.length > 0 ? `; imports ${imports.slice(0, 8).join(", ")}` : ""})`,
      evidence: { imports: preview(imports.join(","), 300), lines: src.split("\n").length },
    });
    ctx.checkpoint();
    reportRisks(ctx, pythonRisks(src), "runs");
    reportUnsearched(ctx, src.length);
  },
};

/** Analyses shell scripts found in models. */
export const shellAnalyzer: Analyzer = {
  name: "shell",
  formats: ["shell"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const src = await readText(ctx.source, undefined, ctx.head);
    const interpreter = /^#!\s*(\S+)/.exec(src)?.[1];
    ctx.report({
      ruleId: "repo/shell-script",
      message: `shell script (${src.split("\n").length} lines${interpreter === undefined ? "" : `, ${preview(interpreter, 60)}`})`,
      evidence: { interpreter: preview(interpreter ?? "", 80), lines: src.split("\n").length },
    });
    reportRisks(ctx, shellRisks(src), "runs");
    reportUnsearched(ctx, src.length);
  },
};

function cellSource(cell: JsonObject): string {
  const src = cell.get("source");
  if (typeof src === "string") return src;
  if (Array.isArray(src)) return src.filter((s): s is string => typeof s === "string").join("");
  return "";
}

/** Analyses Jupyter notebooks found in models. */
export const notebookAnalyzer: Analyzer = {
  name: "notebook",
  formats: ["notebook"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const text = await readText(ctx.source, undefined, ctx.head);
    let root: JsonValue;
    try {
      root = parseConfigJson(text, () => ctx.checkpoint()).value;
    } catch (error) {
      if (isModelgateError(error, "MALFORMED")) {
        ctx.report({ ruleId: "repo/invalid-json", message: `notebook is not valid JSON: ${error.message}` });
        return;
      }
      throw error;
    }
    const cells = root instanceof JsonObject ? root.get("cells") : undefined;
    const python: string[] = [];
    const shell: string[] = [];
    let codeCells = 0;
    for (const cell of Array.isArray(cells) ? cells : []) {
      if (!(cell instanceof JsonObject) || cell.get("cell_type") !== "code") continue;
      codeCells++;
      const src = cellSource(cell);
      if (/^\s*%%(?:bash|sh|script|system)\b/.test(src)) {
        shell.push(src.replace(/^\s*%%\S+[^\n]*\n/, ""));
        continue;
      }
      for (const line of src.split("\n")) {
        const m = /^\s*(?:!|%(?:system|sx)\b)(.*)$/.exec(line);
        if (m !== null) shell.push(m[1] ?? "");
        else python.push(line);
      }
    }
    ctx.report({
      ruleId: "repo/notebook",
      message: `Jupyter notebook with ${codeCells} code cells${shell.length > 0 ? ` and ${shell.length} shell commands` : ""}`,
      evidence: { codeCells, shellCommands: shell.length },
    });
    const shellText = shell.join("\n");
    const pythonText = python.join("\n");
    reportRisks(ctx, [...shellRisks(shellText), ...pythonRisks(pythonText)], "notebook cells run");
    reportUnsearched(ctx, Math.max(shellText.length, pythonText.length));
  },
};
