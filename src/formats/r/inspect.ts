/**
 * Turns what the walk of an R stream reports ({@link RWalkEvents}) into findings: promises,
 * closures and bytecode by what they call, language objects that call dangerous functions,
 * environment hooks, external pointers, ALTREP classes and persistent references. Findings go
 * through one {@link FindingList}, so a stream of a million closures yields a bounded report.
 * @module
 */
import { pushAll } from "../../core/arrays.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { Severity } from "../../core/severity.js";
import { deparse } from "./deparse.js";
import { knownPackageClosure } from "./known.js";
import {
  CONTROL_NAME,
  DANGEROUS_CALLS,
  isFitter,
  KNOWN_CLOSURES,
  KNOWN_NATIVE,
  LANGUAGE_ALLOW,
  LANGUAGE_NAMESPACES,
  nativeMarker,
  PROMISE_ALLOW,
  TEXT_BUILDERS,
  TEXT_TO_CODE,
  VALUE_REFS,
} from "./names.js";
import { isImpureCall, isPureCall, isTabledPackage } from "./pure.js";
import {
  type CodeSummary,
  callsByName,
  type RNode,
  type RWalkEvents,
  type RWhere,
  SXP,
  TEXT_NOT_KEPT,
} from "./reader.js";
import { textProblem } from "./text.js";

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

/** A code summary as one string: calls | dangerous names | dangerous strings | computed calls, each sorted. */
export function closureSignature(code: CodeSummary): string {
  return [code.calls, code.refs, code.strings, code.computed].map((s) => [...s].sort().join(",")).join(" | ");
}

/** Whether a closure is one of base R's own model closures ({@link KNOWN_CLOSURES}). */
function knownClosure(code: CodeSummary, namespace: string | undefined): boolean {
  if (namespace === undefined || code.overflow) return false;
  return KNOWN_CLOSURES.get(namespace)?.has(closureSignature(code)) === true;
}

/** Attributes of a `terms` object that `model.frame` evaluates as they are. */
const EVALUATED_ATTRIBUTES: readonly string[] = ["predvars", "variables"];

/**
 * Whether an attribute is one `model.frame` evaluates. R's `attr(x, "predvars")` takes a longer
 * name that starts with it when no attribute has the exact name (`predvars_`, `predvarsX`): any
 * name starting with an evaluated one counts.
 */
export function isEvaluatedAttribute(label: string): boolean {
  return EVALUATED_ATTRIBUTES.some((a) => label.startsWith(a));
}

/**
 * Whether a call (bare or `pkg::name`) is one a stored call may make: the allowlist, option-list
 * constructors and the pure functions of R's base packages ({@link isPureCall}) but model fitters,
 * bare or qualified alike; anything of splines.
 */
function languageAllowed(name: string): boolean {
  if (LANGUAGE_ALLOW.has(name) || CONTROL_NAME.test(name)) return true;
  const m = /^([^:]+):::?(.+)$/.exec(name);
  // a model fitter is allowed only as the outer function of a model's call (see unlistedLanguageCalls)
  if (m === null) {
    return (
      !DANGEROUS_CALLS.has(name) &&
      !callsByName(name) &&
      !isFitter(name) &&
      !TEXT_BUILDERS.has(name) &&
      isPureCall(name)
    );
  }
  const [, pkg, bare] = m;
  if (DANGEROUS_CALLS.has(bare!) || callsByName(bare!)) return false;
  // `survival::Surv`, `rpart::rpart.control`: an allowed name in any package
  if (LANGUAGE_ALLOW.has(bare!) || CONTROL_NAME.test(bare!)) return true;
  if (TEXT_BUILDERS.has(bare!)) return false; // text whose content no literal shows
  return (isPureCall(name) && !isFitter(bare!)) || (LANGUAGE_NAMESPACES.has(pkg!) && !isTabledPackage(pkg!));
}

/**
 * Whether an unlisted entry of a stored call is only a function nothing knows (a user's own
 * function, a package's fitter not in {@link isFitter}): not a dangerous or acting function of R's
 * packages, not one that calls what it is given, not computed, bound, named as a value or text.
 * Such a call is reported `medium`: what it runs depends on the loading session.
 */
