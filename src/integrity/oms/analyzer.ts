/**
 * The repository analyzer that finds OMS signatures in a scanned directory by content, verifies
 * them (reusing the scan's SHA-256 digests) and reports the result.
 * @module
 */
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { FileHashes, RepoAnalyzer, RepoContext, RepoFile } from "../../core/analyzer.js";
import { readClamped } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import type { Evidence } from "../../core/findings.js";
import type { RootEntry } from "../../core/root.js";
import { compareCodePoints } from "../walk.js";
import {
  BUNDLE_MEDIA_TYPE_PREFIX,
  classifySignatureFile,
  DEFAULT_SIGNATURE_NAME,
  MAX_SIGNATURE_BYTES,
} from "./bundle.js";
import { DEFAULT_IGNORED_TOP_LEVEL, ignorePredicate, normaliseIgnorePath } from "./manifest.js";
import { type SignatureRequirement, signerViolation } from "./requirement.js";
import type { CoveringSignature, SignatureCoverage, SignatureVerification } from "./result.js";
import type { ScanSignatureOptions, VerifyOptions } from "./verify.js";

/** Uncovered paths listed in a report's `signature.coverage` (the count is always exact). */
const MAX_UNCOVERED_LISTED = 100;

const CANDIDATE_FORMATS = new Set(["oms-signature", "json", "text", "unknown"]);

/** Finds the OMS signatures among the listed files, by content; `model.sig` first, then code-point order. */
async function discover(
  ctx: RepoContext<SignatureVerification>,
  reports: ReadonlyMap<string, RepoFile>,
): Promise<string[]> {
  const found: { path: string; kind: "oms" | "dsse-bundle" }[] = [];
  for (const entry of ctx.entries) {
    ctx.signal.throwIfAborted();
    if (entry.kind !== "file" || entry.size === 0 || entry.size > MAX_SIGNATURE_BYTES) continue;
    const format = reports.get(entry.path)?.format;
    if (format !== undefined && !CANDIDATE_FORMATS.has(format)) continue;
    // Through the engine: the listed file (no link swapped in since), under a read deadline; a file
    // that failed in the file pass is not opened again (it is invalid there already).
    let source: Awaited<ReturnType<RepoContext["openFile"]>>;
    try {
      source = await ctx.openFile(entry.path);
    } catch {
      continue;
    }
    try {
      const head = await readClamped(source, 0, 64 * 1024);
      if (!Buffer.from(head.buffer, head.byteOffset, head.byteLength).includes(BUNDLE_MEDIA_TYPE_PREFIX)) continue;
      const bytes = head.length === source.size ? head : await readClamped(source, 0, source.size);
      const kind = classifySignatureFile(bytes);
      if (kind === "oms" || (kind === "dsse-bundle" && entry.path.endsWith(".sig")))
        found.push({ path: entry.path, kind });
    } finally {
      await source.close?.().catch(() => undefined);
    }
  }
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  return found
    .map((f) => f.path)
    .sort((a, b) => {
      const rank = (p: string) => (p === DEFAULT_SIGNATURE_NAME ? 0 : base(p) === DEFAULT_SIGNATURE_NAME ? 1 : 2);
      return rank(a) - rank(b) || compareCodePoints(a, b);
    });
}

/** The model root a signature covers, relative to the scanned directory (`""` for the directory itself). */
export function modelRootOf(signaturePath: string): string {
  const parts = signaturePath.split("/").slice(0, -1);
  if (parts.length > 0 && (parts[parts.length - 1] as string).startsWith(".")) parts.pop();
  return parts.join("/");
}

function hasTrust(options: ScanSignatureOptions): boolean {
  return (
    options.publicKey !== undefined ||
    (options.certificateChain !== undefined && options.certificateChain.length > 0) ||
    (options.identity !== undefined && options.issuer !== undefined)
  );
}

/**
 * The listed file a signature's findings go on when the signature itself is not a listed file (a
 * caller-named signature outside the scanned directory): the first file under the model root,
 * else the first file of the tree. Undefined only for a tree without files.
 */
function anchorOf(entries: readonly RootEntry[], listed: ReadonlySet<string>, prefix: string): string | undefined {
  const files = entries.filter((e) => e.kind === "file" && listed.has(e.path));
  return (files.find((e) => prefix === "" || e.path.startsWith(prefix)) ?? files[0])?.path;
}

