/**
 * Parsing OMS signature files: a Sigstore bundle (v0.3 JSON) holding a DSSE envelope. Parsed by
 * hand because `@sigstore/bundle` refuses certificate-chain bundles, which OMS uses.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { parsePlainJson } from "../../core/json.js";
import { describeJsonError } from "../../sources/safe-write.js";
import type { SigningMethod, VerificationStage } from "./result.js";
import { BUNDLE_MEDIA_TYPE_PREFIX, bundleShapeError, IN_TOTO_PAYLOAD_TYPE } from "./shape.js";

export { BUNDLE_MEDIA_TYPE_PREFIX, IN_TOTO_PAYLOAD_TYPE };

/** Budgets of signature JSON: a hostile 64 MiB "bundle" must not cost gigabytes. */
const BUNDLE_JSON = { maxDepth: 64, maxTreeBytes: 32 << 20 } as const;

/** A verification failure at a given stage. */
export class OmsError extends ModelgateError {
  /** The stage that rejected. */
  readonly stage: VerificationStage;

  /**
   * @param stage - the stage that rejected
   * @param message - why
   * @param cause - underlying error
   */
  constructor(stage: VerificationStage, message: string, cause?: unknown) {
    super("SIGNATURE", message, cause === undefined ? {} : { cause });
    this.name = "OmsError";
    this.stage = stage;
  }
}

/** The media type OMS signers write. */
export const BUNDLE_MEDIA_TYPE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** Largest signature file read (64 MiB, a manifest of several hundred thousand files). */
export const MAX_SIGNATURE_BYTES = 64 * 1024 * 1024;

/** Conventional signature file name (`verify.ts` re-exports it). */
export const DEFAULT_SIGNATURE_NAME = "model.sig";

/** A parsed OMS bundle. */
export interface ParsedBundle {
  /** The bundle's media type. */
  readonly mediaType: string;
  /** Signing method, from the verification material. */
  readonly method: SigningMethod;
  /** DSSE payload type. */
  readonly payloadType: string;
  /** Decoded payload bytes (the in-toto statement JSON). */
  readonly payload: Buffer;
  /** Decoded signature bytes (DER ECDSA for key and certificate methods). */
  readonly signature: Buffer;
  /** `publicKey.hint` (key method). */
  readonly keyHint?: string;
  /** `publicKey.rawBytes`, decoded (legacy key-method bundles). */
  readonly keyRawBytes?: Buffer;
  /** DER certificates: [leaf, intermediates...] (certificate method) or [leaf] (sigstore). */
  readonly certificates: readonly Buffer[];
  /** Number of transparency-log entries. */
  readonly tlogEntries: number;
  /** The JSON object, for `@sigstore/bundle` (sigstore method). */
  readonly json: Record<string, unknown>;
  /** Accepted oddities worth telling the caller. */
  readonly warnings: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Strictly decodes standard (or URL-safe) base64; Node's decoder silently skips garbage.
 * @param value - the text
 * @param what - field name for the error
 */
export function decodeBase64(value: unknown, what: string): Buffer {
  if (typeof value !== "string") throw new OmsError("parse", `${what} is not a base64 string`);
  const text = value.replace(/\s+/g, "");
  if (!(BASE64.test(text) || BASE64URL.test(text)) || text.replace(/=+$/, "").length % 4 === 1) {
    throw new OmsError("parse", `${what} is not valid base64`);
  }
  return Buffer.from(text, BASE64.test(text) ? "base64" : "base64url");
}

/**
 * Parses the JSON text of a signature file.
 * @param input - JSON text, bytes or an already-parsed object
 * @throws OmsError at stage `parse`
 */
export function parseBundle(input: string | Uint8Array | Record<string, unknown>): ParsedBundle {
  let json: unknown = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    if (input.length > MAX_SIGNATURE_BYTES) {
      throw new OmsError("parse", `signature larger than ${MAX_SIGNATURE_BYTES} bytes`);
    }
    const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
    let duplicates = 0;
    try {
      const parsed = parsePlainJson(text, BUNDLE_JSON);
      json = parsed.value;
      duplicates = parsed.duplicates.length;
    } catch (error) {
      // Never the parser's message: it quotes the input, which may be any file's bytes.
      throw new OmsError(
        "parse",
        `signature is not JSON (${describeJsonError(error, typeof input === "string" ? Buffer.byteLength(input) : input.length)})`,
      );
    }
    // Two parsers could read different bundles from repeated keys: refused.
    if (duplicates > 0) throw new OmsError("parse", "signature repeats a JSON key");
  }
  if (!isObject(json)) throw new OmsError("parse", "signature is not a JSON object");
  const warnings: string[] = [];
  const mediaType = json.mediaType;
  if (typeof mediaType !== "string" || !mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) {
    throw new OmsError(
      "parse",
      "not a Sigstore bundle (mediaType missing or not application/vnd.dev.sigstore.bundle*)",
    );
  }
  if (mediaType !== BUNDLE_MEDIA_TYPE_V03) warnings.push(`bundle media type ${mediaType} (OMS signers write v0.3)`);
  const envelope = json.dsseEnvelope;
  if (!isObject(envelope)) {
    throw new OmsError(
      "parse",
      json.messageSignature !== undefined
        ? "bundle holds a message signature, not a DSSE envelope"
        : "bundle has no dsseEnvelope",
    );
  }
  const material = json.verificationMaterial;
  if (!isObject(material)) throw new OmsError("parse", "bundle has no verificationMaterial");
  // Exactly the bundle schema's fields: a document with any other key is what some loader reads
  // (a copied signature saved as tokenizer_config.json with a chat_template), never a signature.
  const shape = bundleShapeError(json);
  if (shape !== undefined) throw new OmsError("parse", `not a strict Sigstore bundle: ${shape}`);

