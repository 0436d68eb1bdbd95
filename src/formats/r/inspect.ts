/**
 * Turns what the walk of an R stream reports ({@link RWalkEvents}) into findings: promises,
 * closures and bytecode by what they call, language objects that call dangerous functions,
 * environment hooks, external pointers, ALTREP classes and persistent references. Findings go
 * through one {@link FindingList}, so a stream of a million closures yields a bounded report.
 * @module
 */
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { Severity } from "../../core/severity.js";
import { deparse } from "./deparse.js";
import {
  CONTROL_NAME,
  DANGEROUS_CALLS,
  KNOWN_NATIVE,
  LANGUAGE_ALLOW,
  LANGUAGE_NAMESPACES,
  nativeMarker,
  PROMISE_ALLOW,
} from "./names.js";
import { type CodeSummary, callsByName, type RNode, type RWalkEvents, type RWhere, SXP } from "./reader.js";

/** Item types whose evaluation is the item itself. */
const CONSTANTS: ReadonlySet<number> = new Set([
  SXP.NILVALUE,
  SXP.CHAR,
  SXP.LGL,
  SXP.INT,
  SXP.REAL,
  SXP.CPLX,
  SXP.STR,
  SXP.RAW,
  SXP.MISSINGARG,
]);

/** Binding names that package-like loaders call. */
const HOOKS: ReadonlySet<string> = new Set([
  ".onLoad",
  ".onAttach",
  ".onUnload",
  ".onDetach",
  ".First.lib",
  ".Last.lib",
  ".First",
  ".Last",
]);

/** Functions R calls when it restores a workspace at startup or quits. */
const STARTUP_HOOKS: ReadonlySet<string> = new Set([".First", ".Last", ".First.sys"]);

/** ALTREP classes of base R whose unserialize method only rebuilds a vector from its state. */
const BASE_ALTREP: ReadonlySet<string> = new Set([
  "compact_intseq",
  "compact_realseq",
  "deferred_string",
  "wrap_integer",
  "wrap_logical",
  "wrap_real",
  "wrap_complex",
  "wrap_raw",
  "wrap_string",
  "wrap_list",
]);

/**
 * The dangerous names a code summary calls or names, sorted; computed calls included.
 * @param code - what the code calls
 * @param namespace - the namespace the function lives in, which decides which native routines
 *   (`.Call(C_logit_link)`) are its package's own
 */
export function dangerousNames(code: CodeSummary, namespace?: string): string[] {
  const out = new Set<string>();
  // A qualified call (`base::system`) is also recorded under its bare name.
  for (const c of code.calls) {
    const native = nativeMarker(c);
    if (native === undefined) {
      if (DANGEROUS_CALLS.has(c)) out.add(c);
    } else if (namespace === undefined || KNOWN_NATIVE.get(namespace)?.has(native.routine) !== true) out.add(c);
  }
  // the walk keeps only dangerous names in these two
  for (const r of code.refs) out.add(r);
  for (const s of code.strings) out.add(`"${s}"`);
  for (const c of code.computed) if (c !== "a computed function") out.add(c);
  return [...out].sort();
}

/** Attributes of a `terms` object that `model.frame` evaluates as they are. */
const EVALUATED_ATTRIBUTES: ReadonlySet<string> = new Set(["predvars", "variables"]);

/** Whether a call (bare or `pkg::name`) is one a stored call may make. */
function languageAllowed(name: string): boolean {
  if (LANGUAGE_ALLOW.has(name) || CONTROL_NAME.test(name)) return true;
  const m = /^([^:]+):::?(.+)$/.exec(name);
  if (m === null) return false;
  const [, pkg, bare] = m;
  if (DANGEROUS_CALLS.has(bare!) || callsByName(bare!)) return false;
  // `survival::Surv`, `rpart::rpart.control`: an allowed name in any package; anything of stats and splines
  return LANGUAGE_ALLOW.has(bare!) || CONTROL_NAME.test(bare!) || LANGUAGE_NAMESPACES.has(pkg!);
}

/**
 * Calls of a language object found as data outside {@link LANGUAGE_ALLOW}, computed functions
 * included. The outermost function of a call that is neither a formula nor a `terms` attribute
 * model methods evaluate (a model's `call`: `lm(...)`, `randomForest(...)`) may be any plain name
 * that calls no function by name: `model.frame` replaces it, `update` calls the fitter.
 */