/**
 * Reports a signature's result against the signature file (or, when that is not a listed file,
 * against `at`, see {@link anchorOf}) and the files it names; the paths it reported a mismatch or
 * an unsigned file on are added to `marked`. A failed verification always yields a finding; a
 * signature the caller named (`explicit`) that does not exist yields `integrity/signature-missing`.
 * @throws ModelgateError `SIGNATURE` when a verification failed and the tree has no file to report it on
 */
function report(
  ctx: RepoContext<SignatureVerification>,
  signaturePath: string,
  at: string | undefined,
  prefix: string,
  result: SignatureVerification,
  listed: Set<string>,
  marked: Set<string>,
  explicit: boolean,
): void {
  const model = result.model ?? ".";
  const evidence = { signature: signaturePath, model, method: result.method ?? null };
  const scope = model === "." ? "" : ` for ${model}/`;
  const fails = result.status === "failed" || (result.status === "unsigned" && explicit);
  if (at === undefined) {
    // Nothing listed to attach a failure to: fail the scan rather than call it clean.
    if (fails) {
      throw new ModelgateError(
        "SIGNATURE",
        `OMS signature ${signaturePath} ${result.status === "unsigned" ? "does not exist" : `failed: ${result.errors[0] ?? "invalid"}`} (and the tree has no file to report it on)`,
      );
    }
    return;
  }
  switch (result.status) {
    case "verified":
      // success is recorded in the report's `signature`; the info finding goes on the signature only
      if (at !== signaturePath) return;
      ctx.report(at, {
        ruleId: "integrity/signature-verified",
        message: `OMS signature verified${scope} (${result.method}${signerText(result)}); ${result.files.length} files match`,
        evidence: { ...evidence, ...signerEvidence(result) },
      });
      return;
    case "unverified":
      if (at !== signaturePath) return;
      ctx.report(at, {
        ruleId: "integrity/signature-unverified",
        message: `OMS signature${scope} (${result.method}) found and the files match it; signer not checked: no trust material supplied`,
        evidence,
      });
      return;
    case "unsigned":
      if (explicit) {
        ctx.report(at, {
          ruleId: "integrity/signature-missing",
          message: `the OMS signature named for the scan (${signaturePath}) does not exist`,
          evidence,
        });
      }
      return;
    case "failed":
      break;
  }
  if (result.failedStage !== "manifest") {
    ctx.report(at, {
      ruleId: "integrity/signature-invalid",
      message: `OMS signature${scope} rejected at the ${result.failedStage} stage: ${result.errors[0] ?? "invalid"}`,
      evidence: { ...evidence, stage: result.failedStage ?? null },
    });
    return;
  }
  let reported = false;
  for (const file of result.files) {
    const path = prefix + file.path;
    if (file.status === "mismatch" && listed.has(path)) {
      ctx.report(path, {
        ruleId: "integrity/signed-file-mismatch",
        message: file.reason ?? `differs from the digest signed in ${signaturePath}`,
        evidence: { ...evidence, expected: file.expected ?? null, actual: file.actual ?? null },
      });
      reported = true;
      marked.add(path);
    } else if (file.status === "extra" && listed.has(path)) {
      ctx.report(path, {
        ruleId: "integrity/unsigned-file",
        message: `not covered by the OMS signature ${signaturePath}${file.reason ? ` (${file.reason})` : ""}`,
        evidence,
      });
      reported = true;
      marked.add(path);
    } else if (file.status === "missing" || file.status === "mismatch" || file.status === "extra") {
      ctx.report(at, {
        ruleId: file.status === "missing" ? "integrity/signed-file-missing" : "integrity/signed-file-mismatch",
        message: `${path}: ${file.status === "missing" ? "signed but missing" : (file.reason ?? file.status)}`,
        evidence: { ...evidence, file: path },
      });
      reported = true;
    }
  }
  if (!reported) {
    ctx.report(at, {
      ruleId: "integrity/signature-invalid",
      message: `model does not match its OMS signature: ${result.errors[0] ?? "manifest check failed"}`,
      evidence: { ...evidence, stage: "manifest" },
    });
  }
}

/** Whole-file digests (lowercase hex) the report can hold, with their length. */
const REPORTED_DIGESTS: Readonly<Record<string, { key: keyof FileHashes; hexLength: number }>> = {
  sha256: { key: "sha256", hexLength: 64 },
  blake2b: { key: "blake2b", hexLength: 128 },
  blake3: { key: "blake3", hexLength: 64 },
};

