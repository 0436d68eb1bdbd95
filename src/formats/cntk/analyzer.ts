/**
 * The CNTK analyzer: reads a v2 model's Dictionary tree (`./reader.ts`) and reports the
 * user-defined functions `cntk.load_model` would rebuild by running code: Python UDFs (their
 * module and class go into the loader's `exec("from {} import {}")`; critical when they are not
 * plain identifiers) and native UDFs (a shared library the loader opens). Every dictionary of the
 * tree is looked at, whatever its place (a UDF inside a block function's composite too), within a
 * step budget. A legacy (v1) model is reported as not analysed; a Dictionary that does not parse,
 * or is no CompositeFunction graph, is malformed (CNTK refuses it).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { CNTK_LEGACY_MARKER } from "./index.js";
import { CNTK_READ_BUDGETS, type CntkDict, CntkReadError, type CntkValue, readCntkDictionary } from "./reader.js";

/** Dictionaries and values visited at most by the judge (the reader builds at most as many nodes). */
const MAX_STEPS = CNTK_READ_BUDGETS.maxNodes * 2;

/** A module name Python's `from X import` takes as it is: identifiers joined by dots. */
const PLAIN_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** A class name `import` and the loader's `eval` take as it is. */
const PLAIN_CLASS = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A string entry of a dictionary, or undefined. */
const str = (d: CntkDict | undefined, key: string): string | undefined => d?.entries.get(key)?.str;

/** What a UDF entry holds, for evidence: the string, or what kind of value it is. */
function describe(d: CntkDict | undefined, key: string): string | undefined {
  const v = d?.entries.get(key);
  if (v === undefined) return undefined;
  if (v.str !== undefined) return preview(v.str, 200);
  return `<value of type ${v.type}>`;
}

/** Judges the tree's user-defined functions. */
class UdfJudge {
  readonly findings = new FindingList<FindingInput>();
  /** `user_defined_state` dictionaries already judged with their function (not UDFs themselves). */
  readonly #states = new Set<CntkDict>();
  primitives = 0;
  udfs = 0;

  /** Looks at every dictionary under `root`. */
  walk(root: CntkDict, checkpoint: () => void): void {
    const stack: Array<CntkDict | CntkValue> = [root];
    let steps = 0;
    while (stack.length > 0) {
      if (++steps > MAX_STEPS) {
        throw new ModelgateError("BUDGET_EXCEEDED", `more than ${MAX_STEPS} CNTK dictionary nodes judged`, {
          budget: "cntk.maxNodes",
        });
      }
      if ((steps & 0xfff) === 0) checkpoint();
      const node = stack.pop()!;
      if ("entries" in node) {
        this.#dict(node);
        for (const value of node.entries.values()) stack.push(value);
      } else {
        if (node.dict !== undefined) stack.push(node.dict);
        if (node.vector !== undefined) for (const item of node.vector) stack.push(item);
      }
    }
  }

