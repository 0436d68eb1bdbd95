/**
 * Signing a model in the OMS v1.0 format with a private key (key method) or a private key and its
 * certificate chain (certificate method): a spec-exact Sigstore bundle v0.3 with a DSSE envelope.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { assertWritableTarget, writeFileSafely } from "../../sources/safe-write.js";
import type { HashAlgorithm } from "../hash/core.js";
import { defaultHashPool, type HashPool } from "../hash/pool.js";
import { compareCodePoints, type ListedEntry, mapLimit } from "../walk.js";
import { IN_TOTO_PAYLOAD_TYPE } from "./bundle.js";
import { createBundleSigner } from "./dsse.js";
import { listModelFiles, openPathOf, shardRanges } from "./manifest.js";
import { PREDICATE_TYPE_V1, rootDigestOf, STATEMENT_TYPE } from "./statement.js";
import { DEFAULT_SIGNATURE_NAME } from "./verify.js";

/** Options of {@link signModel}. */
export interface SignOptions {
  /** EC private key (P-256, P-384 or P-521), PEM/DER PKCS#8 or SEC1, or a KeyObject. */
  privateKey: string | Uint8Array | KeyObject;
  /** Passphrase of an encrypted PEM key. */
  passphrase?: string;
  /** Certificate method: the signing (leaf) certificate for `privateKey`, PEM or DER. */
  signingCertificate?: string | Uint8Array;
  /** Certificate method: the rest of the chain (intermediates, optionally the root), PEM texts. */
  certificateChain?: readonly (string | Uint8Array)[];
  /** Where to write the signature (default `model.sig` in the model directory, or beside a single file). */
  output?: string;
  /** Paths (relative to the model root) left out of the signature and recorded as ignored. */
  ignorePaths?: readonly string[];
  /** Digest algorithm (default `sha256`). */
  hash?: HashAlgorithm;
  /** Sign in shards of this many bytes (the `shards` method) instead of whole files. */
  shardSize?: number;
  /**
   * Follow symbolic links to files inside the model and hash their targets (default false: a
   * symlink is an error). A link leaving the model root is always an error.
   */
  allowSymlinks?: boolean;
  /** Write the file (default true); false only builds the bundle. */
  write?: boolean;
  /** Hash pool (default: the process-wide pool). */
  pool?: HashPool;
  /** Stops the work. */
  signal?: AbortSignal;
}

/** What {@link signModel} produced. */
export interface SignResult {
  /** The bundle (JSON object). */
  bundle: Record<string, unknown>;
  /** The signature file path. */
  path: string;
  /** Root digest of the manifest. */
  rootDigest: string;
  /** Number of resources signed (files or shards). */
  resources: number;
  /** The method used. */
  method: "key" | "certificate";
}

/**
 * Signs a model directory (or single file) and writes an OMS signature.
 * @param modelPath - model directory or single file
 * @param options - key, certificate chain, ignores, hash, shards
 * @returns the bundle and where it was written
 * @throws ModelgateError `INVALID_ARGUMENT` (bad key, unsupported curve, certificate not matching the key, symlinks not allowed, special files), `IO`
 */