/**
 * Records the whole-file digests the verification computed (a `files` signature: one digest per
 * file) as the files' `hashes`: BLAKE2b and BLAKE3 the scan does not compute itself, SHA-256 only
 * for files the scan did not hash. Shard digests are not whole-file digests and are left out.
 */
function recordDigests(
  ctx: RepoContext<SignatureVerification>,
  prefix: string,
  result: SignatureVerification,
  listed: Set<string>,
  reports: ReadonlyMap<string, RepoFile>,
): void {
  if (ctx.addHashes === undefined || result.serialization?.method !== "files") return;
  for (const file of result.files) {
    const digest = REPORTED_DIGESTS[file.algorithm ?? ""];
    const path = prefix + file.path;
    if (digest === undefined || file.actual === undefined || !listed.has(path)) continue;
    if (file.actual.length !== digest.hexLength || !/^[0-9a-f]+$/.test(file.actual)) continue;
    const report = reports.get(path);
    if (report === undefined || (digest.key === "sha256" && report.sha256 !== undefined)) continue;
    if (file.status !== "ok" && file.status !== "mismatch") continue;
    ctx.addHashes(path, { [digest.key]: file.actual });
  }
}

function signerText(result: SignatureVerification): string {
  const s = result.signer;
  if (s === undefined) return "";
  if (s.identity !== undefined) return `, ${s.identity} via ${s.issuer ?? "?"}`;
  if (s.certificateSubject !== undefined) return `, ${s.certificateSubject}`;
  return s.keyFingerprint === undefined ? "" : `, key ${s.keyFingerprint.slice(0, 16)}…`;
}

function signerEvidence(result: SignatureVerification): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.signer ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}

/** A signature's verification in a scan, with the model root it covers. */
interface Checked {
  readonly signaturePath: string;
  /** The model root relative to the scanned directory (`""` for the directory itself). */
  readonly root: string;
  readonly result: SignatureVerification;
  /** Whether it counts towards covering the directory: verified, and a signer the policy accepts. */
  readonly accepted: boolean;
}

/**
 * Which scanned files the accepted signatures cover, and which none does. A file is covered when a
 * verified signature (by a signer the policy accepts) whose model root contains it lists it with a
 * matching digest; a sub-model's signature never covers anything outside its own root. Exempt:
 * the signature files, the scan's own lock and policy files, OMS's default ignores at the scanned
 * directory or at an accepted signature's root, the caller's ignore paths, and (for a `shards`
 * signature, as the spec omits them) empty files under its root.
 */
function computeCoverage(
  ctx: RepoContext<SignatureVerification>,
  dir: string,
  checked: readonly Checked[],
  exempt: ReadonlySet<string>,
  callerIgnores: readonly string[],
): { coverage: SignatureCoverage; uncovered: RootEntry[] } {
  const covered = new Map<string, number>();
  const counts: CoveringSignature[] = [];
  const ignoredUnder = (root: string) =>
    ignorePredicate([
      ...DEFAULT_IGNORED_TOP_LEVEL,
      ...callerIgnores.flatMap((p) => normaliseIgnorePath(root === "" ? dir : join(dir, root), p) ?? []),
    ]);
  const scopes = [{ prefix: "", ignored: ignoredUnder("") }];
  checked.forEach((v, index) => {
    let count = 0;
    const prefix = v.root === "" ? "" : `${v.root}/`;
    if (v.accepted) {
      scopes.push({ prefix, ignored: ignoredUnder(v.root) });
      for (const file of v.result.files) {
        if (file.status !== "ok") continue;
        covered.set(prefix + file.path, index);
        count++;
      }
      if (v.result.serialization?.method === "shards") {
        for (const entry of ctx.entries) {
          if (entry.kind === "file" && entry.size === 0 && entry.path.startsWith(prefix) && !covered.has(entry.path)) {
            covered.set(entry.path, index);
            count++;
          }
        }
      }
    }
    counts.push({
      signaturePath: v.signaturePath,
      model: v.root === "" ? "." : v.root,
      status: v.result.status,
      covered: count,
    });
  });
  const uncovered: RootEntry[] = [];
  for (const entry of ctx.entries) {
    if (covered.has(entry.path) || exempt.has(entry.path)) continue;
    if (scopes.some((s) => entry.path.startsWith(s.prefix) && s.ignored(entry.path.slice(s.prefix.length)))) continue;
    uncovered.push(entry);
  }
  return {
    coverage: {
      complete: uncovered.length === 0,
      uncoveredCount: uncovered.length,
      uncovered: uncovered.slice(0, MAX_UNCOVERED_LISTED).map((e) => e.path),
      signatures: counts,
    },
    uncovered,
  };
}