  #dict(d: CntkDict): void {
    const type = str(d, "type");
    if (type === "PrimitiveFunction") this.primitives++;
    const state = d.entries.get("user_defined_state")?.dict;
    if (this.#states.has(d)) return;
    if (type !== "UserDefinedFunction" && state === undefined) return;
    this.udfs++;
    if (state !== undefined) this.#states.add(state);
    const name = str(d, "name") ?? str(d, "uid") ?? "?";
    const native =
      d.entries.get("native")?.bool === true ||
      str(state, "type") === "NativeUserDefinedFunction" ||
      (state?.entries.has("deserialize_method") === true && !state.entries.has("class"));
    if (native) {
      const library = describe(state, "module");
      const method = describe(state, "deserialize_method");
      this.findings.add({
        ruleId: "cntk/native-udf",
        message: `native user-defined function ${JSON.stringify(preview(name, 80))}: CNTK loads the library ${JSON.stringify(library ?? "?")} and calls ${JSON.stringify(method ?? "?")}`,
        offset: d.offset,
        evidence: {
          function: preview(name, 200),
          ...(library === undefined ? {} : { module: library }),
          ...(method === undefined ? {} : { deserializeMethod: method }),
          ...(str(state, "op") === undefined ? {} : { op: preview(str(state, "op")!, 200) }),
        },
      });
      return;
    }
    const module = state?.entries.get("module");
    const cls = state?.entries.get("class");
    const evidence = {
      function: preview(name, 200),
      ...(module === undefined ? {} : { module: describe(state, "module")! }),
      ...(cls === undefined ? {} : { class: describe(state, "class")! }),
      ...(str(state, "op_name") === undefined ? {} : { opName: preview(str(state, "op_name")!, 200) }),
    };
    // Strings that are not identifiers become code in `exec("from {} import {}")`; a value that is
    // no string formats as a list or dict literal, a syntax error there.
    const injected =
      (module?.str !== undefined && !PLAIN_MODULE.test(module.str)) ||
      (cls?.str !== undefined && !PLAIN_CLASS.test(cls.str));
    this.findings.add({
      ruleId: injected ? "cntk/udf-injection" : "cntk/python-udf",
      message: injected
        ? `Python user-defined function ${JSON.stringify(evidence.function)}: its module/class ${JSON.stringify(`${evidence.module ?? "?"} / ${evidence.class ?? "?"}`)} is code the loader's exec("from {} import {}") runs`
        : `Python user-defined function ${JSON.stringify(evidence.function)}: cntk.load_model imports ${JSON.stringify(evidence.module ?? "?")} and calls ${JSON.stringify(evidence.class ?? "?")}.deserialize`,
      offset: d.offset,
      evidence,
    });
  }
}

/** Whether the source opens with the legacy marker. */
function isLegacy(head: Uint8Array): boolean {
  return CNTK_LEGACY_MARKER.every((b, i) => head[i] === b);
}

/** Analyses CNTK models. */
export const cntkAnalyzer: Analyzer = {
  name: "cntk",
  formats: ["cntk"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    if (isLegacy(ctx.head)) {
      ctx.report({
        ruleId: "cntk/legacy-model",
        message: "legacy (v1) CNTK model: its network is not analysed",
        offset: 0,
      });
      ctx.fact("cntk.version", "v1");
      return;
    }
    const judge = new UdfJudge();
    const checkpoint = () => ctx.checkpoint();
    let root: CntkDict;
    try {
      root = await readCntkDictionary(ctx.source, { ...CNTK_READ_BUDGETS, checkpoint });
    } catch (error) {
      if (!(error instanceof CntkReadError)) throw error;
      // What was read before the break still counts (a UDF there is still reported).
      judge.walk(error.partial, checkpoint);
      for (const finding of judge.findings.list()) ctx.report(finding);
      const cause = error.error;
      if (cause.code !== "MALFORMED" && cause.code !== "TRUNCATED") throw cause;
      ctx.report({
        ruleId: "cntk/malformed",
        message: `the CNTK Dictionary does not parse: ${cause.message}`,
        ...(cause.offset === undefined ? {} : { offset: cause.offset }),
        evidence: { code: cause.code },
      });
      return;
    }
    judge.walk(root, checkpoint);
    for (const finding of judge.findings.list()) ctx.report(finding);
    const type = root.entries.get("type")?.str;
    const functions = root.entries.get("primitive_functions");
    if (type !== "CompositeFunction" || functions?.vector === undefined) {
      ctx.report({
        ruleId: "cntk/malformed",
        message: `the CNTK Dictionary is not a function graph (type ${JSON.stringify(preview(type ?? "none", 80))}${functions?.vector === undefined ? ", no primitive_functions" : ""})`,
        offset: 0,
        evidence: { type: preview(type ?? "", 80) },
      });
    }
    ctx.fact("cntk.version", "v2");
    ctx.fact("cntk.primitiveFunctions", judge.primitives);
    if (judge.udfs > 0) ctx.fact("cntk.userDefinedFunctions", judge.udfs);
  },
};
