/**
 * Human-readable rendering of a scan report.
 *
 * The report opens with a summary (verdict, counts, one `Signature:` line per signed model root,
 * the files that are not clean with their worst finding, the most frequent rules), then details.
 * Three levels: `quiet` (the summary only), the default (plus the findings of the worst files that
 * are not clean, info findings left out, capped per file and in total), and `verbose` (every file,
 * every finding with its evidence, suppressed findings).
 *
 * Every string that comes from the scanned bytes, a server or a policy file (paths, member names,
 * messages, evidence, errors, signer identities, the policy source) goes through
 * {@link escapeForTerminal} here, at the output boundary: one report line is one output line (or,
 * with a `width`, several wrapped ones), no control or bidi character reaches the terminal, and the
 * report data is left as it is. Styles are applied only to the renderer's own words (verdicts,
 * severities, statuses, headings), span by span, so each line ends with every style closed.
 * @module
 */

import { createHash } from "node:crypto";
import { maxOf, pushAll } from "../../core/arrays.js";
import { SEVERITIES, type Severity, VERDICTS, type Verdict } from "../../core/severity.js";
import type { CoveringSignature, SignatureVerification, SignerInfo } from "../../integrity/oms/result.js";
import type { FileReport, Finding, ScanReport } from "../schema.js";
import { severityRank, verdictRank } from "../verdict.js";
import { escapeForTerminal as e, truncateLine } from "./escape.js";
import {
  ansiStyle,
  fitLine,
  formatSize,
  type Line,
  plainStyle,
  type Span,
  type StyleName,
  type Stylize,
  st,
  t,
  wrapLine,
} from "./layout.js";

export type { Stylize } from "./layout.js";

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

/** Options of {@link renderText}. */
export interface TextOptions {
  /** The summary only: counts, signatures, the files that are not clean with their worst finding, top rules. */
  quiet?: boolean;
  /** Every file, every finding (info included) with its evidence, and suppressed findings. Ignored with `quiet`. */
  verbose?: boolean;
  /**
   * Wrap lines to this many columns (a terminal's width); summary lines are cut to it instead, so
   * each stays one line. Default: no wrapping (one report line per output line).
   */
  width?: number | undefined;
  /** ANSI colours on verdicts, severities and statuses (default false). Ignored when `stylize` is given. */
  color?: boolean;
  /** Colouring function (default: none, or ANSI with `color`). */
  stylize?: Stylize;
}

/**
 * How much the default and quiet reports show: past these, files are grouped by folder and
 * listings end with an `N more` line. `--verbose` lifts the detail caps.
 */
export const TEXT_LIMITS = {
  /** More files that are not clean than this: the summary groups them by folder. */
  groupAbove: 20,
  /** Folders listed in the grouped summary. */
  maxGroups: 30,
  /** Worst files listed per folder when there are at most `fewGroups` folders (else 1). */
  worstPerGroup: 3,
  /** See `worstPerGroup`. */
  fewGroups: 8,
  /** Rules in the top-rules list. */
  topRules: 8,
  /** Signature lines (one per model root) before an `N more` line. */
  signatureRoots: 10,
  /** Findings shown per file in the details. */
  findingsPerFile: 3,
  /** Lines of details at most (whole files only; at least one file). */
  detailLines: 80,
  /** The default report stops adding details past this many lines (summary included). */
  totalLines: 200,
  /** Scans of at most this many files list their clean files in the details too. */
  listCleanUpTo: 10,
  /** Errors listed before an `N more` line. */
  errors: 10,
  /** Characters of a message in a summary line when there is no width to fit. */
  summaryMessage: 110,
} as const;

/** Hanging indent of wrapped lines: under the text after a verdict or severity column. */
const INDENT = 11;

type Opts = {
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly width: number | undefined;
  readonly s: Stylize;
};

const VERDICT_STYLE: Record<Verdict, StyleName> = {
  clean: "green",
  suspicious: "yellow",
  invalid: "magenta",
  malicious: "red",
};

const SEVERITY_STYLE: Record<Severity, StyleName> = {
  info: "dim",
  low: "cyan",
  medium: "yellow",
  high: "red",
  critical: "red",
};

