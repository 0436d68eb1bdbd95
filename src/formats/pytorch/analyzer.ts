/**
 * Legacy (pre-zip) PyTorch files, as `torch.save(..., _use_new_zipfile_serialization=False)`
 * writes them: five pickles (magic number, protocol version, system info, the object, the sorted
 * storage keys), then each storage as an 8-byte little-endian element count and its raw bytes.
 * Every pickle is analysed (`torch.load` runs the first three with plain `pickle.load`), the
 * storage layout is checked against what the pickles declare, and the storages are handed to the
 * engine as opaque members (sniffed, never parsed as tensors).
 * @module
 */

import type { Analyzer } from "../../core/analyzer.js";
import { readExact, SliceSource } from "../../core/byte-source.js";
import type { FindingInput } from "../../core/findings.js";
import {
  analysedPayloads,
  type PickleAnalysisOptions,
  type PickleRun,
  reportRuns,
  runPickle,
  withRereading,
} from "../pickle/analyze.js";
import { pickleBudgets, reportPickleAnalysis } from "../pickle/analyzer.js";
import { type PickleInput, SourceInput } from "../pickle/input.js";
import type { SharedState } from "../pickle/pymodel.js";
import { intOf, PyCall, PyDict, PyRef, PySeq, seqItems, strOf } from "../pickle/values.js";
import { storageElementSize } from "./storage-types.js";
import { analyzeLegacyTarMember, legacyTarMember } from "./tar-members.js";

/** The magic number the first pickle holds. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The protocol version the second pickle holds. */
export const LEGACY_PROTOCOL_VERSION = 1001;

