/**
 * Credentials in text: access tokens and private keys by the shapes their issuers give them. A
 * registry mirror must not republish a token, and a token in a model repository is a leak either
 * way. Only well-delimited shapes are matched (a prefix the issuer chose plus a length and
 * alphabet), so ordinary text does not trip it; what is reported is the kind and a masked preview,
 * never the secret.
 * @module
 */

/** A credential found in text. */
export interface CredentialHit {
  /** What it is (`aws-access-key-id`, `huggingface-token`, `private-key` ...). */
  readonly kind: string;
  /** The first characters (the issuer's public prefix) and the length: never the secret itself. */
  readonly preview: string;
  /** 1-based line of the match. */
  readonly line: number;
  /** Character offset of the match in the text. */
  readonly index: number;
}

interface Shape {
  readonly kind: string;
  readonly pattern: RegExp;
  /** Characters of the match shown (the issuer's prefix, public by design). */
  readonly shown: number;
}

/** Token shapes. Each pattern is linear (no nested quantifiers) and anchored on a literal prefix. */
const SHAPES: readonly Shape[] = [
  { kind: "aws-access-key-id", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, shown: 4 },
  {
    kind: "aws-secret-access-key",
    pattern: /aws_secret_access_key["']?\s*[=:]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi,
    shown: 21,
  },
  { kind: "huggingface-token", pattern: /\bhf_[A-Za-z0-9]{34,40}\b/g, shown: 3 },
  { kind: "huggingface-org-token", pattern: /\bapi_org_[A-Za-z0-9]{34}\b/g, shown: 8 },
  { kind: "github-token", pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g, shown: 4 },
  { kind: "github-token", pattern: /\bgithub_pat_[A-Za-z0-9_]{82}\b/g, shown: 11 },
  { kind: "openai-key", pattern: /\bsk-(?:proj-|svcacct-|admin-)[A-Za-z0-9_-]{40,}/g, shown: 8 },
  { kind: "openai-key", pattern: /\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b/g, shown: 3 },
  { kind: "anthropic-key", pattern: /\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}/g, shown: 7 },
  { kind: "google-api-key", pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, shown: 4 },
  { kind: "slack-token", pattern: /\bxox[abposr]-[0-9A-Za-z-]{10,72}/g, shown: 5 },
  { kind: "stripe-key", pattern: /\b[sr]k_live_[0-9A-Za-z]{24,99}\b/g, shown: 8 },
  {
    kind: "private-key",
    pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g,
    shown: 64,
  },
];

/** Most hits returned per text (the rest are counted by the caller through `FindingList`). */
export const MAX_CREDENTIAL_HITS = 100;

function lineAt(text: string, index: number, cache: { at: number; line: number }): number {
  let { at, line } = cache;
  if (index < at) {
    at = 0;
    line = 1;
  }
  for (let i = text.indexOf("\n", at); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) line++;
  cache.at = index;
  cache.line = line;
  return line;
}

/**
 * Finds credentials in a text.
 * @param text - the text (a file's content, a metadata value)
 * @returns the hits in order of position, at most {@link MAX_CREDENTIAL_HITS}
 */
export function findCredentials(text: string): CredentialHit[] {
  const hits: CredentialHit[] = [];
  for (const shape of SHAPES) {
    shape.pattern.lastIndex = 0;
    for (let m = shape.pattern.exec(text); m !== null; m = shape.pattern.exec(text)) {
      const match = m[0];
      const preview =
        shape.kind === "private-key" ? match : `${match.slice(0, shape.shown)}… (${match.length} characters)`;
      hits.push({ kind: shape.kind, preview, line: 0, index: m.index });
      if (hits.length >= MAX_CREDENTIAL_HITS * 4) break;
    }
  }
  hits.sort((a, b) => a.index - b.index);
  const cache = { at: 0, line: 1 };
  return hits.slice(0, MAX_CREDENTIAL_HITS).map((h) => ({ ...h, line: lineAt(text, h.index, cache) }));
}