const SIGNATURE_STYLE: Record<SignatureVerification["status"], StyleName> = {
  verified: "green",
  unverified: "yellow",
  unsigned: "yellow",
  failed: "red",
};

/** Signature statuses, worst first (the order of the `Signature:` lines). */
const SIGNATURE_ORDER: readonly SignatureVerification["status"][] = ["failed", "unsigned", "unverified", "verified"];

/** A verdict word padded to one column width (the padding outside the style). */
const verdictWord = (v: Verdict): Span[] => [st(VERDICT_STYLE[v], v.toUpperCase()), t(" ".repeat(10 - v.length))];
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The most severe finding of a list (the first of equals), if any. */
function worstFinding(findings: readonly Finding[]): Finding | undefined {
  let worst: Finding | undefined;
  for (const f of findings)
    if (worst === undefined || severityRank(f.severity) > severityRank(worst.severity)) worst = f;
  return worst;
}

/** Worst first: verdict, then worst finding's severity, then path. */
function compareFiles(a: FileReport, b: FileReport): number {
  return (
    verdictRank(b.verdict) - verdictRank(a.verdict) ||
    severityRank(worstFinding(b.findings)?.severity ?? "info") -
      severityRank(worstFinding(a.findings)?.severity ?? "info") ||
    cmp(a.path, b.path)
  );
}

/** `251 malicious, 80 invalid, ...` from worst to best, leaving out zeros unless all are. */
function verdictCounts(counts: Readonly<Record<Verdict, number>>, keepZeros = true): Span[] {
  const spans: Span[] = [];
  for (const v of [...VERDICTS].reverse()) {
    if (!keepZeros && counts[v] === 0) continue;
    if (spans.length > 0) spans.push(t(", "));
    spans.push(t(`${counts[v]} `), counts[v] === 0 ? t(v) : st(VERDICT_STYLE[v], v));
  }
  return spans;
}

// ---------------------------------------------------------------------------------------------
// Signatures

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

/** What the primary verification says after its status: method, file, signer, what failed. */
function primaryDetail(sig: SignatureVerification, where: string): string {
  const method = e(sig.method ?? "method unknown");
  const parts: string[] = [];
  const signer = signerSummary(sig.signer);
  if (sig.status === "verified") parts.push(signer ?? "signer checked", `${sig.files.length} files match`);
  else if (sig.status === "unverified") parts.push("files match; signer not checked (no trust material given)");
  else {
    parts.push(`${e(sig.failedStage ?? "unknown")} stage: ${e(sig.errors[0] ?? "rejected")}`);
    if (signer !== undefined) parts.push(signer);
  }
  return truncateLine(` (${method}${where === "" ? "" : `, ${where}`}) ${parts.join("; ")}`, 400);
}

/** The single `Signature:` line of a scan with one signature (or none). */
function signatureLine(sig: SignatureVerification): Line {
  const status = st(SIGNATURE_STYLE[sig.status], sig.status.toUpperCase());
  if (sig.status === "unsigned") return [t("Signature: "), status, t(" (no OpenSSF Model Signing signature found)")];
  const where = [sig.signaturePath, sig.model !== undefined && sig.model !== "." ? `for ${sig.model}/` : undefined]
    .filter((x) => x !== undefined)
    .map(e)
    .join(" ");
  return [t("Signature: "), status, t(primaryDetail(sig, where))];
}

/** The findings each signature file caused (evidence `signature`), worst first. */
function findingsBySignature(report: ScanReport): Map<string, Finding[]> {
  const map = new Map<string, Finding[]>();
  for (const file of report.files) {
    for (const f of file.findings) {
      const sig = f.evidence?.signature;
      if (typeof sig !== "string") continue;
      const list = map.get(sig) ?? [];
      list.push(f);
      map.set(sig, list);
    }
  }
  for (const list of map.values()) list.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return map;
}

/**
 * One `Signature:` line per model root of a scan with several signatures: the root's status (its
 * best signature's), the method and file, and why it failed (the primary result's error, else the
 * worst finding the signature caused). A root with several signatures says how many and how they
 * ended.
 */
