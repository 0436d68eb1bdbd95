/**
 * What a file's name or its place in a container claims it is, and whether the pickle engine must
 * read it. The sniffer only ranks candidates: a loader decides by name or by caller intent
 * (`torch.load("x.bin")`, `pickle.load(open(path))`), so anything a loader would unpickle is handed
 * to the pickle engine whatever the sniffer thought, and a file that claims a format but does not
 * parse as it is `invalid`, never clean. The table of claims × content → verdict is in
 * `docs/claims.md`.
 * @module
 */
import type { Detection, Format } from "../core/formats.js";
import { hasJoblibArrayWrapper } from "../formats/joblib/layout.js";
import {
  isTorchTarMember,
  PICKLE_EXTENSIONS,
  type PickleExtensionKind,
  TORCH_LOADED_NAMES,
  TORCH_TAR_NAME,
} from "../formats/pickle/claim-names.js";
import { CLAIM_EXTENSIONS, TAR_FORMATS } from "./catalog.js";

/** Formats in which a loader unpickles the bytes (or a member of them). */
const PICKLE_FAMILY: readonly Format[] = ["pickle", "joblib", "pytorch-legacy", "pytorch-zip", "torchscript", "zip"];
/** Compression a pickle file may be wrapped in (joblib, `pickle` over `gzip.open`). */
const COMPRESSED: readonly Format[] = ["gzip", "zlib", "bz2", "xz", "lzma", "zstd", "lz4"];

/** A claim made by a name. */
export interface NameClaim {
  /** Formats that satisfy the claim. */
  readonly accepts: readonly Format[];
  /** The loader unpickles it: the pickle engine reads it whatever the sniffer thinks. */
  readonly pickle: boolean;
  /** What claimed it, for messages (`extension .pkl`, `file name pytorch_model.bin`). */
  readonly by: string;
  /**
   * The sniffer cannot recognise every valid stream of this format (LZMA-alone has no magic): when
   * nothing else is recognised, the format's analyzer reads the stream as claimed.
   */
  readonly probe?: Format;
  /** The format a claimed pickle reading has (joblib files are read in joblib's context). */
  readonly reading?: Format;
  /**
   * The loader reads pickles and raw data in sequence (legacy PyTorch tar members `storages`,
   * `tensors`): this format's analyzer reads the stream as that layout, whatever the sniffer saw,
   * in place of the pickle engine's reading.
   */
  readonly layout?: Format;
}

const pickleClaim = (by: string, compressed: boolean): NameClaim => ({
  accepts: compressed ? [...PICKLE_FAMILY, ...COMPRESSED] : PICKLE_FAMILY,
  pickle: true,
  by,
});

/**
 * A name `torch.load` reads: a pickle, or the oldest checkpoints, tars `torch.load` reads too; and
 * torch.package archives, which carry the same names (`PackageImporter` loads them).
 */
const torchClaim = (by: string): NameClaim => {
  const claim = pickleClaim(by, false);
  // joblib's zfile (`ZF` + zlib) is read by joblib.load only: torch.load takes it for neither a tar
  // nor a pickle, so its content does not satisfy a torch name.
  const accepts = claim.accepts.filter((f) => f !== "joblib");
  // torch.jit.load and the lite interpreter also load the mobile flatbuffer form (`PTMF`)
  return { ...claim, accepts: [...accepts, "pytorch-tar", "torch-package", "torchscript-mobile"] };
};

/**
 * The claim of each kind of extension that claims a pickle (the table of extensions is
 * `../formats/pickle/claim-names.ts`, which detectors below the registry read too). Extensions
 * that claim other formats are declared by the format modules (`FormatSpec.claimExtensions`).
 * TorchScript Lite's `.ptl` flatbuffer form (`PTMF`) is recognised and reported as not analysed.
 */
const EXTENSION_CLAIMS: Readonly<Record<PickleExtensionKind, (by: string) => NameClaim>> = {
  pickle: (by) => pickleClaim(by, false),
  "pickle-compressed": (by) => pickleClaim(by, true),
  joblib: (by) => ({ ...pickleClaim(by, true), reading: "joblib" }),
  torch: torchClaim,
};

const formatClaim = (by: string, ...accepts: Format[]): NameClaim => ({ accepts, pickle: false, by });

/** The claim an extension makes, if any. */
function claimForExtension(ext: string): NameClaim | undefined {
  const by = `extension .${ext}`;
  const kind = PICKLE_EXTENSIONS.get(ext);
  if (kind !== undefined) return EXTENSION_CLAIMS[kind](by);
  const claimed = CLAIM_EXTENSIONS.get(ext);
  if (claimed === undefined) return undefined;
  const claim = formatClaim(by, ...claimed.accepts);
  return claimed.probe === undefined ? claim : { ...claim, probe: claimed.probe };
}