function unlistedLanguageCalls(call: RNode, code: CodeSummary, where: RWhere): string[] {
  const callee = call.callee ?? "<call>";
  const outerFree =
    callee !== "~" &&
    callee !== "<call>" &&
    callee !== "<closure>" &&
    !callsByName(callee) &&
    (where.label === undefined || !EVALUATED_ATTRIBUTES.has(where.label));
  const exempt = new Set<string>();
  if (outerFree) {
    exempt.add(callee);
    exempt.add(callee.slice(callee.lastIndexOf(":") + 1));
  }
  // `stats::poly` is also recorded as `poly`: the bare name of an allowed qualified call is allowed
  for (const c of code.calls) {
    const colon = c.lastIndexOf(":");
    if (colon > 0 && languageAllowed(c)) exempt.add(c.slice(colon + 1));
  }
  const out = [...code.calls].filter((c) => !exempt.has(c) && !languageAllowed(c));
  out.push(...code.computed);
  if (code.overflow) out.push("<more names than kept>");
  return [...new Set(out)].sort();
}

/** Calls of a promise outside {@link PROMISE_ALLOW}. */
function unlistedCalls(code: CodeSummary): string[] {
  const out = [...code.calls].filter((c) => !PROMISE_ALLOW.has(c));
  if (code.computed.size > 0) out.push(...code.computed);
  if (code.overflow) out.push("<more names than kept>");
  return out.sort();
}

const list = (names: readonly string[], max = 12): string =>
  preview(names.slice(0, max).join(", ") + (names.length > max ? ", …" : ""), 240);

const at = (where: RWhere): string => (where.label === undefined ? "" : ` bound to ${preview(where.label, 60)}`);

/** Collects the findings of one walk. */
export class RInspector implements RWalkEvents {
  readonly findings = new FindingList<FindingInput>();
  readonly namespaces = new Set<string>();
  /** Closure bodies already reported, so a closure reached twice is reported once. */
  readonly #seen = new WeakSet<object>();

