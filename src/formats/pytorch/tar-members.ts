/**
 * Members `storages` and `tensors` of PyTorch's oldest checkpoint layout (a tar with members
 * `sys_info`, `pickle`, `storages`, `tensors`), read the way `torch.serialization.legacy_load`
 * reads them from the extracted member, an unbuffered file, with plain `pickle.load`:
 *
 * - `storages`: a count pickle; per storage a pickle `(key, location, storage_type)`, then an
 *   8-byte little-endian element count and count × element-size raw bytes (the element size of
 *   the storage type); then one more pickle, the storage views.
 * - `tensors`: a count pickle; per tensor a pickle `(key, storage_id, tensor_type)`, then an int32
 *   ndim, 4 skipped bytes, ndim int64 sizes, ndim int64 strides and an int64 storage offset.
 *
 * Every pickle torch would unpickle is analysed in the `pytorch` context; the binary parts are
 * skipped exactly as torch reads them (the raw storage bytes are handed to the engine as opaque
 * members). Whatever makes the reading ambiguous or makes torch raise (a count that is not an
 * int, an unknown storage type, a size past the member's end, bytes after the last record, a
 * FRAME that an unbuffered read consumes differently) is a `pytorch/legacy-layout` finding: the
 * member is at least `invalid`, never `clean`.
 * @module
 */

import type { AnalysisContext } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import type { FindingInput } from "../../core/findings.js";
import { type PickleAnalysisOptions, type PickleRun, reportRuns, runPickle } from "../pickle/analyze.js";
import { pickleBudgets, reportPickleAnalysis } from "../pickle/analyzer.js";
import { SourceInput } from "../pickle/input.js";
import { intOf, PyRef, PySeq, type Value } from "../pickle/values.js";
import { storageElementSize } from "./storage-types.js";

/** The tar members whose layout is pickles and raw data in sequence. */
export type LegacyTarMember = "storages" | "tensors";

/**
 * Which layout a member name has (the base name, as the name claims read it, trailing slashes
 * stripped as tarfile strips them; `storages#4` is a repeated member as the tar analyzer names
 * it), if any.
 * @param name - member name
 */
