/**
 * A reader of pre-GGUF ggml model files: llama.cpp's `ggml` (unversioned), `ggmf` (versioned) and
 * `ggjt` (versioned, tensor data aligned to 32 bytes) files, and whisper.cpp's `ggml` files. The
 * magic is a little-endian uint32 (bytes `lmgg`, `fmgg`, `tjgg`). Hyperparameters, vocabulary and
 * tensor headers are read and checked against the file size; tensor data is skipped, never read.
 *
 * The layouts differ by program and carry no layout tag, so a file is accepted when one known
 * layout accounts for every byte up to the end of the file:
 *
 * - llama.cpp: 7 int32 hyperparameters (n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype),
 *   n_vocab tokens (uint32 length, bytes, float32 score except in unversioned files), tensors.
 * - whisper.cpp (`ggml` only): 11 int32 hyperparameters, the mel filter bank (int32 n_mel,
 *   int32 n_fft, float32 values), int32 n_vocab tokens (uint32 length, bytes), tensors.
 *
 * A tensor is int32 n_dims, int32 name length, int32 type, int32 dims, the name, then its data
 * (aligned to 32 bytes in `ggjt`), until the end of the file.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { Cursor, latin1 } from "../torch7/cursor.js";
import { GGML_MAGICS } from "./index.js";

/**
 * ggml tensor types of the pre-GGUF era: block size and bytes per block. Q4_0, Q4_1 and Q8_0
 * blocks shrank in ggjt v3 (a half-precision scale replaced a float one); Q4_2 and Q4_3 existed
 * only before ggjt v2; the k-quants came with ggjt v3.
 */
interface TypeInfo {
  readonly name: string;
  readonly block: number;
  readonly bytes: (version: number) => number;
  readonly from?: number;
  readonly until?: number;
}

const fixed = (n: number) => () => n;
const TYPES: ReadonlyMap<number, TypeInfo> = new Map([
  [0, { name: "F32", block: 1, bytes: fixed(4) }],
  [1, { name: "F16", block: 1, bytes: fixed(2) }],
  [2, { name: "Q4_0", block: 32, bytes: (v: number) => (v >= 3 ? 18 : 20) }],
  [3, { name: "Q4_1", block: 32, bytes: (v: number) => (v >= 3 ? 20 : 24) }],
  [4, { name: "Q4_2", block: 16, bytes: fixed(10), until: 1 }],
  [5, { name: "Q4_3", block: 16, bytes: fixed(12), until: 1 }],
  [6, { name: "Q5_0", block: 32, bytes: fixed(22) }],
  [7, { name: "Q5_1", block: 32, bytes: fixed(24) }],
  [8, { name: "Q8_0", block: 32, bytes: (v: number) => (v >= 3 ? 34 : 36) }],
  [9, { name: "Q8_1", block: 32, bytes: fixed(40) }],
  [10, { name: "Q2_K", block: 256, bytes: fixed(84), from: 3 }],
  [11, { name: "Q3_K", block: 256, bytes: fixed(110), from: 3 }],
  [12, { name: "Q4_K", block: 256, bytes: fixed(144), from: 3 }],
  [13, { name: "Q5_K", block: 256, bytes: fixed(176), from: 3 }],
  [14, { name: "Q6_K", block: 256, bytes: fixed(210), from: 3 }],
  [15, { name: "Q8_K", block: 256, bytes: fixed(292), from: 3 }],
]);

/** A tensor header. */
export interface GgmlTensor {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly number[];
  /** Offset of its data. */
  readonly dataOffset: number;
  readonly dataBytes: number;
}

/** A structural problem found while walking (the file is `invalid`). */
export interface GgmlIssue {
  readonly ruleId: "ggml/duplicate-tensor";
  readonly message: string;
  readonly offset: number;
}

/** What a successful walk found. */
export interface GgmlFile {
  readonly magic: string;
  /** 0 for unversioned `ggml` files. */
  readonly version: number;
  readonly layout: "llama" | "whisper";
  readonly hyperparameters: Readonly<Record<string, number>>;
  readonly vocabulary: number;
  readonly tensors: readonly GgmlTensor[];
  readonly issues: readonly GgmlIssue[];
}