/** Of those, the members `legacy_load` reads as pickles and raw data in sequence. */
const TORCH_TAR_LAYOUTS = new Set(["storages", "tensors"]);

/** TensorFlow files known by name. */
const TF_NAMES = new Set(["saved_model.pb", "keras_metadata.pb"]);

/**
 * The claim a file or member name makes, if any. Only the base name counts, plus the enclosing
 * container for names that mean something inside one.
 * @param name - file path or member name
 * @param parent - format of the enclosing container, for a member
 */
export function claimForName(name: string, parent?: Format): NameClaim | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (TORCH_LOADED_NAMES.test(base)) return torchClaim(`file name ${base}`);
  // Whatever the tar's flavour: a legacy checkpoint with a model_config.yaml added is still a tar torch.load reads.
  // A repeated member is named `storages#4` by the tar analyzer; tarfile (torch) reads the last one.
  const member = base.replace(/#\d+$/, "");
  if (parent !== undefined && TAR_FORMATS.has(parent) && isTorchTarMember(member)) {
    const claim = pickleClaim(`legacy PyTorch tar member ${member}`, false);
    return TORCH_TAR_LAYOUTS.has(member) ? { ...claim, layout: "pytorch-legacy" } : claim;
  }
  if (TF_NAMES.has(base)) return formatClaim(`file name ${base}`, "tf-savedmodel");
  // torch.save(state, "checkpoint.pth.tar"), as PyTorch's ImageNet example does, writes a zip.
  const torchTar = TORCH_TAR_NAME.exec(base);
  if (torchTar !== undefined && torchTar !== null) {
    const claim = torchClaim(`extension .${torchTar[1]}.tar`);
    return { ...claim, accepts: [...claim.accepts, "tar"] };
  }
  const dot = base.lastIndexOf(".");
  if (dot < 0) return undefined;
  // A dot-file is no extension, except R's `.RData`, the workspace R restores at startup.
  if (dot === 0) return base === ".rdata" ? claimForExtension("rdata") : undefined;
  return claimForExtension(base.slice(dot + 1));
}

/** Opcodes a loader accepts as the first one of a stream (they push onto an empty stack). */
const FIRST_OPCODES = new Set([
  ..."(}])NIJKLMFGSTUVXBCcighjP".split("").map((c) => c.charCodeAt(0)),
  0x82, // EXT1
  0x83, // EXT2
  0x84, // EXT4
  0x88, // NEWTRUE
  0x89, // NEWFALSE
  0x8a, // LONG1
  0x8b, // LONG4
  0x8c, // SHORT_BINUNICODE
  0x8d, // BINUNICODE8
  0x8e, // BINBYTES8
  0x8f, // EMPTY_SET
  0x95, // FRAME
  0x96, // BYTEARRAY8
  0x97, // NEXT_BUFFER
]);

/**
 * Whether a loader would start unpickling these bytes without raising at the first opcode: PROTO
 * with a protocol CPython knows, FRAME, or an opcode that pushes onto an empty stack.
 * @param head - the first bytes
 */
export function startsLikePickle(head: Uint8Array): boolean {
  const b0 = head[0];
  if (b0 === undefined) return false;
  if (b0 === 0x80) return head.length >= 2 && (head[1] ?? 0xff) <= 5;
  return FIRST_OPCODES.has(b0);
}

/**
 * How firmly the pickle engine is asked to read a stream: `strong` (a failure is `invalid`), `weak`
 * (speculative: a failure leaves the stream as sniffed) or `beside` (speculative, beside another
 * format positively recognised there, which stays the stream's format whatever the reading finds).
 */
export type PickleClaim = "strong" | "weak" | "beside";

/** What {@link planClaims} decides for one stream. */
export interface ClaimPlan {
  /** The detections to analyse, in order (a claimed pickle reading first). */
  readonly runs: readonly Detection[];
  /** The format the stream has before any claimed reading succeeds. */
  readonly format: Format;
  /** The name's claim, checked once the analyzers ran. */
  readonly claim: NameClaim | undefined;
  /** Whether the pickle engine reads the stream, and how firmly. */
  readonly pickle: PickleClaim | undefined;
}

/** What {@link planClaims} looks at. */
export interface ClaimInput {
  readonly name: string;
  readonly head: Uint8Array;
  readonly detections: readonly Detection[];
  /** Format of the enclosing container, for a member. */
  readonly parent?: Format;
  /** Opaque data (a tensor storage): no loader unpickles it, so no claim is made, and text is no reading of it. */
  readonly opaque: boolean;
  /** Formats that are text (a protocol 0 pickle is text, so text never rules a pickle out). */
  readonly textual: ReadonlySet<Format>;
}

