/**
 * The OMS certificate method: a path from the leaf through the bundle's intermediates to an
 * anchor the caller supplied (never the system roots), every certificate valid at the
 * verification time, usage checks and optional pinning of the leaf.
 * @module
 */
import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import { X509Certificate as SigstoreX509 } from "@sigstore/core";
import { ModelgateError } from "../../core/errors.js";
import { OmsError, type ParsedBundle } from "./bundle.js";
import { verifyDsseSignature } from "./crypto.js";
import type { SignerInfo } from "./result.js";

/** The codeSigning extended key usage. */
export const EKU_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
/** Longest certificate path built (leaf + intermediates + anchor). */
const MAX_PATH = 8;

/** Optional pinning of the leaf certificate. */
export interface CertificatePolicy {
  /** Exact subject, as `CN=a, O=b` in certificate order (Node's one-per-line form is accepted too). */
  subject?: string;
  /** A subject alternative name value that must be present (email, URI, DNS name, IP), matched exactly. */
  subjectAlternativeName?: string;
  /** SHA-256 of the leaf's DER (hex, colons and case ignored). */
  fingerprint?: string;
}

/**
 * Parses every PEM certificate in the inputs (a PEM file may hold several), or DER bytes.
 * @param inputs - PEM texts or DER buffers
 * @throws ModelgateError `INVALID_ARGUMENT` when an input holds no certificate
 */
export function parseCertificates(inputs: readonly (string | Uint8Array)[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const input of inputs) {
    const text = typeof input === "string" ? input : Buffer.from(input).toString("latin1");
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
    try {
      if (blocks === null) {
        if (typeof input === "string") throw new Error("no PEM certificate found");
        out.push(new X509Certificate(Buffer.from(input)));
      } else {
        for (const block of blocks) out.push(new X509Certificate(block));
      }
    } catch (error) {
      throw new ModelgateError("INVALID_ARGUMENT", `not a certificate: ${(error as Error).message}`, { cause: error });
    }
  }
  return out;
}

function fingerprintHex(cert: X509Certificate): string {
  return createHash("sha256").update(cert.raw).digest("hex");
}

function subjectAltNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san === undefined) return [];
  // Node renders `DNS:a, email:b, URI:c`; values holding ", " are quoted.
  const out: string[] = [];
  for (const match of san.matchAll(/(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = match[2] ?? "";
    out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return out;
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function buildPath(
  cert: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  path: X509Certificate[],
): X509Certificate[] | undefined {
  const here = [...path, cert];
  const fp = fingerprintHex(cert);
  if (anchors.some((a) => fingerprintHex(a) === fp)) return here;
  if (here.length >= MAX_PATH) return undefined;
  for (const anchor of anchors) if (issuedBy(cert, anchor)) return [...here, anchor];
  for (const next of intermediates) {
    if (here.some((c) => fingerprintHex(c) === fingerprintHex(next))) continue;
    if (!issuedBy(cert, next)) continue;
    const found = buildPath(next, intermediates, anchors, here);
    if (found !== undefined) return found;
  }
  return undefined;
}

function parseForExtensions(cert: X509Certificate): SigstoreX509 | undefined {
  try {
    return SigstoreX509.parse(Buffer.from(cert.raw));
  } catch {
    return undefined;
  }
}

/**
 * The leaf's usages: each extension that is present must allow signing code, and one at least is
 * needed. A stated extended key usage must include codeSigning (a TLS server certificate with
 * digitalSignature does not sign models); a stated key usage must include digitalSignature.
 * @param leaf - the signing certificate
 * @throws OmsError at stage `signature`
 */
function leafUsageCheck(leaf: X509Certificate): void {
  const usage = parseForExtensions(leaf)?.extKeyUsage;
  const extended = leaf.keyUsage;
  const codeSigning = extended?.includes(EKU_CODE_SIGNING) === true;
  if (usage?.digitalSignature !== true && !codeSigning) {
    throw new OmsError("signature", "leaf certificate allows neither digitalSignature key usage nor codeSigning");
  }
  if (usage !== undefined && !usage.digitalSignature) {
    throw new OmsError("signature", "leaf certificate key usage does not allow digitalSignature");
  }
  if (extended !== undefined && extended.length > 0 && !extended.includes(EKU_CODE_SIGNING)) {
    throw new OmsError(
      "signature",
      `leaf certificate extended key usage (${extended.slice(0, 8).join(", ")}) does not include codeSigning`,
    );
  }
}

/** Options of {@link verifyCertificateBundle}. */
export interface CertificateVerifyOptions {
  /** Trust anchors (root or intermediate CA certificates) supplied by the caller. */
  anchors: readonly X509Certificate[];
  /** Time at which every certificate must be valid (default: now). */
  time?: Date;
  /** Leaf pinning. */
  policy?: CertificatePolicy;
  /** Accept model_signing 0.2 signatures. */
  allowLegacy?: boolean;
}

/**
 * Verifies a certificate-method bundle: chain, validity, usages, leaf pinning, signature.
 * @param bundle - parsed bundle (method `certificate`)
 * @param options - anchors, time, pinning
 * @returns the signer and warnings
 * @throws OmsError at stage `signature` (chain, validity, usage, signature) or `policy` (pinning)
 */
export function verifyCertificateBundle(
  bundle: ParsedBundle,
  options: CertificateVerifyOptions,
): { signer: SignerInfo; warnings: string[] } {
  if (options.anchors.length === 0)
    throw new OmsError("policy", "no trust anchor supplied for a certificate-signed model");
  let certs: X509Certificate[];
  try {
    certs = bundle.certificates.map((der) => new X509Certificate(der));
  } catch (error) {
    throw new OmsError("parse", `bundle certificate is not valid DER X.509: ${(error as Error).message}`, error);
  }
  const [leaf, ...intermediates] = certs;
  if (leaf === undefined) throw new OmsError("parse", "bundle holds no certificate");
  const path = buildPath(leaf, intermediates, options.anchors, []);
  if (path === undefined) {
    throw new OmsError(
      "signature",
      `no certificate path from ${leaf.subject.replace(/\n/g, ", ")} to a supplied trust anchor`,
    );
  }
  const time = options.time ?? new Date();
  for (const cert of path) {
    if (time < cert.validFromDate || time > cert.validToDate) {
      throw new OmsError(
        "signature",
        `certificate ${cert.subject.replace(/\n/g, ", ")} is not valid at ${time.toISOString()} (valid ${cert.validFrom} to ${cert.validTo})`,
      );
    }
  }
  // Issuers must be CAs and respect path length constraints (anchors included).
  for (let i = 1; i < path.length; i++) {
    const issuer = path[i] as X509Certificate;
    if (fingerprintHex(issuer) === fingerprintHex(path[i - 1] as X509Certificate)) continue;
    if (!issuer.ca) throw new OmsError("signature", `issuer ${issuer.subject.replace(/\n/g, ", ")} is not a CA`);
    // An issuer whose key usage is stated must allow certificate signing (RFC 5280 4.2.1.3).
    const issuerUsage = parseForExtensions(issuer)?.extKeyUsage;
    if (issuerUsage !== undefined && !issuerUsage.keyCertSign) {
      throw new OmsError(
        "signature",
        `issuer ${issuer.subject.replace(/\n/g, ", ")} does not allow certificate signing (keyCertSign)`,
      );
    }
    const pathLen = parseForExtensions(issuer)?.extBasicConstraints?.pathLenConstraint;
    if (pathLen !== undefined && BigInt(i - 1) > pathLen) {
      throw new OmsError("signature", `path length constraint of ${issuer.subject.replace(/\n/g, ", ")} is exceeded`);
    }
  }
  leafUsageCheck(leaf);
  const warnings: string[] = [];
  if (leaf.ca) warnings.push("leaf certificate is a CA certificate (basicConstraints CA:TRUE)");
  const sans = subjectAltNames(leaf);
  const fingerprint = fingerprintHex(leaf);
  const subject = leaf.subject.replace(/\n/g, ", ");
  const policy = options.policy ?? {};
  if (policy.subject !== undefined && policy.subject !== subject && policy.subject !== leaf.subject) {
    throw new OmsError(
      "policy",
      `leaf subject is ${JSON.stringify(subject)}, expected ${JSON.stringify(policy.subject)}`,
    );
  }
  if (policy.subjectAlternativeName !== undefined && !sans.includes(policy.subjectAlternativeName)) {
    throw new OmsError(
      "policy",
      `leaf certificate has no subject alternative name ${JSON.stringify(policy.subjectAlternativeName)}`,
    );
  }
  if (policy.fingerprint !== undefined && policy.fingerprint.replace(/:/g, "").toLowerCase() !== fingerprint) {
    throw new OmsError("policy", `leaf certificate fingerprint is ${fingerprint}, expected ${policy.fingerprint}`);
  }
  const key: KeyObject = leaf.publicKey;
  warnings.push(...verifyDsseSignature(bundle, key, options.allowLegacy ?? true));
  const anchor = path[path.length - 1] as X509Certificate;
  return {
    signer: {
      certificateSubject: subject,
      certificateIssuer: leaf.issuer.replace(/\n/g, ", "),
      certificateFingerprint: fingerprint,
      ...(sans.length > 0 ? { subjectAlternativeNames: sans } : {}),
      anchor: anchor.subject.replace(/\n/g, ", "),
    },
    warnings,
  };
}