/** Options of {@link readGgml}. */
export interface GgmlOptions {
  readonly head?: Uint8Array;
  readonly checkpoint?: () => void;
  /** Maximum tensors (default 1,000,000). */
  readonly maxTensors?: number;
  /** Maximum vocabulary entries (default 10,000,000). */
  readonly maxVocabulary?: number;
}

const LLAMA_HPARAMS = ["n_vocab", "n_embd", "n_mult", "n_head", "n_layer", "n_rot", "ftype"] as const;
const WHISPER_HPARAMS = [
  "n_vocab",
  "n_audio_ctx",
  "n_audio_state",
  "n_audio_head",
  "n_audio_layer",
  "n_text_ctx",
  "n_text_state",
  "n_text_head",
  "n_text_layer",
  "n_mels",
  "ftype",
] as const;
const MAX_NAME = 4096;
const MAX_DIMS = 4;

const malformed = (message: string, offset: number): ModelgateError =>
  new ModelgateError("MALFORMED", message, { offset });

async function hparams(c: Cursor, names: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of names) {
    const at = c.pos;
    const v = await c.i32(n);
    if (v < 0) throw malformed(`hyperparameter ${n} is negative (${v}) at ${at}`, at);
    out[n] = v;
  }
  return out;
}

async function vocabulary(c: Cursor, n: number, scores: boolean, options: GgmlOptions): Promise<void> {
  const per = scores ? 8 : 4;
  const max = options.maxVocabulary ?? 10_000_000;
  if (n * per > c.remaining)
    throw malformed(`vocabulary of ${n} tokens cannot fit in the ${c.remaining} bytes left`, c.pos);
  if (n > max) {
    throw new ModelgateError("BUDGET_EXCEEDED", `vocabulary of ${n} tokens exceeds ${max}`, {
      offset: c.pos,
      budget: "ggml.vocabulary",
    });
  }
  for (let i = 0; i < n; i++) {
    if ((i & 0xfff) === 0) options.checkpoint?.();
    const at = c.pos;
    const len = await c.u32("token length");
    if (len > c.remaining) throw malformed(`token ${i} declares ${len} bytes at ${at}, more than the file holds`, at);
    c.skip(len, "token");
    if (scores) c.skip(4, "token score");
  }
}

async function tensors(
  c: Cursor,
  version: number,
  aligned: boolean,
  options: GgmlOptions,
): Promise<{ tensors: GgmlTensor[]; issues: GgmlIssue[] }> {
  const out: GgmlTensor[] = [];
  const issues: GgmlIssue[] = [];
  const names = new Set<string>();
  const max = options.maxTensors ?? 1_000_000;
  while (c.remaining > 0) {
    options.checkpoint?.();
    if (out.length >= max) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${max} tensors`, {
        offset: c.pos,
        budget: "ggml.tensors",
      });
    }
    const at = c.pos;
    const nDims = await c.i32("n_dims");
    const nameLength = await c.i32("name length");
    const typeId = await c.i32("tensor type");
    if (nDims < 1 || nDims > MAX_DIMS) throw malformed(`tensor at ${at} has ${nDims} dimensions`, at);
    if (nameLength < 1 || nameLength > MAX_NAME)
      throw malformed(`tensor at ${at} has a name of ${nameLength} bytes`, at);
    const type = TYPES.get(typeId);
    if (
      type === undefined ||
      (type.from !== undefined && version < type.from) ||
      (type.until !== undefined && version > type.until)
    ) {
      throw malformed(
        `tensor at ${at} has type ${typeId}, unknown in ${version === 0 ? "unversioned" : `version ${version}`} files`,
        at,
      );
    }
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = await c.i32("dimension");
      if (n < 1) throw malformed(`tensor at ${at} has dimension ${n}`, at);
      dims.push(n);
      elements *= n;
      if (elements > Number.MAX_SAFE_INTEGER / 512) throw malformed(`tensor at ${at} has too many elements`, at);
    }
    if ((dims[0] ?? 0) % type.block !== 0) {
      throw malformed(
        `tensor at ${at}: row of ${dims[0]} is not a multiple of ${type.name}'s block of ${type.block}`,
        at,
      );
    }
    const name = latin1(await c.bytes(nameLength, "tensor name"));
    if (aligned) c.skip(((c.pos + 31) & ~31) - c.pos, "alignment padding");
    const dataBytes = (elements / type.block) * type.bytes(version);
    const dataOffset = c.pos;
    if (dataBytes > c.remaining) {
      throw new ModelgateError(
        "TRUNCATED",
        `tensor ${JSON.stringify(name.slice(0, 60))}: ${dataBytes} bytes of data at ${dataOffset}, ${c.remaining} left`,
        { offset: dataOffset },
      );
    }
    c.skip(dataBytes, "tensor data");
    if (names.has(name)) {
      issues.push({
        ruleId: "ggml/duplicate-tensor",
        message: `tensor ${JSON.stringify(name.slice(0, 60))} appears twice (at ${at})`,
        offset: at,
      });
    }
    names.add(name);
    out.push({ name, type: type.name, dims, dataOffset, dataBytes });
  }
  return { tensors: out, issues };
}

