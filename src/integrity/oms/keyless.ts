/**
 * The OMS sigstore (keyless) method, verified offline with `@sigstore/verify` against a caller's
 * TrustedRoot, with the signer's identity and issuer matched exactly.
 * @module
 */
import { bundleFromJSON } from "@sigstore/bundle";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { PolicyError, toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { OmsError, type ParsedBundle } from "./bundle.js";
import type { SignerInfo } from "./result.js";

/** The signer a keyless signature must come from. */
export interface KeylessIdentity {
  /** Certificate identity (SAN: email or URI), matched exactly. */
  identity: string;
  /** OIDC issuer, matched exactly. */
  issuer: string;
}

/**
 * Escapes a string for use as a literal inside a regular expression.
 * @param text - the literal
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * Verifies a sigstore-method bundle: Fulcio chain at a verified time, SCT, transparency-log
 * inclusion, signature, then the exact identity and issuer.
 * @param bundle - parsed bundle (method `sigstore`)
 * @param trustedRoot - the trust root
 * @param expected - identity and issuer
 * @returns the signer
 * @throws OmsError at stage `parse`, `signature` or `policy`
 */
export function verifyKeylessBundle(
  bundle: ParsedBundle,
  trustedRoot: TrustedRoot,
  expected: KeylessIdentity,
): { signer: SignerInfo; warnings: string[] } {
  if (bundle.tlogEntries < 1) throw new OmsError("parse", "a keyless bundle needs at least one transparency-log entry");
  let entity: ReturnType<typeof toSignedEntity>;
  try {
    entity = toSignedEntity(bundleFromJSON(bundle.json));
  } catch (error) {
    throw new OmsError("parse", `invalid Sigstore bundle: ${(error as Error).message}`, error);
  }
  let verifier: Verifier;
  try {
    verifier = new Verifier(toTrustMaterial(trustedRoot));
  } catch (error) {
    throw new OmsError("signature", `unusable trusted root: ${(error as Error).message}`, error);
  }
  let signer: ReturnType<Verifier["verify"]>;
  try {
    signer = verifier.verify(entity, {
      subjectAlternativeName: new RegExp(`^${escapeRegExp(expected.identity)}$`),
      extensions: { issuer: expected.issuer },
    });
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof PolicyError) {
      throw new OmsError(
        "policy",
        `signer does not match identity ${expected.identity} / issuer ${expected.issuer}: ${message}`,
        error,
      );
    }
    throw new OmsError("signature", `Sigstore verification failed: ${message}`, error);
  }
  const entries = (bundle.json.verificationMaterial as { tlogEntries?: { integratedTime?: unknown }[] }).tlogEntries;
  const integrated = Number(entries?.[0]?.integratedTime);
  const identity = signer.identity;
  return {
    signer: {
      ...(identity?.subjectAlternativeName === undefined ? {} : { identity: identity.subjectAlternativeName }),
      ...(identity?.extensions?.issuer === undefined ? {} : { issuer: identity.extensions.issuer }),
      ...(Number.isFinite(integrated) && integrated > 0 ? { signedAt: new Date(integrated * 1000).toISOString() } : {}),
    },
    warnings: [],
  };
}
