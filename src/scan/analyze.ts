/**
 * Analysis of one byte stream (a file or a member): sniff, dispatch to analyzers, map errors to
 * findings, recurse into members.
 * @module
 */

import { type ByteSource, readClamped } from "../core/byte-source.js";
import { isModelgateError, ModelgateError as MgError, ruleForError, toModelgateError } from "../core/errors.js";
import type { Detection, Format } from "../core/formats.js";
import type { Limits } from "../core/limits.js";
import type { ScanRoot } from "../core/root.js";
import type { Verdict } from "../core/severity.js";
import type { ResolvedPolicy } from "../policy/policy.js";
import {
  ANALYZERS,
  expectedFormatsForName,
  FORMAT_CATALOG,
  INERT,
  OPAQUE_SNIFF_BYTES,
  sniff,
  TEXTUAL,
} from "../registry/catalog.js";
import { planClaims } from "../registry/claims.js";
import { getRule } from "../registry/rules.js";
import { isFileChangedError } from "../sources/file.js";
import type { FileRecorder, NodeRecord } from "./file-recorder.js";
import type { AnalysisContext, Analyzer, MemberOptions } from "./types.js";

/** Bytes the sniffer reads from the start. */
export const HEAD_BYTES = 64 * 1024;
/**
 * Bytes the sniffer reads from the end: a zip end record with the longest comment, and the zip64
 * locator before it, fit, so the zip reader's own search of the tail reads nothing more.
 */
export const TAIL_BYTES = 0xffff + 22 + 20;

/** Most bytes of small text files kept in memory per scan for repo analyzers. */
export const RETAINED_TEXT_BYTES = 32 * 1024 * 1024;

/** Shared state of one top-level file's analysis. */
export interface FileScanState {
  readonly recorder: FileRecorder;
  readonly limits: Readonly<Limits>;
  readonly policy: ResolvedPolicy;
  readonly signal: AbortSignal;
  readonly deadline: number;
  readonly root: ScanRoot;
  decompressed: number;
  /** Scan-wide count of small-file bytes kept for repo analyzers. */
  readonly retained: { bytes: number };
}

/** A stream to analyse. */
export interface NodeInput {
  readonly node: NodeRecord;
  readonly name: string;
  readonly source: ByteSource;
  readonly depth: number;
  readonly lineage: readonly Format[];
  readonly opaqueData: boolean;
}

/**
 * Throws when the file's analysis must stop (caller abort or deadline).
 * @param state - the file's state
 */
export function checkpoint(state: FileScanState): void {
  if (state.signal.aborted) {
    throw toModelgateError(state.signal.reason ?? new MgError("ABORTED", "scan aborted"));
  }
  if (Date.now() > state.deadline) {
    throw new MgError("TIMEOUT", `analysis exceeded ${state.limits.fileTimeoutMs} ms`);
  }
}

/**
 * Sniffs and analyses one stream, recursing into members through `scanMember`.
 * @param state - the file's state
 * @param input - the stream
 * @returns the node's verdict
 */