  const payloadType = envelope.payloadType;
  if (typeof payloadType !== "string") throw new OmsError("parse", "DSSE envelope has no payloadType");
  const payload = decodeBase64(envelope.payload, "DSSE payload");
  const signatures = envelope.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0)
    throw new OmsError("parse", "DSSE envelope has no signature");
  if (signatures.length !== 1) {
    throw new OmsError("parse", `DSSE envelope holds ${signatures.length} signatures; OMS bundles hold exactly one`);
  }
  const first: unknown = signatures[0];
  if (!isObject(first)) throw new OmsError("parse", "DSSE signature is not an object");
  const signature = decodeBase64(first.sig, "DSSE signature");
  if (signature.length === 0) throw new OmsError("parse", "DSSE signature is empty");

  const tlog = material.tlogEntries;
  if (tlog !== undefined && !Array.isArray(tlog)) throw new OmsError("parse", "tlogEntries is not an array");
  const tlogEntries = Array.isArray(tlog) ? tlog.length : 0;

  const kinds = ["publicKey", "x509CertificateChain", "certificate"].filter((k) => material[k] !== undefined);
  if (kinds.length !== 1) {
    throw new OmsError(
      "parse",
      kinds.length === 0
        ? "verificationMaterial holds no publicKey, x509CertificateChain or certificate"
        : `verificationMaterial holds several kinds of key material (${kinds.join(", ")})`,
    );
  }
  const base = { mediaType, payloadType, payload, signature, tlogEntries, json, warnings };
  if (material.publicKey !== undefined) {
    const publicKey = material.publicKey;
    if (!isObject(publicKey)) throw new OmsError("parse", "publicKey is not an object");
    const hint = publicKey.hint;
    if (hint !== undefined && (typeof hint !== "string" || hint === "")) {
      throw new OmsError("parse", "publicKey.hint is not a non-empty string");
    }
    const raw = publicKey.rawBytes === undefined ? undefined : decodeBase64(publicKey.rawBytes, "publicKey.rawBytes");
    if (hint === undefined && raw === undefined) throw new OmsError("parse", "publicKey has neither hint nor rawBytes");
    if (hint === undefined) warnings.push("legacy key bundle: publicKey.rawBytes and no hint (model_signing < 1.1)");
    return {
      ...base,
      method: "key",
      certificates: [],
      ...(hint === undefined ? {} : { keyHint: hint }),
      ...(raw === undefined ? {} : { keyRawBytes: raw }),
    };
  }
  if (material.x509CertificateChain !== undefined) {
    const chain = material.x509CertificateChain;
    const certs = isObject(chain) ? chain.certificates : undefined;
    if (!Array.isArray(certs) || certs.length === 0) {
      throw new OmsError("parse", "x509CertificateChain holds no certificate");
    }
    if (certs.length > 16)
      throw new OmsError("parse", `x509CertificateChain holds ${certs.length} certificates (at most 16)`);
    const certificates = certs.map((c: unknown, i) =>
      decodeBase64(isObject(c) ? c.rawBytes : undefined, `certificate ${i} of x509CertificateChain`),
    );
    return { ...base, method: "certificate", certificates };
  }
  const cert = material.certificate;
  const der = decodeBase64(isObject(cert) ? cert.rawBytes : undefined, "certificate.rawBytes");
  if (tlogEntries === 0) {
    throw new OmsError(
      "parse",
      "a Sigstore (keyless) OMS bundle needs at least one transparency-log entry; it has none",
    );
  }
  return { ...base, method: "sigstore", certificates: [der] };
}

/**
 * Classifies a file by content: `oms` for a strict Sigstore bundle (no key the schema lacks) whose
 * DSSE payload is an in-toto statement with a `https://model_signing/` predicate, `dsse-bundle`
 * for any other Sigstore DSSE bundle (an OMS signature whose payload was tampered with, or with
 * keys added, looks like this), else undefined.
 * Used to discover signatures whatever their names.
 * @param bytes - the file's bytes (whole file; signatures are small)
 */
export function classifySignatureFile(bytes: Uint8Array): "oms" | "dsse-bundle" | undefined {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] !== 0x7b || bytes.length > MAX_SIGNATURE_BYTES) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (!text.includes(BUNDLE_MEDIA_TYPE_PREFIX) || !text.includes("dsseEnvelope")) return undefined;
  let json: unknown;
  try {
    json = parsePlainJson(text, BUNDLE_JSON).value;
  } catch {
    return undefined;
  }
  if (!isObject(json) || typeof json.mediaType !== "string" || !json.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) {
    return undefined;
  }
  const envelope = json.dsseEnvelope;
  if (!isObject(envelope)) return undefined;
  // Only a strict bundle (no key the bundle schema does not have) is an OMS signature; anything
  // more is at most a DSSE bundle (reported as an invalid signature under a `.sig` name).
  if (bundleShapeError(json) !== undefined || typeof envelope.payload !== "string") return "dsse-bundle";
  try {
    const statement: unknown = parsePlainJson(
      Buffer.from(envelope.payload, "base64").toString("utf8"),
      BUNDLE_JSON,
    ).value;
    if (
      isObject(statement) &&
      typeof statement.predicateType === "string" &&
      statement.predicateType.startsWith("https://model_signing/")
    ) {
      return "oms";
    }
  } catch {
    // not JSON: still a DSSE bundle
  }
  return "dsse-bundle";
}