/** Why a file is not covered, in words, and the signature nearest to it. */
function uncoveredReason(path: string, checked: readonly Checked[]): { message: string; evidence: Evidence } {
  let nearest: Checked | undefined;
  for (const v of checked) {
    if (v.root !== "" && !path.startsWith(`${v.root}/`)) continue;
    if (nearest === undefined || v.root.length > nearest.root.length) nearest = v;
  }
  if (nearest === undefined) {
    const roots = checked.map((v) => `${v.root}/`).join(", ");
    return {
      message: `not covered by a verified OMS signature: the signature${checked.length === 1 ? "" : "s"} found cover${checked.length === 1 ? "s" : ""} only ${roots}, and a signed sub-model does not sign the directory around it`,
      evidence: { signature: null, model: null },
    };
  }
  const { result } = nearest;
  const why =
    result.status !== "verified"
      ? `${nearest.signaturePath} is ${result.status}`
      : !nearest.accepted
        ? `the signer of ${nearest.signaturePath} is not the one the policy requires`
        : result.files.some((f) => nearest.root + (nearest.root === "" ? "" : "/") + f.path === path)
          ? `${nearest.signaturePath} does not sign it`
          : `${nearest.signaturePath} leaves it out (ignore paths)`;
  return {
    message: `not covered by a verified OMS signature (${why})`,
    evidence: { signature: nearest.signaturePath, model: nearest.root === "" ? "." : nearest.root },
  };
}