function rootLines(report: ScanReport, sig: SignatureVerification, opts: Opts): Line[] {
  const signatures = sig.coverage?.signatures ?? [];
  const caused = findingsBySignature(report);
  const roots = new Map<string, CoveringSignature[]>();
  for (const x of signatures) roots.set(x.model, [...(roots.get(x.model) ?? []), x]);
  const best = (list: readonly CoveringSignature[]) =>
    [...list].sort((a, b) => SIGNATURE_ORDER.indexOf(b.status) - SIGNATURE_ORDER.indexOf(a.status))[0]!;
  const ordered = [...roots.entries()].sort(
    ([ra, a], [rb, b]) =>
      SIGNATURE_ORDER.indexOf(best(a).status) - SIGNATURE_ORDER.indexOf(best(b).status) || cmp(ra, rb),
  );
  const shown = opts.verbose ? ordered : ordered.slice(0, TEXT_LIMITS.signatureRoots);
  const lines: Line[] = [];
  for (const [root, list] of shown) {
    const head = best(list);
    const dir = root === "." ? "./" : `${root}/`;
    const rel = (p: string) => (root !== "." && p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p);
    const spans: Span[] = [
      t("Signature: "),
      st(SIGNATURE_STYLE[head.status], head.status.toUpperCase()),
      t(` ${e(dir)}`),
    ];
    if (head.signaturePath === sig.signaturePath && list.length === 1) {
      spans.push(t(primaryDetail(sig, e(rel(head.signaturePath)))));
      lines.push(spans);
      continue;
    }
    const findings = caused.get(head.signaturePath) ?? [];
    const method = findings.map((f) => f.evidence?.method).find((m) => typeof m === "string");
    let detail = ` (${e(typeof method === "string" ? method : "method unknown")}, ${e(rel(head.signaturePath))})`;
    if (list.length > 1) {
      const counts = SIGNATURE_ORDER.map((status) => [status, list.filter((x) => x.status === status).length] as const)
        .filter(([, n]) => n > 0)
        .map(([status, n]) => `${n} ${status}`);
      detail += ` ${list.length} signatures: ${counts.join(", ")};`;
    }
    const problems = findings.filter((f) => f.severity !== "info");
    const first = problems[0];
    if (head.status === "verified") detail += ` ${plural(head.covered, "file")} covered`;
    else if (head.status === "unverified") detail += " files match; signer not checked (no trust material given)";
    else if (first !== undefined) {
      const at = first.path === head.signaturePath ? "" : `${e(rel(first.path))}: `;
      const more = problems.length > 1 ? ` (+${plural(problems.length - 1, "more finding")})` : "";
      detail += ` ${at}${e(first.message)}${more}`;
    }
    lines.push([...spans, t(truncateLine(detail, 400))]);
  }
  if (shown.length < ordered.length) {
    const rest = ordered.slice(shown.length);
    lines.push([t(`Signature: ... ${plural(rest.length, "more signed folder")} (--verbose lists them)`)]);
  }
  return lines;
}

/** What the verified signatures cover, when that is not simply the whole scan. */
function coverageLine(sig: SignatureVerification, files: number): Line | undefined {
  const c = sig.coverage;
  if (c === undefined || (c.complete && c.signatures.length <= 1)) return undefined;
  if (c.complete)
    return [t("Signature coverage: "), st("green", "COMPLETE"), t(` (${plural(c.signatures.length, "signature")})`)];
  const example = c.uncovered[0] === undefined ? "" : `, e.g. ${e(c.uncovered[0])}`;
  return [
    t("Signature coverage: "),
    st("red", "INCOMPLETE"),
    t(truncateLine(`: ${c.uncoveredCount} of ${files} files covered by no verified signature${example}`, 300)),
  ];
}

/** The `Signature:` lines: one per model root, then the coverage. */
function signatureSection(report: ScanReport, opts: Opts): Line[] {
  const sig = report.signature;
  if (sig === undefined) return [];
  const several = (sig.coverage?.signatures.length ?? 0) > 1;
  const lines = several ? rootLines(report, sig, opts) : [signatureLine(sig)];
  const coverage = coverageLine(sig, report.files.length);
  if (coverage !== undefined) lines.push(coverage);
  return lines;
}