/**
 * Reads a ggml/ggmf/ggjt file, trying the known layouts.
 * @param source - the bytes
 * @param options - budgets
 * @returns the walk of the first layout that accounts for the whole file; throws `ModelgateError`
 *   (`MALFORMED`, `TRUNCATED`, `BUDGET_EXCEEDED`) when none does
 */
export async function readGgml(source: ByteSource, options: GgmlOptions = {}): Promise<GgmlFile> {
  const c0 = new Cursor(source, 0, options.head, 4096);
  const magicValue = await c0.u32("magic");
  const magic = GGML_MAGICS.get(magicValue);
  if (magic === undefined) throw malformed(`not a ggml file (magic 0x${magicValue.toString(16)})`, 0);
  let version = 0;
  if (magic !== "ggml") {
    version = await c0.u32("version");
    const ok = magic === "ggmf" ? version === 1 : version >= 1 && version <= 3;
    if (!ok) throw malformed(`${magic} version ${version} is not one llama.cpp wrote`, 4);
  }
  const start = c0.pos;
  const layouts: ("llama" | "whisper")[] = magic === "ggml" ? ["llama", "whisper"] : ["llama"];
  let best: ModelgateError | undefined;
  for (const layout of layouts) {
    const c = new Cursor(source, start, options.head, 4096);
    try {
      let hp: Record<string, number>;
      let vocab: number;
      if (layout === "llama") {
        hp = await hparams(c, LLAMA_HPARAMS);
        vocab = hp.n_vocab ?? 0;
        await vocabulary(c, vocab, magic !== "ggml", options);
      } else {
        hp = await hparams(c, WHISPER_HPARAMS);
        const melAt = c.pos;
        const nMel = await c.i32("n_mel");
        const nFft = await c.i32("n_fft");
        if (nMel < 0 || nFft < 0 || nMel * nFft * 4 > c.remaining) {
          throw malformed(`mel filters of ${nMel}×${nFft} cannot fit in the file`, melAt);
        }
        c.skip(nMel * nFft * 4, "mel filters");
        const vocabAt = c.pos;
        vocab = await c.i32("n_vocab");
        if (vocab < 0) throw malformed(`negative vocabulary size at ${vocabAt}`, vocabAt);
        await vocabulary(c, vocab, false, options);
      }
      const t = await tensors(c, version, magic === "ggjt", options);
      return { magic, version, layout, hyperparameters: hp, vocabulary: vocab, tensors: t.tensors, issues: t.issues };
    } catch (error) {
      if (!(error instanceof ModelgateError) || error.code === "ABORTED" || error.code === "TIMEOUT") throw error;
      if (best === undefined || (error.offset ?? 0) > (best.offset ?? 0)) best = error;
    }
  }
  const e = best ?? malformed("no known layout", start);
  throw new ModelgateError(
    e.code,
    layouts.length > 1 ? `${e.message} (no known layout fits: ${layouts.join(", ")})` : e.message,
    {
      ...(e.offset === undefined ? {} : { offset: e.offset }),
      ...(e.budget === undefined ? {} : { budget: e.budget }),
    },
  );
}
