/**
 * Human-readable rendering of a scan report.
 * @module
 */
import type { SignatureVerification, SignerInfo } from "../../integrity/oms/result.js";
import { describePolicy } from "../../policy/policy.js";
import type { FileReport, Finding, ScanReport, Severity, Verdict } from "../schema.js";
import { SEVERITIES, VERDICTS } from "../schema.js";
import { severityRank } from "../verdict.js";

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
    ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
  );
  if (parts.length === 0) return undefined;
  const line = parts.join("  ");
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function renderFile(file: FileReport, options: Required<TextOptions>): string[] {
  const s = options.stylize;
  const lines: string[] = [];
  const label = s(VERDICT_STYLE[file.verdict], file.verdict.toUpperCase().padEnd(10));
  const formats = file.formats.length > 1 ? file.formats.join("+") : file.format;
  lines.push(`${label} ${s("bold", file.path)}  ${s("dim", `(${formats}, ${file.size} bytes)`)}`);
  const findings = [...file.findings]
    .filter((f) => !options.quiet || f.severity !== "info")
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  for (const f of findings) {
    const where = [f.path === file.path ? "" : f.path, f.offset === undefined ? "" : `@${f.offset}`]
      .filter(Boolean)
      .join(" ");
    lines.push(
      `  ${s(SEVERITY_STYLE[f.severity], f.severity.padEnd(8))} ${f.ruleId}  ${f.message}${where ? s("dim", `  [${where}]`) : ""}`,
    );
    const evidence = evidenceLine(f);
    if (evidence !== undefined) lines.push(`           ${s("dim", evidence)}`);
  }
  if (!options.quiet) {
    for (const f of file.suppressed ?? []) {
      lines.push(s("dim", `  suppressed ${f.ruleId}  ${f.message}  (${f.suppression.reason})`));
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
  if (signer.identity !== undefined) return `${signer.identity} via ${signer.issuer ?? "?"}`;
  if (signer.certificateSubject !== undefined) {
    const fingerprint = signer.certificateFingerprint === undefined ? "" : `, sha256:${signer.certificateFingerprint}`;
    return `${signer.certificateSubject}${fingerprint}`;
  }
  return signer.keyFingerprint === undefined ? undefined : `key sha256:${signer.keyFingerprint}`;
}

/** One line for the scan's signature result: status, method, signer, and what failed. */
function signatureLine(sig: SignatureVerification, s: Stylize): string {
  const status = s(SIGNATURE_STYLE[sig.status], sig.status.toUpperCase());
  if (sig.status === "unsigned") return `Signature: ${status} (no OpenSSF Model Signing signature found)`;
  const where = [sig.signaturePath, sig.model !== undefined && sig.model !== "." ? `for ${sig.model}/` : undefined]
    .filter((x) => x !== undefined)
    .join(" ");
  const method = sig.method ?? "method unknown";
  const parts: string[] = [];
  const signer = signerSummary(sig.signer);
  if (sig.status === "verified") parts.push(signer ?? "signer checked", `${sig.files.length} files match`);
  else if (sig.status === "unverified") parts.push("files match; signer not checked (no trust material given)");
  else {
    parts.push(`${sig.failedStage ?? "unknown"} stage: ${sig.errors[0] ?? "rejected"}`);
    if (signer !== undefined) parts.push(signer);
  }
  const line = `Signature: ${status} (${method}${where === "" ? "" : `, ${where}`}) ${parts.join("; ")}`;
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
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
      `  scanned ${report.target.name} (${report.summary.files} files, ${seconds} s)`,
  );
  out.push(s("dim", describePolicy(report.policy)));
  out.push("");
  for (const file of report.files) {
    if (opts.quiet && file.verdict === "clean") continue;
    out.push(...renderFile(file, opts));
  }
  if (report.errors.length > 0) {
    out.push("");
    out.push(s("magenta", "Errors:"));
    for (const e of report.errors) out.push(`  ${e.code}  ${e.path ?? ""}  ${e.message}`);
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
      out.push(`  ${x.rule}  ${x.path}  expired ${x.expires ?? "?"}, ${x.matched} finding(s) now count  (${x.reason})`);
    }
  }
  const suppressed = report.files.reduce((n, f) => n + (f.suppressed?.length ?? 0), 0);
  out.push("");
  out.push(`Files: ${report.summary.files} (${verdicts})`);
  out.push(
    `Findings: ${report.summary.findings} (${severities})${suppressed > 0 ? `; ${suppressed} suppressed by policy` : ""}`,
  );
  if (report.signature !== undefined) out.push(signatureLine(report.signature, s));
  out.push(
    `Verdict: ${s(VERDICT_STYLE[report.verdict], report.verdict.toUpperCase())}${report.complete ? "" : " (scan incomplete)"}`,
  );
  return `${out.join("\n")}\n`;
}
