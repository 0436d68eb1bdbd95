/**
 * The OMS certificate method: a path from the leaf through the bundle's intermediates to an
 * anchor the caller supplied (never the system roots), every certificate valid at the
 * verification time, usage checks and optional pinning of the leaf.
 * @module
 */

import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import { X509Certificate as SigstoreX509 } from "@sigstore/core";
import { pushAll } from "../../core/arrays.js";
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
  /**
   * A subject alternative name that must be present, matched exactly and by type: an email SAN for
   * `alice@corp.com` (an `@`, no scheme), a URI SAN for `https://...` (any scheme), and a DNS name
   * or IP address only with an explicit prefix `dns:` / `ip:` (`email:` and `uri:` work too).
   */
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

/** Most issuer signature checks one path search makes; a bundle needing more fails (stage `signature`). */
export const MAX_PATH_SIGNATURE_CHECKS = 64;
/** Most certificates one path search visits (a bundle holds at most 16). */
const MAX_PATH_VISITS = 4096;

/**
 * Certificate path search from a leaf to a caller-supplied anchor, bounded whatever the bundle
 * holds: each certificate is fingerprinted once, each child/issuer pair checked once (name
 * match first, then at most {@link MAX_PATH_SIGNATURE_CHECKS} signature checks in all),
 * intermediates repeating a subject, issuer and key are dropped (they add no path, only
 * combinations; a cross-signed CA, same subject and key under another issuer, is kept), a
 * certificate from which no path exists within the remaining length is not explored again, and
 * the search visits at most {@link MAX_PATH_VISITS} certificates.
 */
class PathSearch {
  readonly #fingerprints = new Map<X509Certificate, string>();
  readonly #issued = new Map<string, boolean>();
  /** Per certificate: the most path room (certificates still allowed) with which it was found to lead nowhere. */
  readonly #dead = new Map<string, number>();
  readonly #anchors: readonly X509Certificate[];
  readonly #anchorFingerprints: ReadonlySet<string>;
  readonly #intermediates: readonly X509Certificate[];
  readonly #signal: AbortSignal | undefined;
  #checks = 0;
  #visits = 0;

  constructor(intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[], signal?: AbortSignal) {
    this.#anchors = anchors;
    this.#anchorFingerprints = new Set(anchors.map((a) => this.fingerprint(a)));
    this.#signal = signal;
    const seen = new Set<string>();
    const kept: X509Certificate[] = [];
    for (const cert of intermediates) {
      let key: string;
      try {
        key = `${cert.subject}\u0000${cert.issuer}\u0000${cert.publicKey.export({ type: "spki", format: "der" }).toString("hex")}`;
      } catch {
        continue; // a key Node cannot export verifies nothing either
      }
      if (seen.has(key)) continue;
      seen.add(key);
      kept.push(cert);
    }
    this.#intermediates = kept;
  }

  fingerprint(cert: X509Certificate): string {
    let fp = this.#fingerprints.get(cert);
    if (fp === undefined) {
      fp = fingerprintHex(cert);
      this.#fingerprints.set(cert, fp);
    }
    return fp;
  }

