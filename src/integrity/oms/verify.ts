/**
 * Verifying a model against its OpenSSF Model Signing signature: parse → signature → policy →
 * statement → manifest; the first failure is fatal and named in the result.
 * @module
 */

import type { KeyObject, X509Certificate } from "node:crypto";
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { pushAll } from "../../core/arrays.js";
import { toModelgateError } from "../../core/errors.js";
import { readFileSafely, UnsafePathError } from "../../sources/safe-write.js";
import type { HashPool } from "../hash/pool.js";
import { DEFAULT_SIGNATURE_NAME, MAX_SIGNATURE_BYTES, OmsError, type ParsedBundle, parseBundle } from "./bundle.js";
import type { CertificatePolicy } from "./certificate.js";
import { loadPublicKey, publicKeyFingerprint, publicKeyHint, verifyDsseSignature } from "./crypto.js";
import { checkManifest, filesOfError } from "./manifest.js";
import type { SignatureVerification, SignerInfo } from "./result.js";
import { type Manifest, parseStatement } from "./statement.js";

export { DEFAULT_SIGNATURE_NAME } from "./bundle.js";

/** Options of {@link verifyModel}. */
export interface VerifyOptions {
  /** Signature file (default: `model.sig` in the model directory, or beside a single-file model). */
  signaturePath?: string;
  /** The signature's content, instead of reading `signaturePath` (which is then only excluded from the model). */
  signature?: string | Uint8Array | Record<string, unknown>;
  /** Key method: the public key (PEM/DER SPKI or KeyObject). Never taken from the bundle. */
  publicKey?: string | Uint8Array | KeyObject;
  /** Certificate method: trust anchors (PEM texts, each may hold several certificates, or parsed certificates). */
  certificateChain?: readonly (string | Uint8Array | X509Certificate)[];
  /** Certificate method: optional pinning of the leaf. */
  certificatePolicy?: CertificatePolicy;
  /** Certificate method: time at which the chain must be valid (default: now). */
  time?: Date;
  /** Sigstore method: expected certificate identity (email or URI), matched exactly. */
  identity?: string;
  /** Sigstore method: expected OIDC issuer, matched exactly. */
  issuer?: string;
  /** Sigstore method: TrustedRoot (or ClientTrustConfig) JSON or object; default the shipped public-good snapshot. */
  trustedRoot?: TrustedRoot | Record<string, unknown>;
  /** Extra ignore paths (relative to the model root, or absolute). */
  ignorePaths?: readonly string[];
  /** Files present but not signed do not fail verification. */
  ignoreUnsignedFiles?: boolean;
  /** Accept model_signing 0.2 (`Digests/v0.1`) signatures (default true, with a warning). */
  allowLegacy?: boolean;
  /**
   * When false, a signature whose method has no trust material supplied is still parsed and its
   * manifest checked, and the result is `unverified` instead of `failed` (what `scan` does when no
   * key, chain or identity is configured). Default true.
   */
  requireTrust?: boolean;
  /** Hash pool (default: the process-wide pool). */
  pool?: HashPool;
  /** SHA-256 digests a scan already computed, by path relative to the model root (not hashed again). */
  knownSha256?: ReadonlyMap<string, { readonly sha256: string; readonly size: number }>;
  /**
   * Paths (relative to the model root) compared when the signature lists them and left out when it
   * does not (a scan passes other signature files and its own lock and policy files).
   */
  optionalPaths?: readonly string[];
  /** Stops the work. */
  signal?: AbortSignal;
}

/** Signature options of a scan (`ScanOptions.signature`): those of `verifyModel`, plus discovery and policy. */
export interface ScanSignatureOptions
  extends Pick<
    VerifyOptions,
    | "publicKey"
    | "certificateChain"
    | "certificatePolicy"
    | "time"
    | "identity"
    | "issuer"
    | "trustedRoot"
    | "ignorePaths"
    | "ignoreUnsignedFiles"
    | "allowLegacy"
  > {
  /** The signature file (default: discovered by content in the scanned directory). */
  signaturePath?: string;
  /** A directory without a signature is a `high` finding (`integrity/signature-missing`). */
  require?: boolean;
}

