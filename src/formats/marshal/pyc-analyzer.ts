/**
 * The pyc analyzer: decodes a `.pyc`'s marshalled code objects (never executing them) and reports
 * the module as code, with the names it uses; names that together spell a command, dynamic-code,
 * native-code or deserialization API (`os` and `system`, `subprocess` and `Popen`, `exec`,
 * `__import__` ...) make it high. Names are matched whatever alias the module was imported under
 * (`import os as _o` still puts `os` and `system` in the code's names) and string constants count
 * as names (`getattr(os, "system")`).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { type CodeObject, DEFAULT_MARSHAL_BUDGETS, parseMarshal } from "./marshal.js";
import { readPycHeader } from "./pyc.js";

/** A module and the attributes of it that run commands or code. */
type RiskyApi = readonly [kind: string, module: string, attributes: readonly string[]];

const OS_PROCESS = [
  "system",
  "popen",
  "execl",
  "execle",
  "execlp",
  "execlpe",
  "execv",
  "execve",
  "execvp",
  "execvpe",
  "spawnl",
  "spawnle",
  "spawnlp",
  "spawnlpe",
  "spawnv",
  "spawnve",
  "spawnvp",
  "spawnvpe",
  "posix_spawn",
  "posix_spawnp",
  "forkpty",
];
const LOADS = ["loads", "load", "Unpickler"];

const RISKY_APIS: readonly RiskyApi[] = [
  ["process", "os", OS_PROCESS],
  ["process", "posix", OS_PROCESS],
  ["process", "nt", OS_PROCESS],
  ["process", "subprocess", ["run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"]],
  ["process", "pty", ["spawn"]],
  ["dynamic-code", "builtins", ["exec", "eval", "compile", "__import__"]],
  ["dynamic-code", "__builtins__", ["exec", "eval", "compile", "__import__"]],
  ["dynamic-code", "runpy", ["run_path", "run_module"]],
  ["native-code", "ctypes", ["CDLL", "cdll", "PyDLL", "pydll", "WinDLL", "windll", "LibraryLoader"]],
  ["deserialize", "pickle", LOADS],
  ["deserialize", "_pickle", LOADS],
  ["deserialize", "cPickle", LOADS],
  ["deserialize", "dill", LOADS],
  ["deserialize", "cloudpickle", LOADS],
  ["deserialize", "marshal", LOADS],
  // a module imported by a name built at run time (`import_module("o" + "s")`) can be any module
  ["dynamic-import", "importlib", ["import_module", "__import__", "reload"]],
];

/**
 * Builtins that run code when called by their bare name. `eval` and `compile` are left out: as
 * attributes (`model.eval()`, `re.compile`) they are in almost every module's names.
 */
const RISKY_BUILTINS: readonly string[] = ["exec", "__import__", "execfile"];

/** One risky API a code object's names spell. */
export interface PycRisk {
  readonly kind: string;
  readonly name: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The risky APIs some code objects name (their names plus identifier-shaped string constants).
 * @param codes - the module's code objects
 */
export function pycRisks(codes: readonly CodeObject[]): PycRisk[] {
  const names = new Set<string>();
  for (const code of codes) {
    for (const n of code.names) names.add(n);
    for (const s of code.stringConsts) if (s.length <= 64 && IDENTIFIER.test(s)) names.add(s);
  }
  const risks: PycRisk[] = [];
  for (const [kind, module, attributes] of RISKY_APIS) {
    if (!names.has(module)) continue;
    for (const attribute of attributes) if (names.has(attribute)) risks.push({ kind, name: `${module}.${attribute}` });
  }
  for (const name of RISKY_BUILTINS) if (names.has(name)) risks.push({ kind: "dynamic-code", name });
  return risks;
}

/** The modules a code object imports or refers to, in first-use order (at most `max`). */
function namesUsed(codes: readonly CodeObject[], max: number): string[] {
  const out = new Set<string>();
  for (const code of codes) {
    for (const n of code.names) {
      out.add(n);
      if (out.size >= max) return [...out];
    }
  }
  return [...out];
}

/** Analyses CPython bytecode files. */
export const pycAnalyzer: Analyzer = {
  name: "pyc",
  formats: ["pyc"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const header = readPycHeader(ctx.head);
    if (header === undefined) return; // the detector matched these bytes: cannot happen
    const max = DEFAULT_MARSHAL_BUDGETS.maxBytes + header.codeOffset;
    if (ctx.source.size > max) {
      throw new ModelgateError("BUDGET_EXCEEDED", `.pyc of ${ctx.source.size} bytes (budget ${max})`, {
        budget: "marshal.maxBytes",
      });
    }
    const bytes = await readExact(ctx.source, header.codeOffset, ctx.source.size - header.codeOffset);
    ctx.checkpoint();
    ctx.fact("pyc.pythonVersion", header.version);
    let codes: readonly CodeObject[];
    try {
      codes = parseMarshal(bytes).codeObjects;
    } catch (error) {
      if (!isModelgateError(error, "MALFORMED") && !isModelgateError(error, "TRUNCATED")) throw error;
      ctx.report({
        ruleId: "pyc/malformed",
        message: `CPython ${header.version} bytecode whose code object cannot be decoded: ${preview(error.message, 120)}`,
        evidence: { magic: header.magic },
      });
      return;
    }
    const names = namesUsed(codes, 40);
    const source = codes[0]?.filename ?? "";
    // PEP 552: hash-based and not checked against its source: used even when a `.py` beside it differs
    const unchecked = (header.flags & 1) === 1 && (header.flags & 2) === 0;
    ctx.report({
      ruleId: "pyc/compiled-code",
      message: `compiled Python module (CPython ${header.version}, ${codes.length} code objects${source === "" ? "" : `, from ${JSON.stringify(preview(source, 80))}`}${unchecked ? ", unchecked hash-based" : ""}); names: ${preview(names.slice(0, 12).join(", "), 160)}`,
      evidence: {
        pythonVersion: header.version,
        magic: header.magic,
        codeObjects: codes.length,
        names: preview(names.join(","), 300),
        ...(source === "" ? {} : { sourceFile: preview(source, 200) }),
        ...(unchecked ? { uncheckedHash: true } : {}),
      },
    });
    const risks = pycRisks(codes);
    if (risks.length === 0) return;
    const kinds = [...new Set(risks.map((r) => r.kind))];
    ctx.report({
      ruleId: "pyc/risky-code",
      message: `compiled module names ${kinds.join(", ")} APIs: ${risks
        .slice(0, 6)
        .map((r) => r.name)
        .join(", ")}`,
      evidence: { kinds: kinds.join(","), first: risks[0]?.name ?? "", count: risks.length },
    });
  },
};