/** The Hub summary of a Hub target: the pinned commit, verification, cache hits and transfer. */
function hubLine(report: ScanReport): Line | undefined {
  const hub = report.target.hub;
  if (hub === undefined) return undefined;
  const count = (status: string) => report.files.filter((f) => f.integrity?.status === status).length;
  const cached = report.files.filter((f) => f.cached === true).length;
  return [
    t(
      `Hub: ${e(`${hub.repo}@${hub.revision} = commit ${hub.commit}`)}; ${count("verified")} verified, ${count("partial")} partially read, ${count("mismatch")} mismatched, ${cached} from cache; ${hub.requests ?? 0} requests, ${formatSize(hub.bytesTransferred ?? 0)} transferred`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Files that are not clean

/**
 * Files the scan did not analyse on purpose: those `--include`/`--exclude` left out (listed with
 * `verbose`) and those over `--max-size` (each also listed among the files that are not clean).
 */
function selectionLines(report: ScanReport, opts: Opts): Line[] {
  const lines: Line[] = [];
  const skipped = report.skipped ?? [];
  if (skipped.length > 0) {
    lines.push([t(`Skipped: ${plural(skipped.length, "file")} skipped by --include/--exclude (not analysed)`)]);
    if (opts.verbose) for (const s of skipped) lines.push([t(`  ${e(s.path)}  ${s.reason}  ${formatSize(s.size)}`)]);
  }
  const large = report.files.filter((f) => f.findings.some((x) => x.ruleId === "scan/too-large")).length;
  if (large > 0) lines.push([t(`Too large: ${plural(large, "file")} over --max-size, not analysed (invalid)`)]);
  return lines;
}

/** One summary line: verdict, path, worst finding (cut to the width). */
function fileSummaryLine(file: FileReport, indent: string, opts: Opts): Line {
  const worst = worstFinding(file.findings);
  const what =
    worst === undefined
      ? "(no finding listed)"
      : `${e(worst.ruleId)}: ${opts.width === undefined ? truncateLine(e(worst.message), TEXT_LIMITS.summaryMessage) : e(worst.message)}`;
  return fitLine([t(indent), ...verdictWord(file.verdict), t(` ${e(file.path)}  ${what}`)], opts.width);
}

interface Group {
  /** The folder (with a trailing `/`), or `""` for files directly in the common folder. */
  readonly dir: string;
  readonly files: FileReport[];
  readonly counts: Record<Verdict, number>;
}

/** The folder all paths share (`a/b/`), or `""`. */
function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return "";
  let parts = paths[0]!.split("/").slice(0, -1);
  for (const p of paths) {
    const q = p.split("/").slice(0, -1);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.length === 0 ? "" : `${parts.join("/")}/`;
}

/** Files (sorted worst first) grouped by the first folder below the one they all share, worst group first. */
function groupFiles(files: readonly FileReport[]): Group[] {
  const base = commonFolder(files.map((f) => f.path));
  const groups = new Map<string, Group>();
  for (const f of files) {
    const rest = f.path.slice(base.length);
    const slash = rest.indexOf("/");
    const dir = slash < 0 ? base : `${base}${rest.slice(0, slash)}/`;
    let g = groups.get(dir);
    if (g === undefined) {
      g = { dir, files: [], counts: { clean: 0, suspicious: 0, invalid: 0, malicious: 0 } };
      groups.set(dir, g);
    }
    g.files.push(f);
    g.counts[f.verdict]++;
  }
  return [...groups.values()].sort(
    (a, b) => verdictRank(b.files[0]!.verdict) - verdictRank(a.files[0]!.verdict) || cmp(a.dir, b.dir),
  );
}

/** The `Not clean` section: every such file, or (past `groupAbove`) folders with their worst files. */
function notCleanSection(
  flagged: readonly FileReport[],
  groups: readonly Group[] | undefined,
  total: number,
  opts: Opts,
): Line[] {
  if (flagged.length === 0) return [];
  const lines: Line[] = [];
  if (groups === undefined) {
    lines.push([st("bold", "Not clean:"), t(` ${flagged.length} of ${plural(total, "file")}, worst first`)]);
    for (const f of flagged) lines.push(fileSummaryLine(f, "  ", opts));
    return lines;
  }
  const perGroup = groups.length <= TEXT_LIMITS.fewGroups ? TEXT_LIMITS.worstPerGroup : 1;
  lines.push([
    st("bold", "Not clean:"),
    t(
      ` ${flagged.length} of ${plural(total, "file")} in ${plural(groups.length, "folder")}, worst first (${perGroup === 1 ? "the worst file" : `the ${perGroup} worst files`} of each)`,
    ),
  ]);
  const shown = groups.slice(0, TEXT_LIMITS.maxGroups);
  for (const g of shown) {
    lines.push(
      fitLine(
        [
          t(`  ${g.dir === "" ? "./" : e(g.dir)}  ${plural(g.files.length, "file")}: `),
          ...verdictCounts(g.counts, false),
        ],
        opts.width,
      ),
    );
    for (const f of g.files.slice(0, perGroup)) lines.push(fileSummaryLine(f, "    ", opts));
  }
  if (shown.length < groups.length) {
    const rest = groups.slice(shown.length);
    const files = rest.reduce((n, g) => n + g.files.length, 0);
    lines.push([t(`  ... ${plural(rest.length, "more folder")} (${plural(files, "file")})`)]);
  }
  return lines;
}

/** The most frequent rules above info, with their worst severity and how many files they hit. */
function topRulesSection(files: readonly FileReport[], opts: Opts): Line[] {
  const rules = new Map<string, { count: number; files: number; severity: Severity }>();
  let total = 0;
  for (const file of files) {
    const seen = new Set<string>();
    for (const f of file.findings) {
      if (f.severity === "info") continue;
      total++;
      const r = rules.get(f.ruleId) ?? { count: 0, files: 0, severity: f.severity };
      r.count++;
      if (!seen.has(f.ruleId)) r.files++;
      seen.add(f.ruleId);
      if (severityRank(f.severity) > severityRank(r.severity)) r.severity = f.severity;
      rules.set(f.ruleId, r);
    }
  }
  if (rules.size === 0) return [];
  const sorted = [...rules.entries()].sort(([a, x], [b, y]) => y.count - x.count || cmp(a, b));
  const top = opts.verbose ? sorted : sorted.slice(0, TEXT_LIMITS.topRules);
  const idWidth = Math.min(40, maxOf(top.map(([id]) => e(id).length)));
  const countWidth = String(top[0]![1].count).length;
  const lines: Line[] = [
    [st("bold", "Top rules:"), t(` ${plural(rules.size, "rule")}, ${plural(total, "finding")} above info`)],
  ];
  for (const [id, r] of top) {
    lines.push([
      t(`  ${e(id).padEnd(idWidth)} × ${String(r.count).padStart(countWidth)}  `),
      st(SEVERITY_STYLE[r.severity], r.severity),
      t(`, ${plural(r.files, "file")}`),
    ]);
  }
  if (top.length < sorted.length) lines.push([t(`  ... ${plural(sorted.length - top.length, "more rule")}`)]);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Details

function evidenceLine(finding: Finding): string | undefined {
  if (finding.evidence === undefined) return undefined;
  const parts = Object.entries(finding.evidence).map(
    ([k, v]) => `${e(k)}=${e(typeof v === "string" ? v : JSON.stringify(v))}`,
  );
  if (parts.length === 0) return undefined;
  return truncateLine(parts.join("  "), 300);
}

/** A file's detail block: its header, findings (capped unless verbose) and, verbose, suppressed ones. */
function fileBlock(file: FileReport, opts: Opts): Line[] {
  const lines: Line[] = [];
  const formats = e(file.formats.length > 1 ? file.formats.join("+") : file.format);
  lines.push([...verdictWord(file.verdict), t(` ${e(file.path)}  (${formats}, ${formatSize(file.size)})`)]);
  const all = [...file.findings]
    .filter((f) => opts.verbose || f.severity !== "info")
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const shown = opts.verbose ? all : all.slice(0, TEXT_LIMITS.findingsPerFile);
  for (const f of shown) {
    const where = [f.path === file.path ? "" : e(f.path), f.offset === undefined ? "" : `@${f.offset}`]
      .filter(Boolean)
      .join(" ");
    lines.push([
      t("  "),
      st(SEVERITY_STYLE[f.severity], f.severity),
      t(`${" ".repeat(8 - f.severity.length)} ${e(f.ruleId)}  ${e(f.message)}${where ? `  [${where}]` : ""}`),
    ]);
    if (opts.verbose) {
      const evidence = evidenceLine(f);
      if (evidence !== undefined) lines.push([t(`           ${evidence}`)]);
    }
  }
  const rest = all.slice(shown.length);
  if (rest.length > 0) {
    const bySeverity = [...SEVERITIES]
      .reverse()
      .map((sev) => [sev, rest.filter((f) => f.severity === sev).length] as const)
      .filter(([, n]) => n > 0)
      .map(([sev, n]) => `${n} ${sev}`);
    lines.push([t(`  ... ${plural(rest.length, "more finding")} (${bySeverity.join(", ")})`)]);
  }
  if (opts.verbose) {
    for (const f of file.suppressed ?? []) {
      lines.push([st("dim", "  suppressed"), t(` ${e(f.ruleId)}  ${e(f.message)}  (${e(f.suppression.reason)})`)]);
    }
  }
  return lines;
}

/** The files of the default details, in order: round-robin over the groups (worst of each first). */
function detailOrder(flagged: readonly FileReport[], groups: readonly Group[] | undefined): FileReport[] {
  if (groups === undefined) return [...flagged];
  const out: FileReport[] = [];
  for (let i = 0; out.length < flagged.length; i++)
    for (const g of groups) if (g.files[i] !== undefined) out.push(g.files[i]!);
  return out;
}

/** The details: verbose, every file; default, the worst files that are not clean within `detailLines`. */
function detailsSection(
  report: ScanReport,
  flagged: readonly FileReport[],
  groups: readonly Group[] | undefined,
  opts: Opts,
  budget: number,
): Line[] {
  if (opts.verbose) {
    const clean = report.files.filter((f) => f.verdict === "clean").sort((a, b) => cmp(a.path, b.path));
    const lines: Line[] = [[st("bold", "Details:"), t(` every file, worst first`)]];
    for (const f of [...flagged, ...clean]) pushAll(lines, fileBlock(f, opts));
    return lines;
  }
  const listClean = report.files.length <= TEXT_LIMITS.listCleanUpTo;
  const clean = listClean ? report.files.filter((f) => f.verdict === "clean").sort((a, b) => cmp(a.path, b.path)) : [];
  if (flagged.length === 0 && clean.length === 0) return [];
  const blocks: Line[][] = [];
  let used = 0;
  for (const f of detailOrder(flagged, groups)) {
    const block = fileBlock(f, opts);
    const height = block.reduce((n, line) => n + wrapLine(line, opts.width, INDENT, plainStyle).length, 0);
    if (blocks.length > 0 && used + height > budget) break;
    blocks.push(block);
    used += height;
  }
  const heading: Line =
    blocks.length === flagged.length
      ? [st("bold", "Details:"), t(flagged.length === 0 ? " files" : " files that are not clean, worst first")]
      : [
          st("bold", "Details:"),
          t(
            ` ${blocks.length} of the ${flagged.length} files that are not clean${groups === undefined ? "" : ", the worst of each folder first"}`,
          ),
        ];
  const lines: Line[] = [heading, ...blocks.flat()];
  if (blocks.length < flagged.length) {
    lines.push([
      t(
        `... ${plural(flagged.length - blocks.length, "more file")} not clean, not detailed here: --verbose shows every file and finding, --format json the whole report`,
      ),
    ]);
  }
  for (const f of clean) pushAll(lines, fileBlock(f, opts));
  return lines;
}

// ---------------------------------------------------------------------------------------------

/**
 * Renders a report as text for a terminal or a log: a summary first (verdict, counts, signatures,
 * the files that are not clean with their worst finding, top rules, errors), then details.
 * @param report - the scan report
 * @param options - level of detail (`quiet`, `verbose`), `width` and colour
 */
export function renderText(report: ScanReport, options: TextOptions = {}): string {
  const width =
    options.width !== undefined && Number.isFinite(options.width) && options.width >= 20
      ? Math.floor(options.width)
      : undefined;
  const opts: Opts = {
    quiet: options.quiet ?? false,
    verbose: (options.verbose ?? false) && !(options.quiet ?? false),
    width,
    s: options.stylize ?? (options.color === true ? ansiStyle : plainStyle),
  };
  const sections: Line[][] = [];
  const bytes = report.files.reduce((n, f) => n + f.size, 0);
  const seconds = (report.durationMs / 1000).toFixed(2);
  sections.push([
    [
      st("bold", `modelgate ${report.tool.version}`),
      t(
        `  scanned ${e(report.target.name)} (${plural(report.summary.files, "file")}, ${formatSize(bytes)}, ${seconds} s)`,
      ),
    ],
    [t(e(describePolicy(report.policy)))],
  ]);

  // Summary: verdict and counts, signatures, Hub.
  const suppressed = report.files.reduce((n, f) => n + (f.suppressed?.length ?? 0), 0);
  const severities = [...SEVERITIES]
    .reverse()
    .map((v) => `${report.summary.bySeverity[v]} ${v}`)
    .join(", ");
  const summary: Line[] = [
    [
      t("Verdict: "),
      st(VERDICT_STYLE[report.verdict], report.verdict.toUpperCase()),
      t(report.complete ? "" : " (scan incomplete)"),
    ],
    [t(`Files: ${report.summary.files} (`), ...verdictCounts(report.summary.byVerdict), t(")")],
    [
      t(
        `Findings: ${report.summary.findings} (${severities})${suppressed > 0 ? `; ${suppressed} suppressed by policy` : ""}`,
      ),
    ],
    ...selectionLines(report, opts),
    ...signatureSection(report, opts),
  ];
  const hub = hubLine(report);
  if (hub !== undefined) summary.push(hub);
  sections.push(summary);

  const flagged = report.files.filter((f) => f.verdict !== "clean").sort(compareFiles);
  const groups = flagged.length > TEXT_LIMITS.groupAbove ? groupFiles(flagged) : undefined;
  sections.push(notCleanSection(flagged, groups, report.files.length, opts));
  sections.push(topRulesSection(report.files, opts));

  if (report.errors.length > 0) {
    const shown = opts.verbose ? report.errors : report.errors.slice(0, TEXT_LIMITS.errors);
    const lines: Line[] = [[st("magenta", "Errors:")]];
    for (const x of shown) lines.push([t(`  ${e(x.code)}  ${e(x.path ?? "")}  ${e(x.message)}`)]);
    if (shown.length < report.errors.length)
      lines.push([t(`  ... ${plural(report.errors.length - shown.length, "more error")}`)]);
    sections.push(lines);
  }
  const expired = (report.policy?.suppressions ?? []).filter((x) => x.status === "expired");
  if (expired.length > 0) {
    const lines: Line[] = [[st("yellow", "Expired suppressions (no longer applied):")]];
    for (const x of expired) {
      lines.push([
        t(
          `  ${e(x.rule)}  ${e(x.path)}  expired ${e(x.expires ?? "?")}, ${x.matched} finding(s) now count  (${e(x.reason)})`,
        ),
      ]);
    }
    sections.push(lines);
  }
  const out: string[] = [];
  const emit = (section: readonly Line[]) => {
    if (section.length === 0) return;
    if (out.length > 0) out.push("");
    for (const line of section) pushAll(out, wrapLine(line, opts.width, INDENT, opts.s));
  };
  for (const section of sections) emit(section);
  if (!opts.quiet) {
    // The details fill what the summary left of `totalLines` (at most `detailLines`, at least a few).
    const budget = Math.min(TEXT_LIMITS.detailLines, Math.max(12, TEXT_LIMITS.totalLines - out.length - 4));
    emit(detailsSection(report, flagged, groups, opts, budget));
  }
  return `${out.join("\n")}\n`;
}
