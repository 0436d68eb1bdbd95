/**
 * Human-readable rendering of a scan report.
 *
 * Every string that comes from the scanned bytes, a server or a policy file (paths, member names,
 * messages, evidence, errors, signer identities, the policy source) goes through
 * {@link escapeForTerminal} here, at the output boundary: one report line is one output line, no
 * control or bidi character reaches the terminal, and the report data is left as it is. Styles are
 * applied to spans within one line, so each line ends with every style closed.
 * @module
 */

import { createHash } from "node:crypto";
import { SEVERITIES, type Severity, VERDICTS, type Verdict } from "../../core/severity.js";
import type { SignatureVerification, SignerInfo } from "../../integrity/oms/result.js";
import type { FileReport, Finding, ScanReport } from "../schema.js";
import { severityRank } from "../verdict.js";
import { escapeForTerminal as e, truncateLine } from "./escape.js";

/**
 * SHA-256 of the canonical JSON of an empty policy (`{}`): the hash of a scan under built-in
 * defaults (a test checks it equals `resolvePolicy({}).hash`).
 */
export const DEFAULT_POLICY_HASH = createHash("sha256").update("{}").digest("hex");

/**
 * One line naming the policy a report ran under, for text output: `Policy: <file> (sha256 …)`,
 * `Policy: built-in defaults`, or `Policy: caller-supplied (sha256 …)` for options passed in memory.
 * @param policy - the report's `policy` section
 */
export function describePolicy(
  policy: { readonly hash: string; readonly source?: string | undefined } | undefined,
): string {
  const hash = policy === undefined ? "" : ` (sha256 ${policy.hash.slice(0, 12)})`;
  if (policy?.source !== undefined) return `Policy: ${policy.source}${hash}`;
  if (policy === undefined || policy.hash === DEFAULT_POLICY_HASH) return "Policy: built-in defaults";
  return `Policy: caller-supplied${hash}`;
}

/** A style applied to a span of text (colour, bold...). Identity when colour is off. */
export type Stylize = (style: "red" | "yellow" | "green" | "magenta" | "cyan" | "dim" | "bold", text: string) => string;

/** Options of {@link renderText}. */
export interface TextOptions {
  /** Show only files whose verdict is not clean, and no info findings. */
  quiet?: boolean;
  /** Colouring function (default: none). */
  stylize?: Stylize;
}

const VERDICT_STYLE: Record<Verdict, Parameters<Stylize>[0]> = {
  clean: "green",
  suspicious: "yellow",
  invalid: "magenta",
  malicious: "red",
};

const SEVERITY_STYLE: Record<Severity, Parameters<Stylize>[0]> = {
  info: "dim",
  low: "cyan",
  medium: "yellow",
  high: "red",
  critical: "red",
};

const plain: Stylize = (_style, text) => text;

function evidenceLine(finding: Finding): string | undefined {
  if (finding.evidence === undefined) return undefined;
  const parts = Object.entries(finding.evidence).map(
    ([k, v]) => `${e(k)}=${e(typeof v === "string" ? v : JSON.stringify(v))}`,
  );
  if (parts.length === 0) return undefined;
  return truncateLine(parts.join("  "), 300);
}

function renderFile(file: FileReport, options: Required<TextOptions>): string[] {
  const s = options.stylize;
  const lines: string[] = [];
  const label = s(VERDICT_STYLE[file.verdict], file.verdict.toUpperCase().padEnd(10));
  const formats = e(file.formats.length > 1 ? file.formats.join("+") : file.format);
  lines.push(`${label} ${s("bold", e(file.path))}  ${s("dim", `(${formats}, ${file.size} bytes)`)}`);
  const findings = [...file.findings]
    .filter((f) => !options.quiet || f.severity !== "info")
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  for (const f of findings) {
    const where = [f.path === file.path ? "" : e(f.path), f.offset === undefined ? "" : `@${f.offset}`]
      .filter(Boolean)
      .join(" ");
    lines.push(
      `  ${s(SEVERITY_STYLE[f.severity], f.severity.padEnd(8))} ${e(f.ruleId)}  ${e(f.message)}${where ? s("dim", `  [${where}]`) : ""}`,
    );
    const evidence = evidenceLine(f);
    if (evidence !== undefined) lines.push(`           ${s("dim", evidence)}`);
  }
  if (!options.quiet) {
    for (const f of file.suppressed ?? []) {
      lines.push(s("dim", `  suppressed ${e(f.ruleId)}  ${e(f.message)}  (${e(f.suppression.reason)})`));
    }
  }
  return lines;
}

const SIGNATURE_STYLE: Record<SignatureVerification["status"], Parameters<Stylize>[0]> = {
  verified: "green",
  unverified: "yellow",
  unsigned: "yellow",
  failed: "red",
};

/**
 * Who signed, as far as the method says: the Sigstore identity and issuer, the certificate
 * subject, or the key's SHA-256 fingerprint (in full: it is what identifies the key).
 * @param signer - the verification's signer
 */
function signerSummary(signer: SignerInfo | undefined): string | undefined {
  if (signer === undefined) return undefined;
  if (signer.identity !== undefined) return `${e(signer.identity)} via ${e(signer.issuer ?? "?")}`;
  if (signer.certificateSubject !== undefined) {
    const fingerprint =
      signer.certificateFingerprint === undefined ? "" : `, sha256:${e(signer.certificateFingerprint)}`;
    return `${e(signer.certificateSubject)}${fingerprint}`;
  }
  return signer.keyFingerprint === undefined ? undefined : `key sha256:${e(signer.keyFingerprint)}`;
}