/** Whether a value is a decoded TrustedRoot (binary fields are bytes) rather than its JSON form. */
function isTrustedRoot(value: TrustedRoot | Record<string, unknown>): value is TrustedRoot {
  const v = value as {
    tlogs?: { logId?: { keyId?: unknown } }[];
    certificateAuthorities?: { certChain?: { certificates?: { rawBytes?: unknown }[] } }[];
  };
  return (
    v.tlogs?.[0]?.logId?.keyId instanceof Uint8Array ||
    v.certificateAuthorities?.[0]?.certChain?.certificates?.[0]?.rawBytes instanceof Uint8Array
  );
}

async function defaultSignaturePath(modelPath: string): Promise<string> {
  try {
    const s = await stat(modelPath);
    return s.isDirectory() ? join(modelPath, DEFAULT_SIGNATURE_NAME) : join(dirname(modelPath), DEFAULT_SIGNATURE_NAME);
  } catch (error) {
    throw toModelgateError(error);
  }
}

/**
 * Reads a signature file under the size budget, link-safely: a symbolic link (at the last
 * component), a FIFO, socket, device or directory is refused without being opened or followed,
 * and at most {@link MAX_SIGNATURE_BYTES} + 1 bytes are read.
 * @param path - the file
 * @returns its bytes, or undefined when it does not exist
 * @throws OmsError at stage `parse` for a link, a special file or an oversized file
 */
export async function readSignatureFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFileSafely(path, { maxBytes: MAX_SIGNATURE_BYTES, what: "signature" });
  } catch (error) {
    if (error instanceof UnsafePathError) {
      const why =
        error.reason === "too-large"
          ? `signature larger than ${MAX_SIGNATURE_BYTES} bytes`
          : `${error.message} (signature files are never read through links or from special files)`;
      throw new OmsError("parse", why);
    }
    throw toModelgateError(error);
  }
}

/** What checking a bundle's signature found. */
export interface SignatureOutcome {
  /** Who signed, when the signature was checked. */
  readonly signer?: SignerInfo;
  /** Accepted oddities. */
  readonly warnings: readonly string[];
  /** False when no trust material for the bundle's method was supplied and `requireTrust` is false. */
  readonly checked: boolean;
}

/**
 * Checks a parsed bundle's signature with the trust material for its method (key, certificate
 * chain, or Sigstore identity and trust root); shared by model signatures and scan attestations.
 * @param bundle - the parsed bundle
 * @param options - trust material (`publicKey`, `certificateChain`, `identity`/`issuer`/`trustedRoot`, `time`, `requireTrust`)
 * @throws OmsError at stage `signature` or `policy`; ModelgateError `INVALID_ARGUMENT` for bad trust material
 */
