/**
 * Judging one TorchServe manifest, wherever it lies (a zip `.mar`, a tgz, a no-archive model
 * folder): read its bytes within the budgets below, parse them as Python's `json` does, and report
 * what the manifest makes TorchServe do. A manifest that cannot be read or judged fails closed
 * (unjudged.ts): every code file TorchServe could import as the handler is reported as one.
 * @module
 */
import { isModelgateError, type ModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import { type DuplicateKey, decodeUtf8Strict, type JsonValue, parseStrictJson } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import { analyzeManifest, requirementsFindings, shadowFindings } from "./manifest.js";
import { rawHandlers, unjudgedFindings } from "./unjudged.js";
import type { JsonMemberOptions } from "./zip-listing.js";

/**
 * The largest manifest read (real ones are a few hundred bytes; Python reads any size). A larger
 * one, like any manifest that cannot be judged, fails closed (see unjudged.ts).
 */
export const MAX_MANIFEST_BYTES = 2 << 20;
/**
 * How a manifest is read, wherever it is. The budgets stay out of the way of anything Python's
 * `json` reads within {@link MAX_MANIFEST_BYTES}: values and string lengths are bounded by the bytes
 * themselves, the tree estimate of the densest shapes at that size fits, and the depth is as deep as
 * the recursive parser goes without stack risk (Python stops near 1000). Past any budget the
 * manifest fails closed.
 */
export const MANIFEST_JSON: JsonMemberOptions = {
  maxBytes: MAX_MANIFEST_BYTES,
  budget: "torchserve.maxManifestBytes",
  json: {
    maxDepth: 512,
    maxValues: MAX_MANIFEST_BYTES,
    maxStringLength: MAX_MANIFEST_BYTES,
    maxTreeBytes: 64 << 20,
  },
};

/** Where the judgement of one manifest goes. */
export interface ManifestSink {
  report(finding: FindingInput): void;
  fact(key: string, value: unknown): void;
}

/** A sink that can also be asked to stop (abort, timeout) while a manifest is parsed. */
export interface JudgeSink extends ManifestSink {
  checkpoint(): void;
}

/** The errors that mean the manifest's content cannot be judged (not an I/O failure). */
export function isContentError(error: unknown): error is ModelgateError {
  return (
    isModelgateError(error, "MALFORMED") ||
    isModelgateError(error, "TRUNCATED") ||
    isModelgateError(error, "BUDGET_EXCEEDED") ||
    isModelgateError(error, "UNSUPPORTED")
  );
}

/**
 * Reports a manifest that cannot be read or judged: `torchserve/malformed`, and (failing closed)
 * every code file of the model directory as a handler TorchServe could import, with the findings
 * that do not depend on the manifest (shadowing modules, `requirements.txt`).
 * @param sink - where findings go
 * @param manifest - the manifest's name, or undefined when there is none
 * @param members - the model directory's files, relative to it
 * @param reason - why it cannot be judged
 * @param place - what holds the files, for messages
 * @param bytes - the manifest's bytes when they were read, for the handler values they name
 * @param code - the error code that stopped the reading, if any
 */
export function reportUnjudged(
  sink: ManifestSink,
  manifest: string | undefined,
  members: ReadonlySet<string>,
  reason: string,
  place: "archive" | "model folder",
  bytes?: Uint8Array,
  code?: string,
): void {
  const evidence = {
    ...(manifest === undefined ? {} : { member: preview(manifest, 200) }),
    ...(code === undefined ? {} : { code }),
  };
  sink.report({
    ruleId: "torchserve/malformed",
    message: manifest === undefined ? reason : `${manifest} could not be read: ${reason}`,
    evidence,
  });
  const handlers = bytes === undefined ? [] : rawHandlers(bytes);
  const findings = [
    ...unjudgedFindings(members, reason, place, handlers),
    ...shadowFindings(members, place),
    ...requirementsFindings(members, undefined, place),
  ];
  for (const finding of findings) {
    sink.report({ ...finding, evidence: { ...finding.evidence, ...(manifest === undefined ? {} : { manifest }) } });
  }
}

/**
 * Reads, parses and judges one manifest against the model directory's files. A manifest whose
 * content cannot be judged (too large, malformed, over a parser budget, not UTF-8) fails closed
 * ({@link reportUnjudged}); an I/O failure is thrown.
 * @param sink - where findings and facts go
 * @param manifest - the manifest's name, for evidence
 * @param read - reads its bytes, at most {@link MAX_MANIFEST_BYTES} (`BUDGET_EXCEEDED` past it)
 * @param members - the model directory's files, relative to it
 * @param place - what holds the files, for messages
 */
export async function judgeManifest(
  sink: JudgeSink,
  manifest: string,
  read: () => Promise<Uint8Array>,
  members: ReadonlySet<string>,
  place: "archive" | "model folder" = "archive",
): Promise<void> {
  let bytes: Uint8Array | undefined;
  let parsed: ReturnType<typeof parseStrictJson>;
  try {
    bytes = await read();
    parsed = parseStrictJson(decodeUtf8Strict(bytes), {
      ...MANIFEST_JSON.json,
      allowNonFinite: true,
      allowLoneSurrogates: true,
      checkpoint: () => sink.checkpoint(),
    });
  } catch (error) {
    if (!isContentError(error)) throw error;
    reportUnjudged(sink, manifest, members, error.message, place, bytes, error.code);
    return;
  }
  reportManifest(sink, parsed.value, members, manifest, place, parsed.duplicates);
}

/**
 * Judges one parsed manifest against the member list and reports what it makes TorchServe do.
 * @param sink - where findings and facts go
 * @param value - the manifest's JSON
 * @param members - the model directory's files, relative to it
 * @param manifest - the manifest's name, for evidence
 * @param place - what holds the files, for messages
 * @param duplicates - keys the manifest repeats
 */
export function reportManifest(
  sink: ManifestSink,
  value: JsonValue,
  members: ReadonlySet<string>,
  manifest: string,
  place: "archive" | "model folder" = "archive",
  duplicates: readonly DuplicateKey[] = [],
): void {
  const { findings, facts } = analyzeManifest(value, members, place, duplicates);
  for (const finding of findings) sink.report({ ...finding, evidence: { ...finding.evidence, manifest } });
  for (const [key, fact] of Object.entries(facts)) sink.fact(key, fact);
}