/**
 * What the verified signatures cover, when that is not simply the whole scan: a signed sub-folder
 * never signs the rest of the tree, so a VERIFIED line must not read as "this directory is signed".
 */
function coverageLine(sig: SignatureVerification, s: Stylize): string | undefined {
  const c = sig.coverage;
  if (c === undefined || (c.complete && c.signatures.length <= 1)) return undefined;
  const roots = c.signatures.map(
    (x) => `${e(x.model === "." ? "./" : `${x.model}/`)} ${x.status} (${x.covered} files)`,
  );
  const head = c.complete
    ? s("green", "COMPLETE")
    : s("red", `INCOMPLETE: ${c.uncoveredCount} file(s) covered by no verified signature`);
  const first = c.complete || c.uncovered[0] === undefined ? "" : `, e.g. ${e(c.uncovered[0])}`;
  return `Signature coverage: ${head}${truncateLine(`${first}; ${roots.join("; ")}`, 300)}`;
}

/** The Hub summary of a Hub target: the pinned commit, verification, cache hits and transfer. */
function hubLine(report: ScanReport): string | undefined {
  const hub = report.target.hub;
  if (hub === undefined) return undefined;
  const count = (status: string) => report.files.filter((f) => f.integrity?.status === status).length;
  const cached = report.files.filter((f) => f.cached === true).length;
  const mb = ((hub.bytesTransferred ?? 0) / 1e6).toFixed(2);
  return `Hub: ${e(`${hub.repo}@${hub.revision} = commit ${hub.commit}`)}; ${count("verified")} verified, ${count("partial")} partially read, ${count("mismatch")} mismatched, ${cached} from cache; ${hub.requests ?? 0} requests, ${mb} MB transferred`;
}

/** One line for the scan's signature result: status, method, signer, and what failed. */
function signatureLine(sig: SignatureVerification, s: Stylize): string {
  const status = s(SIGNATURE_STYLE[sig.status], sig.status.toUpperCase());
  if (sig.status === "unsigned") return `Signature: ${status} (no OpenSSF Model Signing signature found)`;
  const where = [sig.signaturePath, sig.model !== undefined && sig.model !== "." ? `for ${sig.model}/` : undefined]
    .filter((x) => x !== undefined)
    .map(e)
    .join(" ");
  const method = e(sig.method ?? "method unknown");
  const parts: string[] = [];
  const signer = signerSummary(sig.signer);
  if (sig.status === "verified") parts.push(signer ?? "signer checked", `${sig.files.length} files match`);
  else if (sig.status === "unverified") parts.push("files match; signer not checked (no trust material given)");
  else {
    parts.push(`${e(sig.failedStage ?? "unknown")} stage: ${e(sig.errors[0] ?? "rejected")}`);
    if (signer !== undefined) parts.push(signer);
  }
  // Only the plain part is truncated: cutting a styled span could drop its closing sequence.
  return `Signature: ${status}${truncateLine(` (${method}${where === "" ? "" : `, ${where}`}) ${parts.join("; ")}`, 400 - 11 - sig.status.length)}`;
}

/**
 * Renders a report as text for a terminal or a log.
 * @param report - the scan report
 * @param options - quiet mode and colouring
 */
export function renderText(report: ScanReport, options: TextOptions = {}): string {
  const opts: Required<TextOptions> = { quiet: options.quiet ?? false, stylize: options.stylize ?? plain };
  const s = opts.stylize;
  const out: string[] = [];
  const seconds = (report.durationMs / 1000).toFixed(2);
  out.push(
    s("bold", `modelgate ${report.tool.version}`) +
      `  scanned ${e(report.target.name)} (${report.summary.files} files, ${seconds} s)`,
  );
  out.push(s("dim", e(describePolicy(report.policy))));
  out.push("");
  for (const file of report.files) {
    if (opts.quiet && file.verdict === "clean") continue;
    out.push(...renderFile(file, opts));
  }
  if (report.errors.length > 0) {
    out.push("");
    out.push(s("magenta", "Errors:"));
    for (const x of report.errors) out.push(`  ${e(x.code)}  ${e(x.path ?? "")}  ${e(x.message)}`);
  }
  const verdicts = [...VERDICTS]
    .reverse()
    .map((v) => `${report.summary.byVerdict[v]} ${v}`)
    .join(", ");
  const severities = [...SEVERITIES]
    .reverse()
    .map((v) => `${report.summary.bySeverity[v]} ${v}`)
    .join(", ");
  const expired = (report.policy?.suppressions ?? []).filter((x) => x.status === "expired");
  if (expired.length > 0) {
    out.push("");
    out.push(s("yellow", "Expired suppressions (no longer applied):"));
    for (const x of expired) {
      out.push(
        `  ${e(x.rule)}  ${e(x.path)}  expired ${e(x.expires ?? "?")}, ${x.matched} finding(s) now count  (${e(x.reason)})`,
      );
    }
  }
  const suppressed = report.files.reduce((n, f) => n + (f.suppressed?.length ?? 0), 0);
  out.push("");
  out.push(`Files: ${report.summary.files} (${verdicts})`);
  out.push(
    `Findings: ${report.summary.findings} (${severities})${suppressed > 0 ? `; ${suppressed} suppressed by policy` : ""}`,
  );
  if (report.signature !== undefined) {
    out.push(signatureLine(report.signature, s));
    const coverage = coverageLine(report.signature, s);
    if (coverage !== undefined) out.push(coverage);
  }
  out.push(
    `Verdict: ${s(VERDICT_STYLE[report.verdict], report.verdict.toUpperCase())}${report.complete ? "" : " (scan incomplete)"}`,
  );
  const hub = hubLine(report);
  if (hub !== undefined) out.push(hub);
  return `${out.join("\n")}\n`;
}