export async function signModel(modelPath: string, options: SignOptions): Promise<SignResult> {
  // Key and certificates are checked before any work.
  const signer = createBundleSigner(options);
  const hashType = options.hash ?? "sha256";
  if (hashType !== "sha256" && hashType !== "blake2b" && hashType !== "blake3") {
    throw new ModelgateError("INVALID_ARGUMENT", `unknown hash ${String(hashType)}`);
  }
  const shardSize = options.shardSize;
  if (shardSize !== undefined && (!Number.isSafeInteger(shardSize) || shardSize <= 0)) {
    throw new ModelgateError("INVALID_ARGUMENT", "shard size must be a positive integer");
  }

  let isDirectory: boolean;
  try {
    isDirectory = (await stat(modelPath)).isDirectory();
  } catch (error) {
    throw toModelgateError(error);
  }
  const output = options.output ?? join(isDirectory ? modelPath : dirname(modelPath), DEFAULT_SIGNATURE_NAME);
  // Fail before hashing when the output is a link or a special file (writing checks again).
  if (options.write ?? true) await assertWritableTarget(output, "signature");
  const model = await listModelFiles(modelPath, {
    signaturePaths: [output],
    ...(options.ignorePaths === undefined ? {} : { ignorePaths: options.ignorePaths }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  // Recorded ignore paths: the defaults, the caller's and the signature file (relative, sorted).
  const ignored = model.singleFile ? [] : [...model.ignored];
  const entries: ListedEntry[] = [];
  for (const entry of model.entries.values()) {
    if (entry.kind === "special") throw new ModelgateError("INVALID_ARGUMENT", `${entry.path} is not a regular file`);
    if (entry.kind === "symlink") {
      if (!options.allowSymlinks) {
        throw new ModelgateError(
          "INVALID_ARGUMENT",
          `${entry.path} is a symbolic link (pass allowSymlinks to follow it)`,
        );
      }
      if (entry.targetKind === "outside") {
        throw new ModelgateError(
          "INVALID_ARGUMENT",
          `${entry.path} is a symbolic link leaving the model directory (never followed)`,
        );
      }
      if (entry.targetKind !== "file" || entry.targetPath === undefined) {
        throw new ModelgateError(
          "INVALID_ARGUMENT",
          `${entry.path} is a symbolic link to a ${entry.targetKind ?? "non-file"}`,
        );
      }
    }
    entries.push(entry);
  }
  const pool = options.pool ?? defaultHashPool();
  const jobs = entries.map((entry) => ({
    entry,
    ranges: shardSize === undefined ? undefined : shardRanges(entry.size, shardSize),
  }));
  const hashed = await mapLimit(jobs, Math.max(2, pool.size * 2), async ({ entry, ranges }) => {
    if (ranges !== undefined && ranges.length === 0) return [];
    const result = await pool.hash({
      path: openPathOf(entry),
      noFollow: true,
      algorithms: [hashType],
      expectedSize: entry.size,
      ...(ranges === undefined ? {} : { ranges }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return result.digests.map((d) => d[hashType] ?? "");
  });
  const resources: { name: string; digest: string; algorithm: string }[] = [];
  jobs.forEach(({ entry, ranges }, i) => {
    const digests = hashed[i] ?? [];
    if (ranges === undefined) resources.push({ name: entry.path, digest: digests[0] ?? "", algorithm: hashType });
    else {
      ranges.forEach((r, j) => {
        resources.push({ name: `${entry.path}:${r.start}:${r.end}`, digest: digests[j] ?? "", algorithm: hashType });
      });
    }
  });
  if (resources.length === 0)
    throw new ModelgateError("INVALID_ARGUMENT", "nothing to sign: the model has no (non-empty) file");
  resources.sort((a, b) => compareCodePoints(a.name, b.name));
  const rootDigest = rootDigestOf(resources.map((r) => r.digest));
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: basename(modelPath), digest: { sha256: rootDigest } }],
    predicateType: PREDICATE_TYPE_V1,
    predicate: {
      serialization: {
        method: shardSize === undefined ? "files" : "shards",
        hash_type: hashType,
        allow_symlinks: options.allowSymlinks ?? false,
        ...(shardSize === undefined ? {} : { shard_size: shardSize }),
        ignore_paths: ignored,
      },
      resources,
    },
  };
  const payload = Buffer.from(JSON.stringify(statement), "utf8");
  const bundle = signer.sign(IN_TOTO_PAYLOAD_TYPE, payload);
  if (options.write ?? true) {
    await writeFileSafely(output, `${JSON.stringify(bundle, null, 2)}\n`, { what: "signature" });
  }
  return {
    bundle,
    path: output,
    rootDigest,
    resources: resources.length,
    method: signer.method,
  };
}