  /** Whether `parent` issued `child`: names first, then the signature (memoised, budgeted). */
  issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
    const pair = `${this.fingerprint(child)}>${this.fingerprint(parent)}`;
    const known = this.#issued.get(pair);
    if (known !== undefined) return known;
    let issued = false;
    let named = false;
    try {
      named = child.checkIssued(parent);
    } catch {
      named = false;
    }
    if (named) {
      this.#signal?.throwIfAborted();
      if (++this.#checks > MAX_PATH_SIGNATURE_CHECKS) {
        throw new OmsError(
          "signature",
          `certificate path building needs more than ${MAX_PATH_SIGNATURE_CHECKS} signature checks: the bundle's chain is not a plain path`,
        );
      }
      try {
        issued = child.verify(parent.publicKey);
      } catch {
        issued = false;
      }
    }
    this.#issued.set(pair, issued);
    return issued;
  }

  /**
   * A path from `cert` to an anchor, or undefined.
   * @param cert - the certificate to extend from
   * @param onPath - fingerprints of the certificates before it
   */
  find(cert: X509Certificate, onPath: readonly string[]): X509Certificate[] | undefined {
    return this.#search(cert, onPath).path;
  }

  #search(cert: X509Certificate, onPath: readonly string[]): { path?: X509Certificate[]; tainted: boolean } {
    if (++this.#visits > MAX_PATH_VISITS) {
      throw new OmsError("signature", `certificate path building visits more than ${MAX_PATH_VISITS} certificates`);
    }
    const fp = this.fingerprint(cert);
    if (this.#anchorFingerprints.has(fp)) return { path: [cert], tainted: false };
    const length = onPath.length + 1;
    if (length >= MAX_PATH) return { tainted: false };
    const room = MAX_PATH - length;
    if ((this.#dead.get(fp) ?? -1) >= room) return { tainted: false };
    for (const anchor of this.#anchors)
      if (this.issuedBy(cert, anchor)) return { path: [cert, anchor], tainted: false };
    const here = [...onPath, fp];
    // A failure that skipped a certificate already on the path may not hold on another path.
    let tainted = false;
    for (const next of this.#intermediates) {
      const nextFp = this.fingerprint(next);
      if (nextFp === fp || !this.issuedBy(cert, next)) continue;
      if (here.includes(nextFp)) {
        tainted = true;
        continue;
      }
      const found = this.#search(next, here);
      if (found.path !== undefined) return { path: [cert, ...found.path], tainted: false };
      tainted ||= found.tainted;
    }
    if (!tainted) this.#dead.set(fp, Math.max(room, this.#dead.get(fp) ?? -1));
    return { tainted };
  }
}

/** One subject alternative name of a certificate, with its type as Node names it (`email`, `URI`, `DNS`, `IP Address` ...). */
export interface SubjectAltName {
  readonly type: string;
  readonly value: string;
}

/**
 * The leaf's subject alternative names with their types, from Node's rendering (`DNS:a, email:b,
 * URI:c`; values holding a comma are quoted as JSON strings). A rendering not read to its end
 * yields no name at all, so a pin never matches a misread value.
 */
export function subjectAltNames(cert: X509Certificate): SubjectAltName[] {
  const san = cert.subjectAltName;
  if (san === undefined) return [];
  const out: SubjectAltName[] = [];
  const item = /([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,"]*)(, |$)/y;
  let at = 0;
  for (let guard = 0; at < san.length && guard < 4096; guard++) {
    item.lastIndex = at;
    const match = item.exec(san);
    if (match === null) return [];
    const raw = match[2] ?? "";
    let value: string;
    try {
      value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    } catch {
      return [];
    }
    out.push({ type: match[1] as string, value });
    at = item.lastIndex;
    if (match[3] === "") break;
  }
  return at === san.length ? out : [];
}

/** SAN types a pin can name explicitly (`email:`, `uri:`, `dns:`, `ip:`; any case), as Node names them. */
const PIN_TYPES: Readonly<Record<string, string>> = { email: "email", uri: "URI", dns: "DNS", ip: "IP Address" };

/**
 * Which SAN type and value a `subjectAlternativeName` pin asks for. An explicit type prefix
 * (`email:`, `uri:`, `dns:`, `ip:`) names it; otherwise a pin with a URI scheme (`https://...`,
 * `spiffe://...`) is a URI, a pin with `@` and no scheme an email address, and anything else is
 * refused (a DNS name or IP address is matched only when the pin says so: `dns:host.example`).
 * @param pin - the pin
 * @returns the type (Node's name) and value, or a reason the pin is ambiguous
 */
export function sanPinTarget(pin: string): { type: string; value: string } | { error: string } {
  const prefix = /^([A-Za-z]+):(?!\/\/)/.exec(pin);
  const named = prefix === null ? undefined : PIN_TYPES[(prefix[1] as string).toLowerCase()];
  if (prefix !== null && named !== undefined) return { type: named, value: pin.slice(prefix[0].length) };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(pin)) return { type: "URI", value: pin };
  if (pin.includes("@")) return { type: "email", value: pin };
  return {
    error: `leaf certificate has no subject alternative name ${JSON.stringify(pin)}: a pin that is neither an email address nor a URI matches none (write dns:NAME or ip:ADDRESS to pin a DNS name or an IP address)`,
  };
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
  /** Stops the path search between signature checks. */
  signal?: AbortSignal;
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
  const search = new PathSearch(intermediates, options.anchors, options.signal);
  const path = search.find(leaf, []);
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
  if (policy.subjectAlternativeName !== undefined) {
    const want = sanPinTarget(policy.subjectAlternativeName);
    if ("error" in want) throw new OmsError("policy", want.error);
    if (!sans.some((san) => san.type === want.type && san.value === want.value)) {
      throw new OmsError(
        "policy",
        `leaf certificate has no subject alternative name ${JSON.stringify(want.value)} of type ${want.type}`,
      );
    }
  }
  if (policy.fingerprint !== undefined && policy.fingerprint.replace(/:/g, "").toLowerCase() !== fingerprint) {
    throw new OmsError("policy", `leaf certificate fingerprint is ${fingerprint}, expected ${policy.fingerprint}`);
  }
  const key: KeyObject = leaf.publicKey;
  pushAll(warnings, verifyDsseSignature(bundle, key, options.allowLegacy ?? true));
  const anchor = path[path.length - 1] as X509Certificate;
  return {
    signer: {
      certificateSubject: subject,
      certificateIssuer: leaf.issuer.replace(/\n/g, ", "),
      certificateFingerprint: fingerprint,
      ...(sans.length > 0 ? { subjectAlternativeNames: sans.map((san) => san.value) } : {}),
      anchor: anchor.subject.replace(/\n/g, ", "),
    },
    warnings,
  };
}