export async function analyzeNode(state: FileScanState, input: NodeInput): Promise<Verdict> {
  const { node, source } = input;
  const { recorder } = state;
  let head: Uint8Array;
  let tail: Uint8Array;
  let detections: Detection[];
  try {
    checkpoint(state);
    // Opaque data (tensor storages, unaccounted bytes) only has its first bytes sniffed: enough for
    // every magic, and no more than the read that found its header already brought in.
    head = await readClamped(source, 0, input.opaqueData ? OPAQUE_SNIFF_BYTES : HEAD_BYTES);
    // The tail finds zips behind other content. Opaque tensor storages are not read there: for a
    // deflated member that would inflate it whole, and no loader opens a storage as an archive.
    tail =
      source.size > head.length && !input.opaqueData
        ? await readClamped(source, source.size - TAIL_BYTES, TAIL_BYTES)
        : head;
    detections = sniff({ head, tail, size: source.size, name: input.name });
  } catch (error) {
    reportError(state, node, error);
    return node.verdict;
  }
  const primary = detections[0];
  const plan = planClaims({
    name: input.name,
    head,
    detections,
    opaque: input.opaqueData,
    textual: TEXTUAL,
    ...(input.depth > 0 && node.parent !== undefined ? { parent: node.parent.format } : {}),
  });
  node.format = plan.format;
  if (node === recorder.root && primary !== undefined && TEXTUAL.has(primary.format) && head.length === source.size) {
    const retained = state.retained;
    if (retained.bytes + head.length <= RETAINED_TEXT_BYTES) {
      retained.bytes += head.length;
      recorder.content = head;
    }
  }
  for (const d of detections) if (node === recorder.root) recorder.formats.add(d.format);

  if (primary?.format === "empty" && !input.opaqueData) {
    recorder.add(node, { ruleId: "format/empty", message: "file is empty" });
  }
  if (detections.length > 1) {
    recorder.add(node, {
      ruleId: "format/polyglot",
      message: `content is valid as ${detections.map((d) => d.format).join(" and ")}`,
      evidence: Object.fromEntries(detections.map((d) => [d.format, `${d.reason} at ${d.offset}`])),
    });
  }

  // When a weak pickle reading (the sniffer's guess) fails, the stream is what the other
  // candidates say: a vocabulary file opening "cat\ndog\n" is text, not unknown bytes.
  const runs = [...plan.runs];
  const fallback =
    plan.pickle === "weak" && detections[0]?.format === "pickle"
      ? sniff({ head, tail, size: source.size, name: input.name }, { pickle: false }).filter(
          (d) => !detections.some((x) => x.format === d.format && x.offset === d.offset),
        )
      : [];
  for (let i = 0; i < runs.length; i++) {
    const detection = runs[i]!;
    const analyzers = ANALYZERS.filter((a) => a.formats.includes(detection.format));
    if (analyzers.length === 0) {
      reportUnanalysed(state, node, detection);
      continue;
    }
    for (const analyzer of analyzers) {
      const ctx = makeContext(state, input, head, detections, detection);
      try {
        await analyzer.analyze(ctx);
      } catch (error) {
        if (
          (detection.claim === "weak" || detection.claim === "beside") &&
          (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED"))
        ) {
          continue; // a speculative reading that broke: the stream stays what the sniffer saw
        }
        reportError(state, node, error, analyzer);
        if (isModelgateError(error, "TIMEOUT") || isModelgateError(error, "ABORTED")) return node.verdict;
      }
    }
    if (detection.claim === "weak" && fallback.length > 0 && node.format !== "pickle") {
      node.format = fallback[0]!.format;
      if (node === recorder.root) for (const d of fallback) recorder.formats.add(d.format);
      runs.splice(i + 1, 0, ...fallback); // bounded: one detection per format
    }
  }

  if (node.format === "unknown" && !input.opaqueData) {
    recorder.add(node, { ruleId: "format/unknown", message: "content matches no format modelgate analyses" });
    await sweepUnknown(state, node, source);
  }
  const claim = plan.claim;
  if (claim !== undefined) {
    if (!claim.accepts.includes(node.format)) {
      recorder.add(node, {
        ruleId: "format/claim-unmet",
        message: `${claim.by} claims ${claim.pickle ? "a pickle (a loader would unpickle it)" : claim.accepts.join("/")} but the content ${node.format === "empty" ? "is empty" : `is ${node.format}`}${plan.pickle === undefined || node.format === "pickle" ? "" : " and does not parse as a pickle"}`,
        evidence: { name: input.name, claimedBy: claim.by, claimed: claim.accepts.join("/"), content: node.format },
      });
    }
  } else {
    const expected = expectedFormatsForName(input.name);
    if (expected !== undefined && primary !== undefined && !expected.includes(node.format) && node.format !== "empty") {
      recorder.add(node, {
        ruleId: "format/extension-mismatch",
        message: `named like ${expected.join("/")} but the content is ${node.format}`,
        evidence: { name: input.name, content: node.format },
      });
    }
  }
  return node.verdict;
}

/**
 * Bytes no format accounts for are swept for pickle imports of denied names at any offset (a
 * loader modelgate does not know may unpickle from behind its own header).
 */
async function sweepUnknown(state: FileScanState, node: NodeRecord, source: ByteSource): Promise<void> {
  try {
    const { sweepPickleImports } = await import("../formats/pickle/sweep.js");
    for (const hit of await sweepPickleImports(source, () => checkpoint(state))) {
      state.recorder.add(node, {
        ruleId: "format/embedded-pickle-import",
        severity: hit.severity,
        message: `unrecognised content holds a pickle import of ${hit.name} (${hit.category}) at byte ${hit.offset}: a loader that unpickles from there runs it`,
        offset: hit.offset,
        evidence: { global: hit.name, category: hit.category },
      });
    }
  } catch (error) {
    reportError(state, node, error);
  }
}

function reportUnanalysed(state: FileScanState, node: NodeRecord, detection: Detection): void {
  if (INERT.has(detection.format)) return;
  if (detection.format === "executable") {
    state.recorder.add(node, {
      ruleId: "format/executable",
      message: detection.reason,
      evidence: { kind: detection.reason },
    });
    return;
  }
  // Allowlist-first: recognised content nobody analysed is never passed as clean.
  state.recorder.add(node, {
    ruleId: "format/unsupported",
    message: `${detection.format} content is recognised but not analysed by this version`,
    evidence: { format: detection.format, reason: detection.reason },
  });
}

/**
 * Records a thrown error as a finding (and as a scan error for operational failures).
 * @param state - the file's state
 * @param node - where it happened
 * @param error - what was thrown
 * @param analyzer - the analyzer that threw, if any
 */
export function reportError(state: FileScanState, node: NodeRecord, error: unknown, analyzer?: Analyzer): void {
  const e = toModelgateError(error);
  const where = analyzer === undefined ? "" : ` (${analyzer.name})`;
  const finding: Parameters<FileRecorder["add"]>[1] = {
    // A remote object that changed while it was read (another ETag, a failed If-Match).
    ruleId: isFileChangedError(error) ? "scan/file-changed" : ruleForError(e),
    message: `${e.message}${where}`,
    evidence: { code: e.code, ...(e.budget === undefined ? {} : { budget: e.budget }) },
  };
  if (e.offset !== undefined) finding.offset = e.offset;
  state.recorder.add(node, finding);
}

function makeContext(
  state: FileScanState,
  input: NodeInput,
  head: Uint8Array,
  detections: readonly Detection[],
  detection: Detection,
): AnalysisContext {
  const { node, depth, lineage } = input;
  const { recorder, limits } = state;
  return {
    path: node.path,
    name: input.name,
    source: input.source,
    head,
    opaque: input.opaqueData,
    detections,
    detection,
    depth,
    lineage,
    limits,
    policy: state.policy,
    formats: FORMAT_CATALOG,
    signal: state.signal,
    root: state.root,
    report: (finding) => recorder.add(node, finding),
    severityOf: (finding) => finding.severity ?? getRule(finding.ruleId)?.severity ?? "medium",
    refineFormat: (format) => {
      node.format = format;
      if (node === recorder.root) recorder.formats.add(format);
    },
    fact: (key, value) => recorder.fact(node, key, value),
    checkpoint: () => checkpoint(state),
    chargeDecompressed: (bytes) => {
      state.decompressed += bytes;
      if (state.decompressed > limits.maxDecompressedBytes) {
        throw new MgError("BUDGET_EXCEEDED", `decompressed more than ${limits.maxDecompressedBytes} bytes`, {
          budget: "maxDecompressedBytes",
        });
      }
    },
    scanMember: (name, source, options: MemberOptions = {}) => scanMember(state, input, name, source, options),
  };
}

async function scanMember(
  state: FileScanState,
  parent: NodeInput,
  name: string,
  source: ByteSource,
  options: MemberOptions,
): Promise<Verdict> {
  checkpoint(state);
  const node: NodeRecord = {
    path: `${parent.node.path}!${name}`,
    parent: parent.node,
    size: source.size,
    format: options.formatHint ?? "unknown",
    verdict: "clean",
  };
  if (parent.depth + 1 > state.limits.maxDepth) {
    const finding: Parameters<FileRecorder["add"]>[1] = {
      ruleId: "container/depth-exceeded",
      message: `member nested deeper than ${state.limits.maxDepth} containers was not analysed`,
    };
    if (options.offset !== undefined) finding.offset = options.offset;
    state.recorder.add(node, finding);
    state.recorder.addMember(node);
    return node.verdict;
  }
  const verdict = await analyzeNode(state, {
    node,
    name: name.slice(name.lastIndexOf("/") + 1),
    source,
    depth: parent.depth + 1,
    lineage: [...parent.lineage, ...(options.alsoWithin ?? []), parent.node.format],
    opaqueData: options.opaqueData === true,
  });
  state.recorder.addMember(node);
  return verdict;
}
