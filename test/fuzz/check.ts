/**
 * The fuzz oracle: what counts as a failure when one input goes through a reader or `scan()`.
 */
import { isModelgateError } from "../../src/core/errors.js";
import { getRule } from "../../src/registry/rules.js";
import { type Format, ScanReportSchema } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import type { Limits } from "../../src/scan/types.js";

/** Kinds of failure. */
export type FailureKind =
  /** An exception that is not a `ModelgateError` (directly, or as `scan/internal-error`). */
  | "crash"
  /** `scan()` itself rejected, or produced a report that is not valid JSON for its schema. */
  | "report"
  /** The analysis hit the fuzz time budget (`scan/timeout`) on a small input. */
  | "timeout"
  /** The input did not finish within the watchdog's limit. */
  | "hang"
  /** Peak memory grew past the allocation limit, or one allocation asked for more. */
  | "memory"
  /** The process running the input died (V8 out of memory, abort). */
  | "exit"
  /** The format's reader could not read the input, yet the scan called the file clean. */
  | "clean";

/** A failure found for one input. */
export class FuzzFailure extends Error {
  /** What went wrong. */
  readonly kind: FailureKind;
  /** Stable text used to tell distinct failures apart (kind, message without numbers, top frame). */
  readonly signature: string;

  /**
   * @param kind - the failure kind
   * @param message - what happened
   * @param where - the stack of the original exception, when there is one
   */
  constructor(kind: FailureKind, message: string, where?: string) {
    super(message);
    this.name = "FuzzFailure";
    this.kind = kind;
    if (where !== undefined) this.stack = where;
    this.signature = failureSignature(kind, message, where);
  }
}

/** Kind, message with digits and quoted text blanked, and the first frame inside the library. */
export function failureSignature(kind: string, message: string, stack?: string): string {
  const text = message
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, "…")
    .replace(/0x[0-9a-f]+|\d+/gi, "N")
    .slice(0, 160);
  const frame = stack
    ?.split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("at ") && /\/src\//.test(l))
    ?.replace(/^.*\/src\//, "src/")
    .replace(/:\d+\)?$/, "");
  return `${kind}: ${text}${frame === undefined ? "" : ` @ ${frame}`}`;
}

/** Budgets of every fuzz `scan()`: the library's defaults, with time and decompression scaled to fuzz inputs. */
export const FUZZ_LIMITS: Partial<Limits> = Object.freeze({
  fileTimeoutMs: 10_000,
  maxDecompressedBytes: 64 * 1024 * 1024,
});

/**
 * Runs a direct reader call: a `ModelgateError` is a correct rejection, anything else (or an
 * `INTERNAL` one, which wraps an unexpected exception) is a crash.
 * @param what - label for the failure message
 * @param fn - the call; it may return true to say the input was unreadable without throwing
 * @returns whether the reader rejected the input
 */
export async function typedOnly(what: string, fn: () => unknown): Promise<boolean> {
  try {
    return (await fn()) === true;
  } catch (error) {
    // INTERNAL is what the library wraps an unexpected exception in: a bug, like the exception
    if (isModelgateError(error) && error.code !== "INTERNAL") return true;
    if (error instanceof FuzzFailure) throw error;
    const cause = isModelgateError(error) && error.cause instanceof Error ? error.cause : error;
    const e = cause instanceof Error ? cause : new Error(String(cause));
    throw new FuzzFailure("crash", `${what}: ${e.name}: ${e.message}`, e.stack);
  }
}

function* findingsOf(value: unknown): Generator<{ ruleId: string; message: string }> {
  if (Array.isArray(value)) {
    for (const v of value) yield* findingsOf(v);
  } else if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.ruleId === "string" && typeof o.message === "string") {
      yield { ruleId: o.ruleId, message: o.message };
    }
    for (const v of Object.values(o)) if (v !== null && typeof v === "object") yield* findingsOf(v);
  }
}

/** Whether any of these rule ids makes a file at least `invalid`. */
export function anyInvalidating(ruleIds: Iterable<string>): boolean {
  for (const id of ruleIds) if (getRule(id)?.invalidates === true) return true;
  return false;
}

/**
 * Scans the bytes as one file named `name` under {@link FUZZ_LIMITS} and checks the report: no
 * `scan/internal-error` or `scan/timeout` anywhere (file, members), JSON-serialisable, valid for
 * the report schema, and not `clean` when the file's format is one whose reader could not read it.
 * @param bytes - the input
 * @param name - the file name the scan sees (the extension is a hint to the sniffer)
 * @param unreadableAs - formats whose reader rejected these bytes (or found them unusable)
 */
export async function checkScan(bytes: Uint8Array, name: string, unreadableAs: readonly Format[] = []): Promise<void> {
  let report: unknown;
  try {
    report = await scan({ bytes, name }, { hash: false, limits: FUZZ_LIMITS, concurrency: 1, signature: false });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    throw new FuzzFailure("report", `scan() rejected: ${e.name}: ${e.message}`, e.stack);
  }
  for (const f of findingsOf(report)) {
    if (f.ruleId === "scan/internal-error") throw new FuzzFailure("crash", `scan: ${f.message}`);
    if (f.ruleId === "scan/timeout") throw new FuzzFailure("timeout", `scan: ${f.message}`);
  }
  let json: string;
  try {
    json = JSON.stringify(report);
  } catch (error) {
    throw new FuzzFailure("report", `report is not JSON: ${String(error)}`);
  }
  const parsed = ScanReportSchema.safeParse(JSON.parse(json));
  if (!parsed.success) {
    throw new FuzzFailure("report", `report does not match its schema: ${parsed.error.issues[0]?.message ?? ""}`);
  }
  const file = parsed.data.files[0];
  if (file !== undefined && file.verdict === "clean" && unreadableAs.includes(file.format)) {
    throw new FuzzFailure("clean", `the ${file.format} reader rejected the input, yet the scan calls it clean`);
  }
}