/**
 * Decides which readings a stream gets:
 * - strong pickle claim (a pickle name such as `.pkl`/`.pt`/`data.pkl`, or PROTO 2–5 at byte 0)
 *   while no other format is positively recognised at byte 0: the engine reads it, and a failure
 *   is `invalid`;
 * - weak claim (the sniffer's pickle guess, or unknown/text content whose first byte is an opcode a
 *   loader accepts): the engine reads it speculatively; its dangerous findings count, a failure
 *   leaves the stream as sniffed;
 * - beside (another format is positively there, and the first byte is an opcode a loader accepts:
 *   a tar, GGUF or safetensors header can open a pickle polyglot): read speculatively too, and only
 *   its dangerous findings count.
 * @param input - the stream's name, head and detections
 */
export function planClaims(input: ClaimInput): ClaimPlan {
  const { head, detections, textual } = input;
  const claim = input.opaque ? undefined : claimForName(input.name, input.parent);
  const sniffed = detections.find((d) => d.format === "pickle" && d.offset === 0);
  const others = detections.filter((d) => d !== sniffed);
  const positive = others.find((d) => d.offset === 0 && !textual.has(d.format) && d.format !== "empty");
  const format = sniffed !== undefined ? "pickle" : (others[0]?.format ?? "unknown");
  if (input.opaque) {
    // Text in tensor data (a storage of floats that happens to open with `[` or `{`) is read by no
    // loader as a config or a script: only binary magics are readings of opaque bytes. The
    // sniffer's pickle guess is one in about 30 random storages' first bytes, and no loader
    // unpickles a storage: it is read beside, so what a pickle there would import counts, and a
    // reading that breaks is no finding (a checkpoint of thousands of random-weight storages was
    // `invalid` for `pickle/malformed`).
    const runs = detections
      .filter((d) => !textual.has(d.format))
      .map((d): Detection => (d.format === "pickle" ? { ...d, claim: "beside" } : d));
    return { runs, format: runs[0]?.format ?? "unknown", claim, pickle: undefined };
  }
  if (claim?.layout !== undefined) {
    // Read as the loader reads it, whatever the sniffer saw (other formats found there are analysed too).
    const reading: Detection = { format: claim.layout, offset: 0, reason: `claimed by ${claim.by}`, claim: "strong" };
    const rest = detections.filter((d) => d.format !== "pickle" && d.format !== claim.layout);
    return { runs: [reading, ...rest], format, claim, pickle: "strong" };
  }
  const proto = head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0xff) <= 5;
  if (positive === undefined && sniffed === undefined && claim?.probe !== undefined) {
    const probe: Detection = { format: claim.probe, offset: 0, reason: `claimed by ${claim.by}` };
    return { runs: [probe, ...detections], format, claim, pickle: undefined };
  }
  if (positive !== undefined) {
    // Another format is positively there. A loader told to unpickle the bytes (pickle.load,
    // torch.load on a non-zip) still runs whatever pickle opens them, so a polyglot is read beside.
    // A zip opens with PK (PERSID): pickle.load raises there, and torch.load reads a zip as a zip.
    if (!startsLikePickle(head) || positive.format === "zip")
      return { runs: detections, format, claim, pickle: undefined };
    const beside: Detection = { format: "pickle", offset: 0, reason: "first byte is a pickle opcode", claim: "beside" };
    return { runs: [...detections, beside], format, claim, pickle: "beside" };
  }
  let strength: PickleClaim | undefined;
  if (claim?.pickle === true || proto) strength = "strong";
  else if (sniffed !== undefined || startsLikePickle(head)) strength = "weak";
  if (strength === undefined) return { runs: detections, format, claim, pickle: undefined };
  const reason =
    strength === "strong"
      ? claim?.pickle === true
        ? `claimed by ${claim.by}`
        : `PROTO ${head[1]} at byte 0`
      : (sniffed?.reason ?? "first byte is a pickle opcode");
  // joblib's NumpyPickler writes arrays inline after a NumpyArrayWrapper: such streams (and .joblib
  // files) are read by the joblib analyzer, in joblib's context.
  const joblib = strength === "strong" && (claim?.reading === "joblib" || hasJoblibArrayWrapper(head));
  const reading: Detection = { format: joblib ? "joblib" : "pickle", offset: 0, reason, claim: strength };
  return {
    runs: [reading, ...others],
    format: strength === "strong" && sniffed !== undefined ? "pickle" : (others[0]?.format ?? "unknown"),
    claim,
    pickle: strength,
  };
}