function unknownCallee(entry: string): boolean {
  if (!/^(?:[A-Za-z.][A-Za-z0-9._]*:::?)?[A-Za-z.][A-Za-z0-9._]*$/.test(entry)) return false;
  const bare = entry.slice(entry.lastIndexOf(":") + 1);
  if (languageAllowed(entry)) return false; // an allowed name listed anyway (text built in a fitter's call)
  if (DANGEROUS_CALLS.has(entry) || DANGEROUS_CALLS.has(bare) || VALUE_REFS.has(bare)) return false;
  return !callsByName(entry) && !isImpureCall(entry) && !TEXT_BUILDERS.has(bare) && !TEXT_TO_CODE.has(bare);
}

/**
 * Calls of a language object found as data outside {@link LANGUAGE_ALLOW}, computed functions
 * included, and what its texts would call if parsed. The outermost function of a model's stored
 * call (`$call`, a list element whose name the walk does not know; a `call` slot; `nls`'s own `cl`)
 * may be a known model fitter ({@link isFitter}: `lm(...)`, `rpart::rpart(...)`), which `update()`
 * calls again with the stored arguments, judged like the rest; not in a `terms` attribute
 * `model.frame` evaluates. Any other outer function (`postscript(file = "|cmd")`) is judged too.
 */
function unlistedLanguageCalls(call: RNode, code: CodeSummary, where: RWhere): string[] {
  const callee = call.callee ?? "<call>";
  const bareCallee = callee.slice(callee.lastIndexOf(":") + 1);
  const outerFree =
    isFitter(bareCallee) && !callsByName(callee) && (where.label === undefined || !isEvaluatedAttribute(where.label));
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
  if (outerFree) {
    // a fitter parses a formula given as text: text built at run time cannot be judged
    pushAll(
      out,
      [...code.calls].filter((c) => TEXT_BUILDERS.has(c.slice(c.lastIndexOf(":") + 1))),
    );
    // `glm(family = "binomial")` fetches the family function by name and calls it
    for (const cell of call.cells ?? [])
      if (cell.tag === "family" && cell.value.type === SXP.STR)
        for (const name of cell.value.strings ?? [])
          if (!languageAllowed(name)) out.push(`family ${JSON.stringify(name)}`);
  }
  pushAll(out, code.computed);
  // binding a name (`(log = pipe)`, `function(log = pipe)`) lets allowed calls run anything
  pushAll(
    out,
    [...code.binders].map((b) => `binds: ${b}`),
  );
  pushAll(
    out,
    [...code.values].map((v) => `names ${v} as a value`),
  );
  pushAll(out, textProblems(code));
  if (code.overflow) out.push("<more names than kept>");
  return [...new Set(out)].sort();
}

/**
 * What the texts of a stored call would run if parsed: strings given to a function that turns text
 * into a formula must be `~` formulas calling allowed functions; any other string literal may be
 * parsed by a function that takes a formula as text (`lm(formula = "...")`), so it must call
 * allowed functions only.
 */
function textProblems(code: CodeSummary): string[] {
  const out: string[] = [...code.textCalls];
  const allowed = (name: string): boolean => languageAllowed(name);
  for (const t of code.formulaTexts) {
    const problem = textProblem(t, allowed, true);
    if (problem !== undefined) out.push(`formula text ${JSON.stringify(preview(t, 60))} (${problem})`);
  }
  for (const t of code.texts) {
    if (t === TEXT_NOT_KEPT) {
      out.push(TEXT_NOT_KEPT);
      continue;
    }
    const problem = textProblem(t, allowed, false);
    if (problem !== undefined) out.push(`text ${JSON.stringify(preview(t, 60))} (${problem})`);
  }
  return out;
}

/**
 * Whether code calls only what a model's stored call may: allowed functions and model fitters,
 * no text built at run time, no text that would call anything else, nothing computed.
 */
function storedCallOnly(code: CodeSummary): boolean {
  if (code.overflow || code.computed.size > 0 || code.binders.size > 0 || code.values.size > 0) return false;
  if (textProblems(code).length > 0) return false;
  return [...code.calls].every((c) => {
    const bare = c.slice(c.lastIndexOf(":") + 1);
    return !TEXT_BUILDERS.has(bare) && (languageAllowed(c) || (isFitter(bare) && !callsByName(c)));
  });
}

