/**
 * Signing a DSSE payload into a Sigstore bundle (v0.3) with a private key (key method) or a
 * private key and its certificate chain (certificate method). Shared by OMS model signatures and
 * scan attestations.
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign as signBytes } from "node:crypto";
import { ModelgateError } from "../../core/errors.js";
import { BUNDLE_MEDIA_TYPE_V03 } from "./bundle.js";
import { parseCertificates } from "./certificate.js";
import { curveHash, preAuthEncoding, publicKeyHint } from "./crypto.js";

/** Who signs: a private key, and for the certificate method its certificate and chain. */
export interface BundleSignerOptions {
  /** EC private key (P-256, P-384 or P-521), PEM/DER PKCS#8 or SEC1, or a KeyObject. */
  privateKey: string | Uint8Array | KeyObject;
  /** Passphrase of an encrypted PEM key. */
  passphrase?: string;
  /** Certificate method: the signing (leaf) certificate for `privateKey`, PEM or DER. */
  signingCertificate?: string | Uint8Array;
  /** Certificate method: the rest of the chain (intermediates, optionally the root), PEM texts. */
  certificateChain?: readonly (string | Uint8Array)[];
}

/** A checked signer, ready to sign DSSE payloads. */
export interface BundleSigner {
  /** The method the bundles will name. */
  readonly method: "key" | "certificate";
  /** The public key of the signer. */
  readonly publicKey: KeyObject;
  /**
   * Signs a payload: DSSE pre-authentication encoding, ECDSA with the curve's hash, wrapped in a
   * Sigstore bundle v0.3 whose verification material is the key's hint or the certificate chain.
   * @param payloadType - DSSE payload type
   * @param payload - the payload bytes
   */
  sign(payloadType: string, payload: Uint8Array): Record<string, unknown>;
}

function loadPrivateKey(key: BundleSignerOptions["privateKey"], passphrase: string | undefined): KeyObject {
  if (typeof key === "object" && "type" in key && "export" in key) {
    const object = key as KeyObject;
    if (object.type !== "private") throw new ModelgateError("INVALID_ARGUMENT", "signing needs a private key");
    return object;
  }
  try {
    return createPrivateKey({
      key: typeof key === "string" ? key : Buffer.from(key),
      ...(passphrase === undefined ? {} : { passphrase }),
    });
  } catch (error) {
    throw new ModelgateError("INVALID_ARGUMENT", `not a private key: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Checks a signer's key and certificates before any work: an EC key on an allowed curve, and a
 * signing certificate that holds the key's public key.
 * @param options - private key, certificate and chain
 * @throws ModelgateError `INVALID_ARGUMENT`
 */
export function createBundleSigner(options: BundleSignerOptions): BundleSigner {
  const key = loadPrivateKey(options.privateKey, options.passphrase);
  const publicKey = createPublicKey(key);
  let hash: ReturnType<typeof curveHash>;
  try {
    hash = curveHash(publicKey);
  } catch (error) {
    throw new ModelgateError("INVALID_ARGUMENT", (error as Error).message);
  }
  let certificates: Buffer[] | undefined;
  if (options.signingCertificate !== undefined) {
    const [leaf] = parseCertificates([options.signingCertificate]);
    if (leaf === undefined) throw new ModelgateError("INVALID_ARGUMENT", "no signing certificate");
    const spki = (k: KeyObject) => k.export({ type: "spki", format: "der" });
    if (!spki(leaf.publicKey).equals(spki(publicKey))) {
      throw new ModelgateError(
        "INVALID_ARGUMENT",
        "the signing certificate does not hold the private key's public key",
      );
    }
    certificates = [leaf, ...parseCertificates(options.certificateChain ?? [])].map((c) => Buffer.from(c.raw));
  } else if (options.certificateChain !== undefined && options.certificateChain.length > 0) {
    throw new ModelgateError("INVALID_ARGUMENT", "a certificate chain needs a signing certificate");
  }
  const verificationMaterial =
    certificates === undefined
      ? { publicKey: { hint: publicKeyHint(publicKey) }, tlogEntries: [] }
      : {
          x509CertificateChain: { certificates: certificates.map((c) => ({ rawBytes: c.toString("base64") })) },
          tlogEntries: [],
        };
  return {
    method: certificates === undefined ? "key" : "certificate",
    publicKey,
    sign(payloadType, payload) {
      const signature = signBytes(hash, preAuthEncoding(payloadType, payload), { key, dsaEncoding: "der" });
      return {
        mediaType: BUNDLE_MEDIA_TYPE_V03,
        verificationMaterial: structuredClone(verificationMaterial),
        dsseEnvelope: {
          payload: Buffer.from(payload).toString("base64"),
          payloadType,
          signatures: [{ sig: signature.toString("base64"), keyid: "" }],
        },
      };
    },
  };
}