/** Analyses legacy PyTorch files. */
export const pytorchLegacyAnalyzer: Analyzer = {
  name: "pytorch-legacy",
  formats: ["pytorch-legacy"],
  async analyze(ctx) {
    // A member `storages`/`tensors` of a legacy tar checkpoint, claimed by its name (the sniffer
    // never gives this format a claim): read as torch's legacy_load reads that member.
    const member = ctx.detection.claim === undefined ? undefined : legacyTarMember(ctx.name);
    if (member !== undefined) {
      await analyzeLegacyTarMember(ctx, member);
      return;
    }
    const input = new SourceInput(ctx.source, ctx.detection.offset);
    // the registries of this load (the five pickles and what they hand to loaders share them), and
    // the payloads analysed (shared with the other reading below: each is analysed once)
    const analysed = analysedPayloads();
    const base = { policy: ctx.policy.options.pickle, ...pickleBudgets(ctx), analysed };
    const layout: FindingInput[] = [];
    const shared = newShared();
    const runs = await legacyPickles(input, { ...base, shared }, ctx.limits.maxEntries, layout);
    // A FRAME that an opcode crosses, or that runs on past its pickle's STOP: a buffered file
    // (torch.load(path)) and a file object without peek (torch.load(BytesIO), _load_from_bytes)
    // read other pickles, so both readings are analysed.
    const crossing = runs.find((r) => r.result?.rereads === true || r.error?.rereads === true);
    if (crossing !== undefined) {
      layout.push({
        ruleId: "pytorch/legacy-layout",
        message: `an opcode of the ${LEGACY_PICKLES[runs.indexOf(crossing)]} pickle crosses a FRAME end, or its FRAME runs on past its STOP: torch.load reading a file object without peek (io.BytesIO) reads other pickles than from a file`,
        offset: crossing.start,
      });
    }
    let analysis = await reportRuns(runs, input, { ...base, shared, context: "pytorch" }, undefined);
    if (crossing !== undefined) {
      // torch.load(io.BytesIO(...)): another load, with registries of its own
      const start = runs[0]?.start ?? ctx.detection.offset;
      const from = new SliceSource(ctx.source, start, ctx.source.size - start);
      analysis = await withRereading(analysis, from, start, async (reread) => {
        const own = { ...base, shared: newShared() };
        const altRuns = await legacyPickles(reread, own, ctx.limits.maxEntries, []);
        return reportRuns(altRuns, reread, { ...own, context: "pytorch" }, undefined);
      });
    }
    const ok = runs.length === 5 && runs.every((r) => r.error === undefined);
    const magic = runs[0]?.machine.result;
    if (
      runs[0]?.error === undefined &&
      runs[0] !== undefined &&
      !(typeof magic === "bigint" && magic === LEGACY_MAGIC)
    ) {
      layout.push({
        ruleId: "pytorch/legacy-layout",
        message: "the first pickle is not the legacy PyTorch magic number (torch.load raises after running it)",
        offset: runs[0].start,
        evidence: {
          value:
            typeof magic === "bigint"
              ? `0x${magic.toString(16)}`
              : String(magic instanceof PyCall ? `${magic.calleeName ?? "?"}(...)` : magic),
        },
      });
    }
    const version = intOf(runs[1]?.machine.result ?? undefined);
    if (runs[1] !== undefined && runs[1].error === undefined && version !== LEGACY_PROTOCOL_VERSION) {
      layout.push({
        ruleId: "pytorch/legacy-layout",
        message: `unexpected legacy protocol version ${String(version)}`,
        offset: runs[1].start,
      });
    }
    const info = runs[2]?.machine.result;
    if (runs[2] !== undefined && runs[2].error === undefined && !(info instanceof PyDict)) {
      layout.push({
        ruleId: "pytorch/legacy-layout",
        message: "system info pickle is not a dict",
        offset: runs[2].start,
      });
    }
    await reportPickleAnalysis(ctx, analysis);
    for (const f of layout) ctx.report(f);
    if (!ok) return;

    // Storages: the keys pickle lists them in file order; the object pickle's persistent ids
    // give each one's element type and count.
    const keysValue = runs[4]?.machine.result;
    const keys =
      keysValue instanceof PySeq && keysValue.count === keysValue.items.length
        ? keysValue.items.map((v) => strOf(v))
        : undefined;
    if (keys === undefined || keys.some((k) => k === undefined)) {
      ctx.report({
        ruleId: "pytorch/legacy-layout",
        message: "storage keys pickle is not a list of str",
        offset: runs[4]?.start ?? 0,
      });
      return;
    }
    const storages = new Map<string, { type: string; numel: number | undefined }>();
    for (const p of runs[3]?.machine.persistentIds ?? []) {
      const items = seqItems(p.pid);
      if (strOf(items?.[0]) !== "storage") continue;
      const type = items?.[1];
      const key = strOf(items?.[2]);
      const typeName = type instanceof PyRef ? type.name : undefined;
      if (key !== undefined && typeName !== undefined) storages.set(key, { type: typeName, numel: intOf(items?.[4]) });
    }
    let offset = input.offset;
    let total = 0;
    for (const key of keys as string[]) {
      ctx.checkpoint();
      const st = storages.get(key);
      const elem = st === undefined ? undefined : storageElementSize(st.type);
      if (st === undefined || elem === undefined) {
        ctx.report({
          ruleId: "pytorch/legacy-layout",
          message: `storage key ${JSON.stringify(key)} has no storage of a known type in the object pickle`,
          offset,
        });
        return;
      }
      if (offset + 8 > ctx.source.size) {
        ctx.report({ ruleId: "pytorch/legacy-layout", message: `storage ${key} is truncated (no size field)`, offset });
        return;
      }
      const sizeField = await readExact(ctx.source, offset, 8);
      const view = new DataView(sizeField.buffer, sizeField.byteOffset, 8);
      const count = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
      const bytes = count * elem;
      if (!Number.isSafeInteger(bytes) || offset + 8 + bytes > ctx.source.size) {
        ctx.report({
          ruleId: "pytorch/legacy-layout",
          message: `storage ${key} declares ${count} elements, more than the file holds`,
          offset,
        });
        return;
      }
      if (st.numel !== undefined && st.numel !== count) {
        ctx.report({
          ruleId: "pytorch/legacy-layout",
          message: `storage ${key} holds ${count} elements but the object pickle declares ${st.numel} (torch.load raises)`,
          offset,
        });
      }
      if (bytes > 0) {
        await ctx.scanMember(`storage/${key}`, new SliceSource(ctx.source, offset + 8, bytes), {
          offset: offset + 8,
          opaqueData: true,
        });
      }
      offset += 8 + bytes;
      total += bytes;
    }
    ctx.fact("pytorch.storageBytes", total);
    if (offset < ctx.source.size) {
      ctx.report({
        ruleId: "pickle/trailing-data",
        message: `${ctx.source.size - offset} bytes after the last storage`,
        offset,
      });
      await ctx.scanMember(`@${offset}`, new SliceSource(ctx.source, offset, ctx.source.size - offset), {
        offset,
        opaqueData: true,
      });
    }
  },
};

/** What the five pickles of a legacy file hold, in order. */
const LEGACY_PICKLES = ["magic number", "protocol version", "system info", "object", "storage keys"] as const;

/** Settings every pickle of a legacy file is read with (its registries included). */
type LegacyBase = Omit<PickleAnalysisOptions, "context"> & { readonly shared: SharedState };

const newShared = (): SharedState => ({ ext: new Map(), patches: new Map() });

/**
 * Reads the five pickles of a legacy file as `torch.load` does (one `pickle.load` each), up to the
 * first that breaks; a missing one is a layout finding.
 */
async function legacyPickles(
  input: PickleInput,
  base: LegacyBase,
  maxEntries: number,
  layout: FindingInput[],
): Promise<PickleRun[]> {
  const runs: PickleRun[] = [];
  for (let k = 0; k < LEGACY_PICKLES.length; k++) {
    if (await input.atEnd()) {
      layout.push({
        ruleId: "pytorch/legacy-layout",
        message: `legacy PyTorch file ends after ${k} pickle(s); the ${LEGACY_PICKLES[k]} pickle is missing`,
        offset: input.offset,
      });
      break;
    }
    const run = await runPickle(input, {
      ...base,
      context: k === 3 ? "pytorch" : "pickle",
      machine: k === 4 ? { containerCap: maxEntries } : {},
      concatenated: false,
    });
    runs.push(run);
    if (run.error !== undefined) break;
  }
  return runs;
}