/** Calls of a promise outside {@link PROMISE_ALLOW}. */
function unlistedCalls(code: CodeSummary): string[] {
  const out = [...code.calls].filter((c) => !PROMISE_ALLOW.has(c));
  if (code.computed.size > 0) pushAll(out, code.computed);
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
  /** Closures recognised as package code ({@link knownPackageClosure}): counted, not reported. */
  knownClosures = 0;

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
    const evidence = {
      callee: list(calls.length > 0 ? calls : ["<none>"]),
      call: deparse(expression),
      forced: where.forced,
      ...(where.label === undefined ? {} : { binding: preview(where.label, 80) }),
    };
    // A promise saved forced carries its value (PRVALUE, read as its own item and judged where it
    // is): R returns that value and never evaluates the expression again (forcePromise evaluates
    // only when PRVALUE is R_UnboundValue, which the stream writes as UNBOUNDVALUE_SXP). Its code
    // is a record of how the value was made (stats' nls model keeps such promises).
    if (where.forced) {
      this.#add({
        ruleId: "r/promise",
        message: `promise${at(where)}: ${deparse(expression, 100)} already forced when saved: R returns its saved value and never evaluates the expression`,
        offset: where.offset,
        severity: "info",
        evidence,
      });
      return;
    }
    // Forcing a literal evaluates nothing (a glm family's environment keeps `link = "logit"`
    // unforced); forcing a symbol only reads a variable (whose own promise or active binding is
    // reported where it is bound); a call runs code. A compiled argument (bytecode, its source
    // expression first in its pool) is judged by that source when the rest of its pool, which
    // holds the call it was an argument of for error messages, calls only what a stored call may.
    const compiledModelArgument = expression.type === SXP.BCODE && dangerous.length === 0 && storedCallOnly(code);
    const source = expression.type === SXP.BCODE ? expression.cells?.[0]?.value : expression;
    // Bytecode runs its instructions, not the source it records: one whose source is a constant
    // or a variable is not "nothing runs" (R's compiler passes constant arguments without a
    // promise, so such a promise is not R's own either); its instructions are not checked here.
    const compiled = expression.type === SXP.BCODE;
    const severity: Severity | undefined =
      dangerous.length > 0 || (unlisted.length > 0 && !compiledModelArgument) || source === undefined
        ? undefined
        : CONSTANTS.has(source.type)
          ? compiled
            ? "medium"
            : "info"
          : source.type === SXP.SYM
            ? "medium"
            : "high";
    const what =
      severity === "info"
        ? "a constant, evaluated (nothing runs)"
        : compiled && severity === "medium"
          ? "compiled code recording a constant or a variable as its source (its instructions are not checked), run"
          : severity === "medium"
            ? "a variable, read"
            : "runs";
    this.#add({
      ruleId: "r/promise",
      message: `promise${at(where)}: ${deparse(expression, 100)} ${what} when the loaded value is first used`,
      offset: where.offset,
      ...(severity === undefined ? {} : { severity }),
      evidence,
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
    // a package's own closure, byte for byte, run against its installed namespace: nothing shipped
    if (node.type === SXP.CLO && knownPackageClosure(node, namespace)) {
      this.knownClosures++;
      return;
    }
    const known = kind !== "bytecode" && knownClosure(code, namespace);
    const dangerous = known ? [] : dangerousNames(code, namespace);
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
        ...(known ? { known: `${namespace} model closure` } : {}),
      },
    });
  }

  language(call: RNode, where: RWhere): void {
    const code = call.code;
    if (code === undefined) return;
    const dangerous = dangerousNames(code);
    // A call, or an expression vector (a glm family's `initialize`, which glm.fit evaluates), is
    // data that model methods evaluate: allowlist first.
    const unlisted = unlistedLanguageCalls(call, code, where);
    if (dangerous.length === 0 && unlisted.length === 0) return;
    // a function nothing knows (a user's own, a package's fitter): what it runs depends on the session
    const unknown = dangerous.length === 0 && unlisted.every(unknownCallee);
    this.#add({
      ruleId: "r/language-call",
      message:
        dangerous.length > 0
          ? `language object${at(where)} calls ${list(dangerous, 6)}: model methods (predict, update, model.frame) evaluate such calls`
          : unknown
            ? `language object${at(where)} calls ${list(unlisted, 6)}, functions this scanner does not know (none of R's base packages' functions that act): model methods (predict, update, model.frame) evaluate it`
            : `language object${at(where)} calls ${list(unlisted, 6)}, outside the functions formulas and stored model calls use: model methods (predict, update, model.frame) evaluate it`,
      offset: where.offset,
      ...(unknown ? { severity: "medium" as const } : {}),
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