/** Finds, verifies and reports OMS signatures of a scanned local directory. */
export const omsRepoAnalyzer: RepoAnalyzer<SignatureVerification> = {
  name: "oms-signature",
  async analyze(ctx) {
    const options = ctx.options.signature;
    if (options === false) return;
    const config: ScanSignatureOptions = { ...(options ?? {}) };
    // A policy file's signature requirement supplies trust material the caller did not.
    const policyRequirement = ctx.policy.options.signature;
    const requirement: SignatureRequirement | undefined =
      policyRequirement !== undefined && policyRequirement.required !== false ? policyRequirement : undefined;
    if (requirement !== undefined && !hasTrust(config)) {
      if (requirement.key !== undefined && (requirement.method ?? "key") === "key") config.publicKey = requirement.key;
      else if (
        requirement.identity !== undefined &&
        requirement.issuer !== undefined &&
        (requirement.method ?? "sigstore") === "sigstore"
      ) {
        config.identity = requirement.identity;
        config.issuer = requirement.issuer;
      }
    }
    // Either kind of requirement holds only when verified signatures cover the whole directory.
    const required = config.require === true || requirement !== undefined;
    const dir = ctx.root.localDir;
    if (dir === undefined || ctx.root.target.kind !== "directory") {
      // Signatures are verified in local directory scans only: a scan that requires one, or names
      // one, of any other target fails closed instead of passing unchecked.
      if (config.require === true || config.signaturePath !== undefined) {
        const first = ctx.entries.find((e) => e.kind === "file")?.path;
        const message = `the scan ${config.require === true ? "requires an OMS signature" : `names the OMS signature ${config.signaturePath}`}, and signatures are verified only when scanning a local directory (scan the model's directory, or use 'modelgate verify')`;
        if (first === undefined) throw new ModelgateError("SIGNATURE", message);
        ctx.report(first, {
          ruleId: "integrity/signature-missing",
          message,
          evidence: { target: ctx.root.target.kind },
        });
      }
      return;
    }
    const reports = new Map(ctx.files.map((f) => [f.path, f]));
    const listed = new Set(ctx.entries.filter((e: RootEntry) => e.kind !== "unreadable").map((e) => e.path));
    const inside = (path: string): string | undefined => {
      const rel = relative(resolve(dir), resolve(path));
      return rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)
        ? undefined
        : rel.split(sep).join("/");
    };
    let signatures: { path: string; root: string }[];
    if (config.signaturePath !== undefined) {
      // A signature named by the caller verifies the scanned directory, wherever it lies (as
      // `verify --signature` does); it never moves the model root outside the directory.
      const rel = inside(config.signaturePath) ?? relative(resolve(dir), resolve(config.signaturePath));
      signatures = [{ path: rel.split(sep).join("/"), root: "" }];
    } else {
      signatures = (await discover(ctx, reports)).map((path) => ({ path, root: modelRootOf(path) }));
    }
    if (signatures.length === 0) {
      ctx.setSignature?.({ status: "unsigned", errors: [], warnings: [], files: [] });
      if (config.require === true) {
        const first = ctx.entries.find((e) => e.kind === "file");
        if (first !== undefined) {
          ctx.report(first.path, {
            ruleId: "integrity/signature-missing",
            message: "the scan requires an OMS signature and the directory has none",
          });
        }
      }
      return;
    }
    // The scan's own configuration files (the lock file, the policy file) are not model content.
    const configFiles: string[] = [];
    for (const file of [ctx.options.lockFile, ctx.policy.options.source]) {
      if (typeof file !== "string") continue;
      const rel = inside(file);
      if (rel !== undefined) configFiles.push(rel);
    }
    const trusted = hasTrust(config);
    const checked: Checked[] = [];
    const marked = new Set<string>();
    let primary: SignatureVerification | undefined;
    const rank = (r: SignatureVerification) => (r.status === "verified" ? 0 : 1) + (r.model === "." ? 0 : 2);
    for (const { path: signaturePath, root } of signatures) {
      // A signature verifies the directory it sits in (its parent for a hidden folder such as
      // `.kaggle/`): signatures of sub-models do not claim the rest of the tree.
      const prefix = root === "" ? "" : `${root}/`;
      const inRoot = (p: string) => prefix === "" || p.startsWith(prefix);
      const knownSha256 = new Map<string, { sha256: string; size: number }>();
      for (const f of ctx.files) {
        if (f.sha256 !== undefined && inRoot(f.path))
          knownSha256.set(f.path.slice(prefix.length), { sha256: f.sha256, size: f.size });
      }
      // Signatures of sub-models (another root inside this one) and the scan's own files are
      // compared when this signature lists them, and left out when it does not. Another signature
      // of the same root is not: unless this signature lists it or its signed ignore paths name
      // it, it is an unsigned file here (a copied bundle dropped beside the model), as it is for
      // the reference verifier.
      const optionalPaths = [...signatures.filter((s) => s.root !== root).map((s) => s.path), ...configFiles]
        .filter((p) => p !== signaturePath && inRoot(p))
        .map((p) => p.slice(prefix.length));
      const modelDir = root === "" ? dir : join(dir, root);
      const verifyOptions: VerifyOptions = {
        ...config,
        signaturePath: join(dir, signaturePath),
        requireTrust: trusted,
        knownSha256,
        optionalPaths,
        signal: ctx.signal,
      };
      let result: SignatureVerification;
      try {
        // the verifier (DSSE, keys, statements) loads only when a directory holds a signature
        const { verifyModel } = await import("./verify.js");
        result = await verifyModel(modelDir, verifyOptions);
      } catch (error) {
        const e = toModelgateError(error);
        if (e.code === "ABORTED") throw e;
        result = { status: "failed", failedStage: "parse", errors: [e.message], warnings: [], files: [] };
      }
      result.signaturePath = signaturePath;
      result.model = root === "" ? "." : root;
      recordDigests(ctx, prefix, result, listed, reports);
      // Every result is reported: on the signature file when it is listed, else on the model's
      // first file (a caller-named signature outside the directory fails as loudly as one inside).
      const at = listed.has(signaturePath) ? signaturePath : anchorOf(ctx.entries, listed, prefix);
      report(ctx, signaturePath, at, prefix, result, listed, marked, config.signaturePath !== undefined);
      const accepted = result.status === "verified" && signerViolation(result, requirement) === undefined;
      checked.push({ signaturePath, root, result, accepted });
      if (primary === undefined || rank(result) < rank(primary)) primary = result;
    }
    // A signature file needs no covering only when it verified (by a signer the policy accepts):
    // one that did not is a file like any other under a signature requirement.
    const exempt = new Set([...checked.filter((c) => c.accepted).map((c) => c.signaturePath), ...configFiles]);
    const { coverage, uncovered } = computeCoverage(ctx, dir, checked, exempt, config.ignorePaths ?? []);
    if (required) {
      for (const entry of uncovered) {
        if (!listed.has(entry.path) || marked.has(entry.path)) continue;
        const { message, evidence } = uncoveredReason(entry.path, checked);
        ctx.report(entry.path, { ruleId: "integrity/unsigned-file", message, evidence });
      }
    }
    if (primary !== undefined) ctx.setSignature?.({ ...primary, coverage });
  },
};
