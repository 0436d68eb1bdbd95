/**
 * Typed errors. Every error the library throws on purpose is a {@link ModelgateError} with a
 * stable {@link ErrorCode}; anything else reaching a caller is a bug. {@link ERROR_TABLE} says what
 * the scan engine makes of each code.
 * @module
 */
import type { RuleId } from "./findings.js";

/**
 * Stable error codes.
 *
 * - `TRUNCATED`: the input ended before a structure it declares.
 * - `MALFORMED`: the input violates its format.
 * - `BUDGET_EXCEEDED`: a configured budget (bytes, depth, entries, opcodes, ...) was exceeded.
 * - `UNSUPPORTED`: the input is recognised but cannot be analysed (e.g. RAR, a truly encrypted zip or 7z).
 * - `IO`: reading the input failed.
 * - `ABORTED`: the caller's AbortSignal fired.
 * - `TIMEOUT`: the per-file time budget ran out.
 * - `INVALID_ARGUMENT`: the caller passed a bad option or target.
 * - `SIGNATURE`: a signature could not be parsed or verified.
 * - `NETWORK`: a remote source failed.
 * - `POLICY`: a policy file or override is invalid.
 * - `INTERNAL`: an invariant of the library itself was broken.
 */
export type ErrorCode =
  | "TRUNCATED"
  | "MALFORMED"
  | "BUDGET_EXCEEDED"
  | "UNSUPPORTED"
  | "IO"
  | "ABORTED"
  | "TIMEOUT"
  | "INVALID_ARGUMENT"
  | "SIGNATURE"
  | "NETWORK"
  | "POLICY"
  | "INTERNAL";

/** Details attached to a {@link ModelgateError}. */
export interface ModelgateErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
  /** Byte offset in the input where the problem was found, when known. */
  offset?: number;
  /** Name of the budget that was exceeded (for `BUDGET_EXCEEDED`). */
  budget?: string;
}

/** The one error class the library throws on purpose. */
export class ModelgateError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Byte offset in the input where the problem was found, when known. */
  readonly offset: number | undefined;
  /** Name of the budget that was exceeded (for `BUDGET_EXCEEDED`). */
  readonly budget: string | undefined;

  /**
   * @param code - stable error code
   * @param message - human-readable description
   * @param options - cause, offset and budget name
   */
  constructor(code: ErrorCode, message: string, options: ModelgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ModelgateError";
    this.code = code;
    this.offset = options.offset;
    this.budget = options.budget;
  }
}

/**
 * Whether a value is a {@link ModelgateError}, optionally with the given code.
 * @param value - anything caught
 * @param code - the code to match, if any
 */
export function isModelgateError(value: unknown, code?: ErrorCode): value is ModelgateError {
  return value instanceof ModelgateError && (code === undefined || value.code === code);
}

/**
 * Wraps any thrown value into a {@link ModelgateError}; typed errors pass through unchanged and
 * AbortSignal reasons become `ABORTED`/`TIMEOUT`.
 * @param value - the caught value
 */
export function toModelgateError(value: unknown): ModelgateError {
  if (value instanceof ModelgateError) return value;
  if (value instanceof Error && value.name === "TimeoutError") {
    return new ModelgateError("TIMEOUT", "time budget exceeded", { cause: value });
  }
  if (value instanceof Error && value.name === "AbortError") {
    return new ModelgateError("ABORTED", "scan aborted", { cause: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  const errno = (value as { code?: unknown } | null)?.code;
  if (typeof errno === "string" && /^E[A-Z]+$/.test(errno)) {
    return new ModelgateError("IO", message, { cause: value });
  }
  return new ModelgateError("INTERNAL", message, { cause: value });
}

/** What the scan engine makes of one {@link ErrorCode}. */
export interface ErrorRule {
  /** Rule of the finding an error of this code becomes when it ends an analysis. */
  readonly rule: RuleId;
  /**
   * The finding also means the scan did not complete: the report lists it under `errors` (and a
   * repository analyzer's finding of this rule too). A rule that several operational codes share
   * is listed under the first of them in {@link ERROR_TABLE}.
   */
  readonly operational: boolean;
}

/**
 * The one table of error codes: the rule each becomes and whether it is operational. The engine's
 * {@link ruleForError} and {@link operationalCode} are derived from it.
 */
export const ERROR_TABLE: { readonly [C in ErrorCode]: ErrorRule } = Object.freeze({
  TRUNCATED: { rule: "format/malformed", operational: false },
  MALFORMED: { rule: "format/malformed", operational: false },
  BUDGET_EXCEEDED: { rule: "scan/budget-exceeded", operational: false },
  UNSUPPORTED: { rule: "format/unsupported", operational: false },
  IO: { rule: "scan/read-error", operational: true },
  NETWORK: { rule: "scan/read-error", operational: true },
  ABORTED: { rule: "scan/aborted", operational: true },
  TIMEOUT: { rule: "scan/timeout", operational: true },
  INTERNAL: { rule: "scan/internal-error", operational: true },
  INVALID_ARGUMENT: { rule: "scan/internal-error", operational: true },
  SIGNATURE: { rule: "scan/internal-error", operational: true },
  POLICY: { rule: "scan/internal-error", operational: true },
});

/**
 * Operational rules the engine reports on its own rather than for a thrown error's code, with the
 * code the report lists them under.
 */
export const ENGINE_OPERATIONAL_RULES: Readonly<Partial<Record<RuleId, ErrorCode>>> = Object.freeze({
  "scan/file-changed": "IO",
  "scan/depth-exceeded": "BUDGET_EXCEEDED",
});

/**
 * The rule of the finding a thrown error becomes (`scan/budget-exceeded`, `format/malformed` ...).
 * @param error - the error that ended an analysis
 */
export function ruleForError(error: ModelgateError): RuleId {
  return (ERROR_TABLE[error.code] ?? ERROR_TABLE.INTERNAL).rule;
}

const OPERATIONAL: ReadonlyMap<string, ErrorCode> = (() => {
  const map = new Map<string, ErrorCode>();
  for (const [code, { rule, operational }] of Object.entries(ERROR_TABLE) as [ErrorCode, ErrorRule][]) {
    if (operational && !map.has(rule)) map.set(rule, code);
  }
  for (const [rule, code] of Object.entries(ENGINE_OPERATIONAL_RULES) as [RuleId, ErrorCode][]) map.set(rule, code);
  return map;
})();

/**
 * The error code under which a finding of this rule is listed in the report's `errors` (it means
 * the scan did not complete), or `undefined` for a rule that does not.
 * @param ruleId - a finding's rule
 */
export function operationalCode(ruleId: string): ErrorCode | undefined {
  return OPERATIONAL.get(ruleId);
}
