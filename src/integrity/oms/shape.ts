/**
 * The strict shape of an OMS signature file: a Sigstore bundle (v0.3 JSON) holding exactly the
 * fields the bundle schema has (`additionalProperties: false` at the top level, in the
 * verification material, the DSSE envelope and its signatures). A file is a signature only when it
 * has this shape and nothing else: a JSON document with any other key (a config's `auto_map`, a
 * tokenizer's `chat_template`, a Keras `class_name`) is what some loader reads, so it is never
 * exempted from content analysis or accepted as a signature. Dependency-free: the text detector
 * uses it on every JSON head.
 * @module
 */

/** Media type prefix of Sigstore bundles. */
export const BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle";
/** DSSE payload type of in-toto statements. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** Top-level keys of a Sigstore bundle holding a DSSE envelope. */
const BUNDLE_KEYS: ReadonlySet<string> = new Set(["mediaType", "verificationMaterial", "dsseEnvelope"]);
/** Keys of `verificationMaterial` (protobuf-specs `VerificationMaterial`). */
const MATERIAL_KEYS: ReadonlySet<string> = new Set([
  "publicKey",
  "x509CertificateChain",
  "certificate",
  "tlogEntries",
  "timestampVerificationData",
]);
/** Keys of a DSSE envelope. */
const ENVELOPE_KEYS: ReadonlySet<string> = new Set(["payload", "payloadType", "signatures"]);
/** Keys of a DSSE signature. */
const SIGNATURE_KEYS: ReadonlySet<string> = new Set(["sig", "keyid"]);
/** Signatures looked at in an envelope (OMS bundles hold one). */
const MAX_SIGNATURES_CHECKED = 16;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKey(value: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  for (const key of Object.keys(value)) if (!allowed.has(key)) return key;
  return undefined;
}

/**
 * Why a parsed JSON value is not a strict Sigstore DSSE bundle (undefined when it is one). Only
 * the shape is checked (keys, types of the containers, the media type); field contents are
 * `parseBundle`'s. A missing `dsseEnvelope` or `verificationMaterial` is left to the caller,
 * which words those errors itself.
 * @param json - the parsed document
 */
export function bundleShapeError(json: unknown): string | undefined {
  if (!isObject(json)) return "not a JSON object";
  const mediaType = json.mediaType;
  if (typeof mediaType !== "string" || !mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) {
    return "mediaType missing or not application/vnd.dev.sigstore.bundle*";
  }
  const extra = unknownKey(json, BUNDLE_KEYS);
  if (extra !== undefined) return `unknown top-level key ${JSON.stringify(extra.slice(0, 64))}`;
  const material = json.verificationMaterial;
  if (isObject(material)) {
    const key = unknownKey(material, MATERIAL_KEYS);
    if (key !== undefined) return `unknown verificationMaterial key ${JSON.stringify(key.slice(0, 64))}`;
  } else if (material !== undefined) return "verificationMaterial is not an object";
  const envelope = json.dsseEnvelope;
  if (isObject(envelope)) {
    const key = unknownKey(envelope, ENVELOPE_KEYS);
    if (key !== undefined) return `unknown dsseEnvelope key ${JSON.stringify(key.slice(0, 64))}`;
    const signatures = envelope.signatures;
    if (Array.isArray(signatures)) {
      for (const s of signatures.slice(0, MAX_SIGNATURES_CHECKED)) {
        if (!isObject(s)) continue; // parseBundle words this one
        const k = unknownKey(s, SIGNATURE_KEYS);
        if (k !== undefined) return `unknown DSSE signature key ${JSON.stringify(k.slice(0, 64))}`;
      }
    }
  } else if (envelope !== undefined) return "dsseEnvelope is not an object";
  return undefined;
}

/**
 * Whether a parsed JSON value is, by shape alone, a complete OMS signature file: a strict Sigstore
 * bundle with a verification material and a DSSE envelope carrying an in-toto payload (a base64
 * string) and a signature list, and no other field anywhere in the schema's objects.
 * @param json - the parsed document
 */
export function isStrictSignatureBundle(json: unknown): boolean {
  if (bundleShapeError(json) !== undefined || !isObject(json)) return false;
  const envelope = json.dsseEnvelope;
  return (
    isObject(json.verificationMaterial) &&
    isObject(envelope) &&
    envelope.payloadType === IN_TOTO_PAYLOAD_TYPE &&
    typeof envelope.payload === "string" &&
    Array.isArray(envelope.signatures)
  );
}