export async function checkSignature(bundle: ParsedBundle, options: VerifyOptions): Promise<SignatureOutcome> {
  const requireTrust = options.requireTrust ?? true;
  const allowLegacy = options.allowLegacy ?? true;
  const unverified = (why: string): SignatureOutcome => {
    if (requireTrust) throw new OmsError("policy", why);
    return { warnings: [why], checked: false };
  };
  switch (bundle.method) {
    case "key": {
      if (options.publicKey === undefined)
        return unverified("the model is signed with a key, and no public key was supplied");
      const key = loadPublicKey(options.publicKey);
      const hint = publicKeyHint(key);
      const warnings = [...bundle.warnings];
      if (bundle.keyHint !== undefined && bundle.keyHint !== hint) {
        throw new OmsError("signature", `the bundle names key ${bundle.keyHint}, not the supplied key (${hint})`);
      }
      pushAll(warnings, verifyDsseSignature(bundle, key, allowLegacy));
      return {
        signer: { keyFingerprint: publicKeyFingerprint(key), keyHint: bundle.keyHint ?? hint },
        warnings,
        checked: true,
      };
    }
    case "certificate": {
      if (options.certificateChain === undefined || options.certificateChain.length === 0) {
        return unverified(
          "the model is signed with a certificate, and no trust anchor (certificate chain) was supplied",
        );
      }
      // Sigstore's libraries load only when a signature needs them (start-up time).
      const { parseCertificates, verifyCertificateBundle } = await import("./certificate.js");
      const anchors = options.certificateChain.flatMap((c) =>
        typeof c === "string" || c instanceof Uint8Array ? parseCertificates([c]) : [c],
      );
      const { signer, warnings } = verifyCertificateBundle(bundle, {
        anchors,
        allowLegacy,
        ...(options.time === undefined ? {} : { time: options.time }),
        ...(options.certificatePolicy === undefined ? {} : { policy: options.certificatePolicy }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return { signer, warnings: [...bundle.warnings, ...warnings], checked: true };
    }
    case "sigstore": {
      if (options.identity === undefined || options.issuer === undefined) {
        return unverified(
          "the model is signed with Sigstore (keyless): an identity and an issuer are required to verify it",
        );
      }
      const { publicGoodTrustedRoot, trustedRootFromJSON } = await import("./trusted-root.js");
      const { verifyKeylessBundle } = await import("./keyless.js");
      const root =
        options.trustedRoot === undefined
          ? await publicGoodTrustedRoot()
          : isTrustedRoot(options.trustedRoot)
            ? options.trustedRoot
            : trustedRootFromJSON(options.trustedRoot);
      const { signer, warnings } = verifyKeylessBundle(bundle, root, {
        identity: options.identity,
        issuer: options.issuer,
      });
      return { signer, warnings: [...bundle.warnings, ...warnings], checked: true };
    }
  }
}

/**
 * Verifies a model directory (or single file) against its OMS signature.
 *
 * The method is chosen by the bundle: `key` needs `publicKey`; `certificate` needs
 * `certificateChain` (trust anchors; system roots are never used) and checks validity at
 * `time` (default now); `sigstore` needs `identity` and `issuer` and uses `trustedRoot` or the
 * shipped public-good snapshot, offline.
 * @param modelPath - model directory or single file
 * @param options - trust material, ignores, policies
 * @returns the result; `unsigned` when no signature exists
 * @throws ModelgateError for caller errors (unreadable model or signature path, bad key or certificate input)
 */
export async function verifyModel(modelPath: string, options: VerifyOptions = {}): Promise<SignatureVerification> {
  const signaturePath = options.signaturePath ?? (await defaultSignaturePath(modelPath));
  const result: SignatureVerification = { status: "failed", signaturePath, errors: [], warnings: [], files: [] };
  try {
    await stat(modelPath);
  } catch (error) {
    throw toModelgateError(error);
  }
  let content = options.signature;
  if (content === undefined) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readSignatureFile(signaturePath);
    } catch (error) {
      if (!(error instanceof OmsError)) throw error;
      return { ...result, failedStage: error.stage, errors: [error.message] };
    }
    if (bytes === undefined) return { ...result, status: "unsigned" };
    content = bytes;
  }
  let manifest: Manifest | undefined;
  try {
    const bundle = parseBundle(content);
    result.method = bundle.method;
    const outcome = await checkSignature(bundle, options);
    if (outcome.signer !== undefined) result.signer = outcome.signer;
    pushAll(result.warnings, outcome.warnings);
    manifest = parseStatement(bundle.payloadType, bundle.payload, {
      ...(options.allowLegacy === undefined ? {} : { allowLegacy: options.allowLegacy }),
    });
    result.predicateType = manifest.predicateType;
    if (manifest.subjectName !== "") result.subjectName = manifest.subjectName;
    if (manifest.rootDigest !== undefined) result.rootDigest = manifest.rootDigest;
    result.serialization = {
      method: manifest.method,
      hashType: manifest.hashType,
      allowSymlinks: manifest.allowSymlinks,
      ...(manifest.shardSize === undefined ? {} : { shardSize: manifest.shardSize }),
      ignorePaths: [...manifest.ignorePaths],
    };
    pushAll(result.warnings, manifest.warnings);
    result.files = await checkManifest(modelPath, manifest, {
      signaturePaths: [signaturePath],
      ...(options.ignorePaths === undefined ? {} : { ignorePaths: options.ignorePaths }),
      ...(options.ignoreUnsignedFiles === undefined ? {} : { ignoreUnsignedFiles: options.ignoreUnsignedFiles }),
      ...(options.pool === undefined ? {} : { pool: options.pool }),
      ...(options.knownSha256 === undefined ? {} : { knownSha256: options.knownSha256 }),
      ...(options.optionalPaths === undefined ? {} : { optionalPaths: options.optionalPaths }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    result.status = outcome.checked ? "verified" : "unverified";
    return result;
  } catch (error) {
    if (error instanceof OmsError) {
      result.failedStage = error.stage;
      result.errors.push(error.message);
      const files = filesOfError(error);
      if (files !== undefined) result.files = files;
      return result;
    }
    const typed = toModelgateError(error);
    if (typed.code === "ABORTED" || typed.code === "INVALID_ARGUMENT" || typed.code === "INTERNAL") throw typed;
    // A file that cannot be read (or changed while hashed) means the model does not match.
    result.failedStage = "manifest";
    result.errors.push(typed.message);
    return result;
  }
}