export function legacyTarMember(name: string): LegacyTarMember | undefined {
  // tarfile strips a trailing slash from pax paths and directory names (getmember finds
  // "storages/" as "storages")
  const trimmed = name.replace(/#\d+$/, "").replace(/\/+$/, "");
  const base = trimmed
    .slice(trimmed.lastIndexOf("/") + 1)
    .toLowerCase()
    .replace(/#\d+$/, "");
  return base === "storages" || base === "tensors" ? base : undefined;
}

/** Modules that define the legacy storage classes torch reads (`storage_type._dtype`). */
const STORAGE_MODULES = new Set(["torch", "torch.cuda"]);

/** Returned by a pickle read after which the member cannot be followed. */
const STOPPED = Symbol("stopped");

/** Reading state of one member. */
class MemberReader {
  readonly runs: PickleRun[] = [];
  readonly problems: FindingInput[] = [];
  readonly input: SourceInput;
  readonly options: PickleAnalysisOptions;
  readonly size: number;

  constructor(
    readonly ctx: AnalysisContext,
    readonly member: LegacyTarMember,
  ) {
    this.input = new SourceInput(ctx.source, ctx.detection.offset);
    this.size = ctx.source.size;
    this.options = {
      context: "pytorch",
      policy: ctx.policy.options.pickle,
      shared: { ext: new Map(), patches: new Map() },
      ...pickleBudgets(ctx),
      // plain pickle.load: a persistent id raises there
      machine: { persistentLoad: false, containerCap: ctx.limits.maxEntries },
    };
  }

  layout(message: string, offset: number, evidence?: FindingInput["evidence"]): void {
    this.problems.push({
      ruleId: "pytorch/legacy-layout",
      message: `legacy PyTorch tar member ${this.member}: ${message}`,
      offset,
      ...(evidence === undefined ? {} : { evidence }),
    });
  }

  /** The next pickle, as `pickle.load` reads it from the unbuffered file. */
  async pickle(what: string): Promise<Value | typeof STOPPED> {
    this.ctx.checkpoint();
    if (await this.input.atEnd()) {
      this.layout(`the member ends where the ${what} pickle should start (torch.load raises)`, this.input.offset);
      return STOPPED;
    }
    const run = await runPickle(this.input, this.options);
    this.runs.push(run);
    // the pickle engine reports the error itself
    if (run.error !== undefined) return STOPPED;
    if (run.result?.rereads === true) {
      this.layout(
        `an opcode of the ${what} pickle crosses a FRAME end: an unbuffered read (torch's) consumes other bytes than pickle.loads, so where the data after it starts is ambiguous`,
        run.start,
      );
      return STOPPED;
    }
    if (run.machine.persistentCount > 0) {
      this.layout(`the ${what} pickle holds a persistent id (pickle.load raises)`, run.start);
      return STOPPED;
    }
    return run.machine.result ?? null;
  }

  /** A count pickle: an int literal torch hands to `range()`. */
  async count(what: string, least: number): Promise<number | undefined> {
    const value = await this.pickle(`${what} count`);
    if (value === STOPPED) return undefined;
    const at = this.runs[this.runs.length - 1]?.start ?? 0;
    const n = intOf(value);
    if (n === undefined) {
      this.layout(`the ${what} count is not an int literal (torch iterates range() over it)`, at);
      return undefined;
    }
    if (n < 0) {
      this.layout(`negative ${what} count ${n}`, at);
      return 0;
    }
    if (n > this.ctx.limits.maxEntries) {
      this.problems.push({
        ruleId: "scan/budget-exceeded",
        message: `legacy PyTorch tar member ${this.member}: ${n} ${what} declared, more than maxEntries (${this.ctx.limits.maxEntries}); the member was not analysed further`,
        offset: at,
        evidence: { budget: "maxEntries", limit: this.ctx.limits.maxEntries },
      });
      return undefined;
    }
    // every record is at least a pickle (2 bytes) and its binary part
    if (n * least > this.size - this.input.offset) {
      this.layout(`${n} ${what} declared, more than the rest of the member can hold`, at);
      return undefined;
    }
    return n;
  }

  /** A record pickle: a 3-tuple (or list) torch unpacks. */
  async record(what: string): Promise<readonly Value[] | undefined> {
    const value = await this.pickle(what);
    if (value === STOPPED) return undefined;
    if (
      value instanceof PySeq &&
      (value.kind === "tuple" || value.kind === "list") &&
      value.count === 3 &&
      value.items.length === 3
    ) {
      return value.items;
    }
    this.layout(`the ${what} pickle is not a 3-tuple (key, ..., type) torch unpacks`, this.runs.at(-1)?.start ?? 0);
    return undefined;
  }

  /** Reads `n` bytes of a binary field, or reports that the member ends first. */
  async bytes(n: number, what: string): Promise<Uint8Array | undefined> {
    if (this.input.offset + n > this.size) {
      this.layout(`the member ends inside the ${what} (torch.load raises)`, this.input.offset);
      return undefined;
    }
    const b = await this.input.peek(n);
    await this.input.skip(n);
    return b;
  }

  /** Bytes after the last thing torch reads: reported, and analysed on their own. */
  async rest(after: string): Promise<void> {
    const at = this.input.offset;
    if (at >= this.size) return;
    this.layout(`${this.size - at} bytes after the ${after} that torch.load does not read`, at);
    await this.ctx.scanMember(`@${at}`, new SliceSource(this.ctx.source, at, this.size - at), {
      offset: at,
      opaqueData: true,
    });
  }
}

/** Reads `storages`: count, then (header pickle, element count, raw bytes) per storage, then the views pickle. */
async function readStorages(r: MemberReader): Promise<void> {
  const n = await r.count("storages", 2 + 8);
  if (n === undefined) return;
  for (let i = 0; i < n; i++) {
    const items = await r.record(`storage ${i} header`);
    if (items === undefined) return;
    const type = items[2];
    const name = type instanceof PyRef ? type.name : undefined;
    const module = name?.slice(0, Math.max(0, name.lastIndexOf(".")));
    const elem = name === undefined || !STORAGE_MODULES.has(module ?? "") ? undefined : storageElementSize(name);
    if (name === undefined || elem === undefined) {
      r.layout(
        `storage ${i} has no known storage type (${name ?? "not a class reference"}): its element size, and so where the next pickle starts, is unknown`,
        r.runs.at(-1)?.start ?? 0,
      );
      return;
    }
    const at = r.input.offset;
    const field = await r.bytes(8, `element count of storage ${i}`);
    if (field === undefined) return;
    const view = new DataView(field.buffer, field.byteOffset, 8);
    const high = view.getInt32(4, true);
    const count = view.getUint32(0, true) + high * 2 ** 32;
    const size = count * elem;
    if (high < 0 || !Number.isSafeInteger(size) || at + 8 + size > r.size) {
      r.layout(`storage ${i} (${name}) declares ${count} elements, more than the member holds`, at, {
        elements: count,
        elementSize: elem,
      });
      return;
    }
    if (size > 0) {
      await r.ctx.scanMember(`storage/${i}`, new SliceSource(r.ctx.source, at + 8, size), {
        offset: at + 8,
        opaqueData: true,
      });
      await r.input.skip(size);
    }
  }
  if ((await r.pickle("storage views")) === STOPPED) return;
  await r.rest("storage views pickle");
}

/** Reads `tensors`: count, then (header pickle, ndim, 4 bytes, sizes, strides, offset) per tensor. */
async function readTensors(r: MemberReader): Promise<void> {
  const n = await r.count("tensors", 2 + 16);
  if (n === undefined) return;
  for (let i = 0; i < n; i++) {
    if ((await r.record(`tensor ${i} header`)) === undefined) return;
    const at = r.input.offset;
    const head = await r.bytes(8, `ndim of tensor ${i}`);
    if (head === undefined) return;
    const ndim = new DataView(head.buffer, head.byteOffset, 8).getInt32(0, true);
    // struct.unpack('<-1q') raises; sizes, strides and the storage offset follow
    const need = 16 * ndim + 8;
    if (ndim < 0 || at + 8 + need > r.size) {
      r.layout(`tensor ${i} declares ${ndim} dimensions, more than the member holds`, at, { ndim });
      return;
    }
    await r.input.skip(need);
  }
  await r.rest(n === 0 ? "tensor count pickle" : "last tensor");
}

/**
 * Analyses a `storages` or `tensors` member of a legacy tar checkpoint.
 * @param ctx - analysis context of the member
 * @param member - which member layout
 */
export async function analyzeLegacyTarMember(ctx: AnalysisContext, member: LegacyTarMember): Promise<void> {
  const r = new MemberReader(ctx, member);
  let failure: unknown;
  try {
    await (member === "storages" ? readStorages(r) : readTensors(r));
  } catch (error) {
    // a budget or the deadline stopped the reading: what was read is still reported
    failure = error;
  }
  for (const f of r.problems) ctx.report(f);
  if (r.runs.length > 0 && r.runs[0]?.error === undefined) ctx.refineFormat("pytorch-legacy");
  await reportPickleAnalysis(ctx, await reportRuns(r.runs, r.input, r.options, undefined));
  if (failure !== undefined) throw failure;
}
