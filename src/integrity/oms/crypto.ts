/**
 * DSSE signatures with ECDSA keys, hashed with the curve's own hash as OMS requires
 * (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512), plus key fingerprints and hints.
 * @module
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { ModelgateError } from "../../core/errors.js";
import { parsePlainJson } from "../../core/json.js";
import { OmsError, type ParsedBundle } from "./bundle.js";
import { PREDICATE_TYPE_LEGACY, STATEMENT_JSON } from "./statement.js";

/** Hash of each curve OMS allows. */
export const CURVE_HASHES: Readonly<Record<string, "sha256" | "sha384" | "sha512">> = {
  prime256v1: "sha256",
  secp384r1: "sha384",
  secp521r1: "sha512",
};

/**
 * DSSE pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`.
 * @param payloadType - the payload type
 * @param payload - the payload bytes
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

const HEX = "0123456789abcdef";

/** Python's `repr()` of a bytes object, as model_signing 0.2 embedded it in its PAE (ASCII bytes, linear time). */
function pythonBytesRepr(bytes: Uint8Array): Buffer {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? 0x22 : 0x27;
  const out = Buffer.allocUnsafe(bytes.length * 4 + 3);
  let n = 0;
  out[n++] = 0x62; // b
  out[n++] = quote;
  for (const c of bytes) {
    if (c === 0x5c || c === quote) {
      out[n++] = 0x5c;
      out[n++] = c;
    } else if (c === 0x09 || c === 0x0a || c === 0x0d) {
      out[n++] = 0x5c;
      out[n++] = c === 0x09 ? 0x74 : c === 0x0a ? 0x6e : 0x72;
    } else if (c < 0x20 || c >= 0x7f) {
      out[n++] = 0x5c;
      out[n++] = 0x78;
      out[n++] = HEX.charCodeAt(c >> 4);
      out[n++] = HEX.charCodeAt(c & 15);
    } else out[n++] = c;
  }
  out[n++] = quote;
  return out.subarray(0, n);
}

/** model_signing 0.2's non-standard PAE (`DSSEV1`, Python bytes repr of the payload), signed with SHA-256. */
export function legacyPreAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEV1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `, "utf8"),
    pythonBytesRepr(payload),
  ]);
}

/**
 * Loads a public key (PEM/DER SPKI, a certificate's key, or a KeyObject).
 * @param key - the key
 * @throws ModelgateError `INVALID_ARGUMENT` when it is not a public key
 */
export function loadPublicKey(key: string | Uint8Array | KeyObject): KeyObject {
  if (typeof key === "object" && "type" in key && "export" in key) {
    const object = key as KeyObject;
    return object.type === "private" ? createPublicKey(object) : object;
  }
  try {
    if (typeof key === "string" || key.includes(0x2d /* '-' of -----BEGIN */)) {
      return createPublicKey(typeof key === "string" ? key : Buffer.from(key));
    }
    return createPublicKey({ key: Buffer.from(key), format: "der", type: "spki" });
  } catch (error) {
    throw new ModelgateError("INVALID_ARGUMENT", `not a public key: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The hash OMS prescribes for an EC key's curve.
 * @param key - the key
 * @throws OmsError at stage `signature` for other key types and curves
 */
export function curveHash(key: KeyObject): "sha256" | "sha384" | "sha512" {
  const curve = key.asymmetricKeyType === "ec" ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const hash = curve === undefined ? undefined : CURVE_HASHES[curve];
  if (hash === undefined) {
    throw new OmsError(
      "signature",
      `key type ${key.asymmetricKeyType ?? "?"}${curve ? ` (${curve})` : ""} is not allowed: OMS uses ECDSA P-256, P-384 or P-521`,
    );
  }
  return hash;
}

/** Hex SHA-256 of the key's PEM SubjectPublicKeyInfo text (`publicKey.hint` in OMS bundles). */
export function publicKeyHint(key: KeyObject): string {
  return createHash("sha256")
    .update(String(key.export({ type: "spki", format: "pem" })))
    .digest("hex");
}

/** Hex SHA-256 of the key's DER SubjectPublicKeyInfo. */
export function publicKeyFingerprint(key: KeyObject): string {
  return createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** The legacy predicate as it appears in a model_signing 0.2 payload. */
const LEGACY_PREDICATE_TEXT = Buffer.from(JSON.stringify(PREDICATE_TYPE_LEGACY));

/**
 * Whether a payload whose legacy-PAE signature verified is a legacy statement: its predicate type is
 * checked only now, on signed bytes, with the statement's JSON budgets (an unsigned payload is never
 * parsed here; the statement stage validates the rest).
 */
function isLegacyStatement(payload: Uint8Array): boolean {
  try {
    const { value } = parsePlainJson(new TextDecoder("utf-8", { fatal: true }).decode(payload), STATEMENT_JSON);
    return (
      typeof value === "object" &&
      value !== null &&
      (value as { predicateType?: unknown }).predicateType === PREDICATE_TYPE_LEGACY
    );
  } catch {
    return false;
  }
}

/**
 * Verifies the bundle's DSSE signature with an EC key and its curve's hash. A model_signing 0.2
 * signature (legacy predicate) is also tried over its non-standard PAE when `allowLegacy` is set.
 * @param bundle - parsed bundle
 * @param key - public key
 * @param allowLegacy - accept model_signing 0.2's PAE
 * @returns warnings (legacy PAE)
 * @throws OmsError at stage `signature`
 */
export function verifyDsseSignature(bundle: ParsedBundle, key: KeyObject, allowLegacy: boolean): string[] {
  const hash = curveHash(key);
  const ok = (data: Buffer, algorithm: string) => {
    try {
      return verify(algorithm, data, { key, dsaEncoding: "der" }, bundle.signature);
    } catch {
      return false;
    }
  };
  if (ok(preAuthEncoding(bundle.payloadType, bundle.payload), hash)) return [];
  // The legacy encoding is tried only for a payload naming the legacy predicate (a byte search:
  // the unsigned payload is not parsed), and accepted only when the signed payload is one.
  if (allowLegacy && bundle.payload.includes(LEGACY_PREDICATE_TEXT)) {
    if (ok(legacyPreAuthEncoding(bundle.payloadType, bundle.payload), "sha256") && isLegacyStatement(bundle.payload)) {
      return ["signature made over model_signing 0.2's non-standard DSSE encoding (accepted for compatibility)"];
    }
  }
  throw new OmsError(
    "signature",
    `signature does not verify with the ${hash === "sha256" ? "P-256" : hash === "sha384" ? "P-384" : "P-521"} key`,
  );
}
