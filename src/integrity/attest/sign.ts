/**
 * Signing a scan attestation: the statement of a report, in a DSSE envelope inside a Sigstore
 * bundle v0.3, with the key or certificate signer OMS signatures use.
 * @module
 */
import { IN_TOTO_PAYLOAD_TYPE } from "../oms/bundle.js";
import { type BundleSigner, type BundleSignerOptions, createBundleSigner } from "../oms/dsse.js";
import {
  type AttestableReport,
  buildScanStatement,
  type ScanStatement,
  type ScanStatementOptions,
} from "./statement.js";

/** Options of {@link attest}. */
export type AttestOptions = ScanStatementOptions;

/** What {@link attest} produced. */
export interface AttestResult {
  /** The Sigstore bundle (write it as JSON). */
  readonly bundle: Record<string, unknown>;
  /** The statement it signs. */
  readonly statement: ScanStatement;
  /** The signing method. */
  readonly method: "key" | "certificate";
}

/**
 * Signs what a scan decided: an in-toto statement (subjects: the scanned files and their SHA-256;
 * predicate: a SLSA verification summary with modelgate's verdict, policy digest and report digest).
 * @param report - the scan report (every file must have a SHA-256)
 * @param signer - a private key (and certificate chain), or a signer made by `createBundleSigner`
 * @param options - pass threshold (default `clean`), verifier id, URIs
 * @throws AttestationError when the report cannot be attested; ModelgateError `INVALID_ARGUMENT` for a bad key
 */
export function attest(
  report: AttestableReport,
  signer: BundleSignerOptions | BundleSigner,
  options: AttestOptions = {},
): AttestResult {
  const ready = "privateKey" in signer ? createBundleSigner(signer) : signer;
  const statement = buildScanStatement(report, options);
  const bundle = ready.sign(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), "utf8"));
  return { bundle, statement, method: ready.method };
}
