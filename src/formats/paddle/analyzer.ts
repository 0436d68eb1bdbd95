/**
 * The Paddle analyzer: walks the program's operators and reports those that call Python, touch
 * files or the network, or are not known core operators.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { CORE_OPS, IO_OPS, PYTHON_OPS } from "./ops.js";
import { type PaddleOp, readPaddleProgram } from "./reader.js";

/** Operator types listed as a fact. */
const MAX_TYPE_FACTS = 200;
/** Protobuf fields visited at most (a program is metadata: a large one has a few million). */
const MAX_FIELDS = 20_000_000;

/** Findings about the operators, aggregated by type (first occurrence's offset, count). */
export class PaddleOpJudge {
  readonly #types = new Map<string, { count: number; first: PaddleOp }>();
  readonly #findings = new FindingList<FindingInput>();

  /** Records one operator; `py_func` and I/O operators are reported for every occurrence. */
  add(op: PaddleOp): void {
    for (const type of new Set(op.types)) {
      const seen = this.#types.get(type);
      if (seen !== undefined) seen.count++;
      else if (this.#types.size < 100_000) this.#types.set(type, { count: 1, first: op });
      if (PYTHON_OPS.has(type)) {
        const forward = op.attrs.get("forward_callable_id");
        this.#findings.add({
          ruleId: "paddle/py-func",
          message: `operator ${type} in block ${op.block} calls the Python callable registered as ${forward ?? "?"}`,
          offset: op.offset,
          evidence: {
            opType: type,
            block: op.block,
            ...(forward === undefined ? {} : { forwardCallableId: forward }),
            ...attr(op, "backward_callable_id", "backwardCallableId"),
          },
        });
      } else if (IO_OPS.has(type)) {
        this.#findings.add({
          ruleId: "paddle/io-op",
          message: `operator ${type} in block ${op.block}${typeof op.attrs.get("file_path") === "string" ? ` uses path ${JSON.stringify(preview(String(op.attrs.get("file_path")), 120))}` : ""}`,
          offset: op.offset,
          evidence: {
            opType: type,
            block: op.block,
            ...attr(op, "file_path", "filePath"),
            ...attr(op, "endpoint", "endpoint"),
          },
        });
      }
    }
  }

  /** Findings: the per-occurrence ones, then one `paddle/unknown-op` per unknown type. */
  findings(): ReturnType<FindingList["list"]> {
    for (const [type, { count, first }] of this.#types) {
      if (PYTHON_OPS.has(type) || IO_OPS.has(type) || CORE_OPS.has(type)) continue;
      this.#findings.add({
        ruleId: "paddle/unknown-op",
        message: `${count} operator(s) of type ${JSON.stringify(preview(type, 80))}, not a known Paddle core operator`,
        offset: first.offset,
        evidence: { opType: preview(type, 200), count },
      });
    }
    return this.#findings.list();
  }

  /** Distinct operator types, most used first. */
  types(): string[] {
    return [...this.#types.entries()].sort((a, b) => b[1].count - a[1].count).map(([t]) => preview(t, 80));
  }
}

function attr(op: PaddleOp, name: string, key: string): Record<string, string | number> {
  const value = op.attrs.get(name);
  if (value === undefined) return {};
  return { [key]: typeof value === "string" ? preview(value, 200) : value };
}

/** Analyses Paddle programs. */
export const paddleAnalyzer: Analyzer = {
  name: "paddle",
  formats: ["paddle-program"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const judge = new PaddleOpJudge();
    let program: Awaited<ReturnType<typeof readPaddleProgram>>;
    try {
      program = await readPaddleProgram(
        ctx.source,
        { maxFields: MAX_FIELDS, checkpoint: () => ctx.checkpoint() },
        (op) => judge.add(op),
      );
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        // What was read before the break still counts (a py_func there is still reported).
        for (const finding of judge.findings()) ctx.report(finding);
        ctx.report({
          ruleId: "paddle/malformed",
          message: `the ProgramDesc does not parse: ${error.message}`,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
          evidence: { code: error.code },
        });
        return;
      }
      for (const finding of judge.findings()) ctx.report(finding);
      throw error;
    }
    for (const missing of program.missingRequired) {
      ctx.report({
        ruleId: "paddle/malformed",
        message: `the ProgramDesc has ${missing.what} (a required field is missing)`,
        offset: missing.offset,
      });
    }
    for (const finding of judge.findings()) ctx.report(finding);
    ctx.fact("paddle.blocks", program.blocks);
    ctx.fact("paddle.opCount", program.opCount);
    ctx.fact("paddle.opTypes", judge.types().slice(0, MAX_TYPE_FACTS));
    if (program.version !== undefined) ctx.fact("paddle.programVersion", program.version);
  },
};