  #add(finding: FindingInput): void {
    this.findings.add(finding);
  }

  promise(promise: RNode, where: RWhere & { readonly forced: boolean }): void {
    const code = promise.code;
    const expression = promise.cells?.[0]?.value;
    if (code === undefined || expression === undefined) return;
    const dangerous = dangerousNames(code);
    const unlisted = unlistedCalls(code);
    const calls = [...new Set([...dangerous, ...unlisted, ...code.calls])];
    // Forcing a literal evaluates nothing (a glm family's environment keeps `link = "logit"`
    // unforced); forcing a symbol only reads a variable (whose own promise or active binding is
    // reported where it is bound); a call runs code.
    const severity: Severity | undefined =
      dangerous.length > 0 || unlisted.length > 0
        ? undefined
        : CONSTANTS.has(expression.type)
          ? "low"
          : expression.type === SXP.SYM
            ? "medium"
            : "high";
    const what = severity === "low" ? "a constant, evaluated" : severity === "medium" ? "a variable, read" : "runs";
    this.#add({
      ruleId: "r/promise",
      message: `promise${at(where)}: ${deparse(expression, 100)} ${what} when the loaded value is first used${where.forced ? " (already forced when saved)" : ""}`,
      offset: where.offset,
      ...(severity === undefined ? {} : { severity }),
      evidence: {
        callee: list(calls.length > 0 ? calls : ["<none>"]),
        call: deparse(expression),
        forced: where.forced,
        ...(where.label === undefined ? {} : { binding: preview(where.label, 80) }),
      },
    });
  }

  closure(
    closure: RNode,
    where: RWhere & { readonly bytecode: boolean; readonly namespace: string | undefined },
  ): void {
    this.#code(closure, where, where.bytecode ? "compiled function" : "function", where.namespace);
  }

  bytecode(bytecode: RNode, where: RWhere): void {
    this.#code(bytecode, where, "bytecode");
  }

  #code(node: RNode, where: RWhere, kind: string, namespace?: string): void {
    if (this.#seen.has(node)) return;
    this.#seen.add(node);
    const code = node.code;
    if (code === undefined) return;
    const dangerous = dangerousNames(code, namespace);
    const body = node.type === SXP.CLO ? node.cells?.[1]?.value : node;
    const shown = body === undefined ? "" : body.type === SXP.BCODE ? deparseBytecode(body) : deparse(body);
    if (dangerous.length > 0) {
      this.#add({
        ruleId: "r/dangerous-code",
        message: `${kind}${at(where)} calls ${list(dangerous, 6)}`,
        offset: where.offset,
        evidence: {
          callee: list(dangerous),
          kind,
          body: shown,
          ...(where.label === undefined ? {} : { binding: preview(where.label, 80) }),
        },
      });
      return;
    }
    this.#add({
      ruleId: "r/closure",
      message: `${kind}${at(where)} shipped in the data: whoever calls it runs it`,
      offset: where.offset,
      evidence: {
        callee: list([...code.calls].sort()),
        kind,
        body: shown,
        ...(where.label === undefined ? {} : { binding: preview(where.label, 80) }),
        ...(namespace === undefined ? {} : { namespace: preview(namespace, 80) }),
      },
    });
  }

  language(call: RNode, where: RWhere): void {
    const code = call.code;
    if (code === undefined) return;
    const dangerous = dangerousNames(code);
    // An expression vector (a glm family's `initialize`) is code shipped like a closure: only
    // dangerous names count. A call is data that model methods evaluate: allowlist first.
    const unlisted = call.type === SXP.LANG ? unlistedLanguageCalls(call, code, where) : [];
    if (dangerous.length === 0 && unlisted.length === 0) return;
    this.#add({
      ruleId: "r/language-call",
      message:
        dangerous.length > 0
          ? `language object${at(where)} calls ${list(dangerous, 6)}: model methods (predict, update, model.frame) evaluate such calls`
          : `language object${at(where)} calls ${list(unlisted, 6)}, outside the functions formulas and stored model calls use: model methods (predict, update, model.frame) evaluate it`,
      offset: where.offset,
      evidence: {
        callee: list([...new Set([...dangerous, ...unlisted])]),
        call: call.type === SXP.LANG ? deparse(call) : `expression(…)`,
        ...(dangerous.length === 0 ? { allowlist: "outside" } : {}),
        ...(where.label === undefined ? {} : { binding: preview(where.label, 80) }),
      },
    });
  }

  binding(
    name: string | undefined,
    value: RNode,
    where: RWhere & { readonly active: boolean; readonly workspace: boolean },
  ): void {
    const isFunction =
      value.type === SXP.CLO || value.type === SXP.BCODE || value.type === SXP.BUILTIN || value.type === SXP.SPECIAL;
    if (where.workspace && name !== undefined && STARTUP_HOOKS.has(name) && isFunction) {
      this.#add({
        ruleId: "r/startup-hook",
        message: `the workspace defines ${name}: R calls it when it restores the workspace at startup (or quits)`,
        offset: where.offset,
        evidence: { binding: name },
      });
      return;
    }
    if (where.active) {
      this.#add({
        ruleId: "r/environment-hook",
        message: `active binding${name === undefined ? "" : ` ${preview(name, 60)}`}: reading the variable calls a function`,
        offset: where.offset,
        evidence: { binding: preview(name ?? "", 80), kind: "active binding" },
      });
    } else if (!where.workspace && name !== undefined && HOOKS.has(name) && isFunction) {
      this.#add({
        ruleId: "r/environment-hook",
        message: `environment binds the hook ${name}`,
        offset: where.offset,
        evidence: { binding: name, kind: "hook" },
      });
    }
  }

  external(kind: "external pointer" | "weak reference", where: RWhere): void {
    this.#add({
      ruleId: "r/external-pointer",
      message: `${kind}${at(where)} in the serialized object`,
      offset: where.offset,
      evidence: { kind },
    });
  }

  altrep(className: string, packageName: string, where: RWhere): void {
    if (packageName === "base" && BASE_ALTREP.has(className)) return;
    this.#add({
      ruleId: "r/altrep-class",
      message: `ALTREP object of class ${preview(className, 60)} from package ${preview(packageName, 60)}: unserializing loads the package and runs its method`,
      offset: where.offset,
      evidence: { class: preview(className, 80), package: preview(packageName, 80) },
    });
  }

  persistent(names: readonly string[], where: RWhere): void {
    this.#add({
      ruleId: "r/persistent-reference",
      message: `persistent reference ${list([...names], 4)}: the loader's refhook decides what it becomes`,
      offset: where.offset,
      evidence: { names: list([...names]) },
    });
  }

  namespace(kind: "namespace" | "package", names: readonly string[]): void {
    if (this.namespaces.size < 64 && names[0] !== undefined)
      this.namespaces.add(`${kind === "package" ? "package:" : ""}${names[0]}`);
  }

  primitive(name: string, where: RWhere): void {
    if (!DANGEROUS_CALLS.has(name)) return;
    this.#add({
      ruleId: "r/dangerous-code",
      message: `primitive ${name}${at(where)} shipped as data`,
      offset: where.offset,
      evidence: { callee: name, kind: "primitive" },
    });
  }
}

/** The source expression a bytecode object keeps as its first constant, rendered. */
function deparseBytecode(bc: RNode): string {
  const source = bc.cells?.[0]?.value;
  return source === undefined ? "<bytecode>" : `<bytecode> ${deparse(source, 140)}`;
}
