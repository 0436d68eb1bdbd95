/**
 * Mirror mode: many targets through a bounded pool, results streamed as they finish.
 * @module
 */
import { ModelgateError, toModelgateError } from "../core/errors.js";
import { TOOL_NAME, TOOL_VERSION } from "../core/version.js";
import type { PolicyOptions } from "../policy/policy.js";
import type { ScanReport, Target } from "../report/schema.js";
import { REPORT_SCHEMA_VERSION } from "../report/version.js";
import { redactUrl } from "../sources/http/config.js";
import { formatHubUri } from "../sources/hub/config.js";
import type { HubTransport } from "../sources/hub/transport.js";
import type { ScanTarget } from "../sources/roots.js";
import { scan, summarize } from "./engine.js";
import type { ScanOptions } from "./types.js";

/** Options of {@link scanMany}. */
export interface ScanManyOptions extends ScanOptions {
  /** Targets scanned at once (default 4). Files within a target follow `concurrency`. */
  targetConcurrency?: number;
  /**
   * Transport for Hub and URL targets that bring none: its connection and bytes-in-flight budgets
   * are shared by the whole pool (default: one created for this call).
   */
  hubTransport?: HubTransport;
  /**
   * The policy of one target, when targets differ (the CLI applies a policy found from the working
   * directory to local targets, not to Hub repositories). Returning undefined leaves `policy`.
   */
  policyFor?: (target: ScanTarget, index: number) => PolicyOptions | undefined;
}

/** One finished target. */
export interface ScanManyResult {
  /** Position of the target in the input. */
  readonly index: number;
  /** The target as given. */
  readonly target: ScanTarget;
  /**
   * Its report. When the target could not be scanned at all (missing path, unknown repository,
   * refused token), a report with no files, `complete: false` and verdict `invalid`.
   */
  readonly report: ScanReport;
  /** Why the target could not be scanned at all, when it could not. */
  readonly error?: ModelgateError;
}

/** A short name for a target, for reports of targets that could not be opened. */
function describe(target: ScanTarget): Target {
  if (typeof target === "string") return { kind: "file", name: target };
  if ("hub" in target && typeof target.hub === "object") {
    const t = target.hub;
    const name = formatHubUri({
      repo: String(t.repo),
      ...(t.repoType === undefined ? {} : { repoType: t.repoType }),
      ...(t.revision === undefined ? {} : { revision: t.revision }),
      ...(t.paths?.length === 1 ? { path: t.paths[0]! } : {}),
    });
    return { kind: "hub", name };
  }
  if ("url" in target && typeof target.url === "object")
    return { kind: "url", name: redactUrl(String(target.url.url)) };
  if ("s3" in target && typeof target.s3 === "object") {
    return { kind: "s3", name: `s3://${String(target.s3.bucket)}/${String(target.s3.prefix ?? "")}` };
  }
  if ("oci" in target && typeof target.oci === "object") return { kind: "oci", name: String(target.oci.reference) };
  if ("bytes" in target) return { kind: "bytes", name: String(target.name) };
  return { kind: "source", name: String((target as { name?: unknown }).name ?? "input") };
}

/**
 * The report of a target that could not be scanned at all: no files, incomplete, `invalid`.
 * @param target - the target
 * @param error - why
 */
export function failureReport(target: ScanTarget, error: ModelgateError): ScanReport {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    target: describe(target),
    startedAt: new Date().toISOString(),
    durationMs: 0,
    verdict: "invalid",
    complete: false,
    files: [],
    errors: [{ code: error.code, message: error.message }],
    summary: summarize([], 0),
  };
}

/**
 * Scans many targets (local paths, Hub repositories, bytes) with at most `targetConcurrency` at
 * once and yields each result as soon as it is ready, in completion order. The input is consumed
 * lazily, so it may be a long async stream of repositories. Never rejects for a single bad target:
 * that target's result carries an `invalid` report and the error. Breaking out of the loop aborts
 * the targets still running.
 * @param targets - what to scan
 * @param options - per-scan options (cache, policy, limits...) plus pool settings
 */
export async function* scanMany(
  targets: Iterable<ScanTarget> | AsyncIterable<ScanTarget>,
  options: ScanManyOptions = {},
): AsyncGenerator<ScanManyResult, void, undefined> {
  const limit = Math.floor(options.targetConcurrency ?? 4);
  if (!(limit >= 1)) throw new ModelgateError("INVALID_ARGUMENT", "targetConcurrency must be at least 1");
  const controller = new AbortController();
  const signal =
    options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
  const { targetConcurrency: _t, hubTransport: _h, policyFor, ...rest } = options;
  const scanOptions: ScanOptions = { ...rest, signal };
  let transport = options.hubTransport;
  const iterator =
    Symbol.asyncIterator in targets
      ? (targets as AsyncIterable<ScanTarget>)[Symbol.asyncIterator]()
      : (targets as Iterable<ScanTarget>)[Symbol.iterator]();

  const run = async (target: ScanTarget, index: number): Promise<ScanManyResult> => {
    let effective = target;
    if (typeof target === "object" && "hub" in target && typeof target.hub === "object" && !target.hub.transport) {
      // the transport's module loads with the first remote target: local scans never need it
      const http = await import("../sources/hub/transport.js");
      transport ??= new http.HubTransport();
      effective = { hub: { ...target.hub, transport } };
    } else if (
      typeof target === "object" &&
      "url" in target &&
      typeof target.url === "object" &&
      !target.url.transport
    ) {
      // the transport's module loads with the first remote target: local scans never need it
      const http = await import("../sources/hub/transport.js");
      transport ??= new http.HubTransport();
      effective = { url: { ...target.url, transport } };
    }
    try {
      const policy = policyFor?.(target, index);
      return {
        index,
        target,
        report: await scan(effective, policy === undefined ? scanOptions : { ...scanOptions, policy }),
      };
    } catch (error) {
      const e = toModelgateError(error);
      return { index, target, report: failureReport(target, e), error: e };
    }
  };

  const running = new Map<number, Promise<ScanManyResult>>();
  let next = 0;
  let exhausted = false;
  const refill = async (): Promise<void> => {
    // Once aborted, take no more input: an endless queue must drain, not yield aborted reports forever.
    while (!exhausted && running.size < limit && !signal.aborted) {
      const step = await iterator.next();
      if (step.done === true) {
        exhausted = true;
        return;
      }
      const index = next++;
      running.set(index, run(step.value, index));
    }
  };
  try {
    await refill();
    while (running.size > 0) {
      const result = await Promise.race(running.values());
      running.delete(result.index);
      await refill();
      yield result;
    }
  } finally {
    controller.abort(new ModelgateError("ABORTED", "scanMany stopped"));
    await Promise.allSettled(running.values());
    if (!exhausted) await iterator.return?.();
  }
}
