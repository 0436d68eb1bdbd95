/**
 * What the format readers of the subpath entries (`modelgate/safetensors`, `modelgate/pickle` ...)
 * share: the input they take, their options, the issue view, and opening an input under a read
 * budget. Each entry re-exports the types; this file is not an entry point of its own.
 * @module
 */
import { BufferSource, type ByteSource } from "../core/byte-source.js";
import type { Evidence, RuleId } from "../core/findings.js";
import { DEFAULT_LIMITS } from "../core/limits.js";
import type { Severity } from "../core/severity.js";
import { getRule } from "../registry/rules.js";
import { GuardedSource } from "../sources/byte-source.js";
import { FileSource } from "../sources/file.js";

/**
 * What a reader reads: a local file's path (opened read-only, without following a final
 * symbolic link), bytes in memory, or a {@link ByteSource}.
 */
export type ReaderInput = string | Uint8Array | ByteSource;

/** Options every reader takes. */
export interface ReaderOptions {
  /** Aborts the read (the reader rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
  /** Most bytes the reader may read (default: the scan's `maxReadBytes`, 64 GiB); past it, `BUDGET_EXCEEDED`. */
  readonly maxReadBytes?: number | undefined;
}

/** A rule violation a reader found, as a scan would report it (before any policy). */
export interface ReaderIssue {
  /** The rule (see docs/rules.md). */
  readonly ruleId: RuleId;
  /** The rule's default severity, or the one the reader gave this occurrence. */
  readonly severity: Severity;
  /** What is wrong, specifically. */
  readonly message: string;
  /** Byte offset in the input, when meaningful. */
  readonly offset?: number | undefined;
  /** Structured evidence. */
  readonly evidence?: Readonly<Evidence> | undefined;
}

/** An issue as the readers produce it internally. */
interface RawIssue {
  readonly ruleId: RuleId;
  readonly message: string;
  readonly offset?: number | undefined;
  readonly evidence?: Evidence | undefined;
  readonly severity?: Severity | undefined;
}

/**
 * The public view of a reader's issue, with its severity resolved.
 * @param issue - as the reader produced it
 */
export function issueView(issue: RawIssue): ReaderIssue {
  return {
    ruleId: issue.ruleId,
    severity: issue.severity ?? getRule(issue.ruleId)?.severity ?? "high",
    message: issue.message,
    ...(issue.offset === undefined ? {} : { offset: issue.offset }),
    ...(issue.evidence === undefined ? {} : { evidence: { ...issue.evidence } }),
  };
}

/**
 * Opens the input under the options' signal and read budget, runs `read` on it, and closes what
 * it opened.
 * @param input - path, bytes or source
 * @param options - signal and budget
 * @param read - the reader
 */
export async function withInput<T>(
  input: ReaderInput,
  options: ReaderOptions,
  read: (source: ByteSource) => Promise<T>,
): Promise<T> {
  const { signal } = options;
  const opened =
    typeof input === "string" ? await FileSource.open(input, signal === undefined ? {} : { signal }) : undefined;
  try {
    const inner = opened ?? (input instanceof Uint8Array ? new BufferSource(input) : (input as ByteSource));
    const source = new GuardedSource(inner, {
      maxReadBytes: options.maxReadBytes ?? DEFAULT_LIMITS.maxReadBytes,
      ...(signal === undefined ? {} : { signal }),
    });
    signal?.throwIfAborted();
    return await read(source);
  } finally {
    await opened?.close();
  }
}
