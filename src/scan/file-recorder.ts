/**
 * Collects what the analyzers say about one top-level file and its members, and turns it into a
 * {@link FileReport}.
 * @module
 */

import { prependAll, pushAll } from "../core/arrays.js";
import { aggregateFacts } from "../core/facts.js";
import type { RuleId } from "../core/findings.js";
import type { Severity } from "../core/severity.js";
import type { ResolvedPolicy } from "../policy/policy.js";
import { getRule } from "../registry/rules.js";
import type {
  FileIntegrity,
  FileReport,
  Finding,
  Format,
  Hashes,
  MemberReport,
  SuppressedFinding,
  Verdict,
} from "../report/schema.js";
import { verdictOfFinding, worstVerdict } from "../report/verdict.js";
import type { FindingInput } from "./types.js";

/**
 * Findings kept per rule, severity and file; later ones are counted in a closing finding of that
 * severity. Per severity, so that low occurrences of a rule never push a high one out of the report
 * (the exit code and SARIF read the findings).
 */
export const MAX_FINDINGS_PER_RULE = 200;

/** A node of the file's tree: the file itself or a member. */
export interface NodeRecord {
  /** Display path. */
  readonly path: string;
  /** Parent node (undefined for the top-level file). */
  readonly parent: NodeRecord | undefined;
  /** Size in bytes. */
  readonly size: number;
  /** Primary format, possibly refined by an analyzer. */
  format: Format;
  /** Worst verdict of this node's findings and members. */
  verdict: Verdict;
}

/**
 * Accumulates one top-level file's findings, members, formats and facts. Facts are kept per node
 * (the file, each member) and aggregated into the file's `facts` once, by `toReport`.
 */
export class FileRecorder {
  readonly root: NodeRecord;
  readonly formats = new Set<Format>();
  /**
   * The top-level file's own facts (what its analyzers, repository analyzers and a cached result
   * say); members' facts are recorded with {@link FileRecorder.fact}.
   */
  readonly facts: Record<string, unknown> = {};
  /** Facts per node, in the order nodes first recorded one (the root first). */
  readonly #nodeFacts = new Map<NodeRecord, Record<string, unknown>>();
  readonly #findings: Finding[] = [];
  readonly #members: MemberReport[] = [];
  readonly #suppressed: SuppressedFinding[] = [];
  /** Occurrences per `[suppressed:]ruleId\0severity`. */
  readonly #perRule = new Map<string, number>();
  readonly #policy: ResolvedPolicy;
  /** The whole content of a small text file, kept for repo analyzers (see RepoContext.openFile). */
  content: Uint8Array | undefined;
  sha256: string | undefined;
  hashes: Hashes | undefined;
  integrity: FileIntegrity | undefined;
  #restored: FileReport | undefined;

  /**
   * @param path - the file's display path
   * @param size - its size
   * @param policy - severities and disabled rules in force
   */
  constructor(path: string, size: number, policy: ResolvedPolicy) {
    this.root = { path, parent: undefined, size, format: "unknown", verdict: "clean" };
    this.#policy = policy;
    this.#nodeFacts.set(this.root, this.facts);
  }

  /**
   * Records a fact about a node (the last value recorded for a key on a node wins).
   * @param node - the file or member the fact is about
   * @param key - fact key (docs/architecture.md, "Facts")
   * @param value - JSON value
   */
  fact(node: NodeRecord, key: string, value: unknown): void {
    let own = this.#nodeFacts.get(node);
    if (own === undefined) {
      own = {};
      this.#nodeFacts.set(node, own);
    }
    own[key] = value;
  }

  /** The file's facts: every node's, aggregated under the rules of `report/facts.ts`. */
  aggregatedFacts(): Record<string, unknown> {
    const depth = (node: NodeRecord): number => {
      let d = 0;
      for (let n = node.parent; n !== undefined; n = n.parent) d++;
      return d;
    };
    // the file's own facts first, then members from the shallowest (stable: in recording order)
    const nodes = [...this.#nodeFacts].map(([node, facts], i) => ({ depth: depth(node), i, facts }));
    nodes.sort((a, b) => a.depth - b.depth || a.i - b.i);
    return aggregateFacts(nodes.map((n) => n.facts));
  }

  /**
   * Records a finding against a node (and raises the verdicts of the node and its ancestors).
   * @param node - the node the finding is about
   * @param input - the finding
   */
  add(node: NodeRecord, input: FindingInput): void {
    const path = input.path === undefined ? node.path : `${node.path}!${input.path}`;
    const decision = this.#policy.decide(input.ruleId, path, input.severity, this.root.path);
    if (decision.action === "drop") return;
    const rule = getRule(input.ruleId);
    const severity = decision.severity;
    const key = `${decision.action === "suppress" ? `suppressed:${input.ruleId}` : input.ruleId}\0${severity}`;
    const count = (this.#perRule.get(key) ?? 0) + 1;
    this.#perRule.set(key, count);
    if (decision.action === "keep") {
      const verdict = verdictOfFinding(severity, rule?.invalidates === true);
      for (let n: NodeRecord | undefined = node; n !== undefined; n = n.parent) {
        n.verdict = worstVerdict(n.verdict, verdict);
      }
    }
    if (count > MAX_FINDINGS_PER_RULE) return;
    const finding: Finding = { ruleId: input.ruleId, severity, message: input.message, path };
    if (input.offset !== undefined && Number.isSafeInteger(input.offset) && input.offset >= 0) {
      finding.offset = input.offset;
    }
    if (input.evidence !== undefined) finding.evidence = input.evidence;
    const cve = [...(rule?.cve ?? []), ...(input.cve ?? [])];
    if (cve.length > 0) finding.cve = [...new Set(cve)];
    if (decision.action === "suppress") this.#suppressed.push({ ...finding, suppression: { ...decision.suppression } });
    else this.#findings.push(finding);
  }

  /**
   * Records a finished member.
   * @param node - the member's node
   */
  addMember(node: NodeRecord): void {
    this.#members.push({ path: node.path, size: node.size, format: node.format, verdict: node.verdict });
  }

  /**
   * Takes over a result computed earlier (a verdict cache hit): its findings, members, formats and
   * facts (already aggregated: they become the file's own) become this file's, and findings and
   * facts added later (repository analyzers) still count.
   * @param report - the earlier result, already re-pathed for this file
   */
  restore(report: FileReport): void {
    this.#restored = report;
    this.root.format = report.format;
    this.root.verdict = worstVerdict(this.root.verdict, report.verdict);
    for (const f of report.formats) this.formats.add(f);
    Object.assign(this.facts, report.facts ?? {});
    this.sha256 = report.sha256;
    this.hashes = report.hashes;
    prependAll(this.#findings, report.findings);
    prependAll(this.#suppressed, report.suppressed ?? []);
    prependAll(this.#members, report.members ?? []);
  }

  /**
   * A copy of what has been recorded so far, sharing nothing this recorder will still change:
   * for an analysis abandoned past its deadline, whose late writes must not reach the report.
   */
  detach(): FileRecorder {
    const copy = new FileRecorder(this.root.path, this.root.size, this.#policy);
    copy.root.format = this.root.format;
    copy.root.verdict = this.root.verdict;
    for (const f of this.formats) copy.formats.add(f);
    for (const [node, facts] of this.#nodeFacts) {
      if (node === this.root) Object.assign(copy.facts, facts);
      else copy.#nodeFacts.set(node, { ...facts });
    }
    pushAll(copy.#findings, this.#findings);
    pushAll(copy.#members, this.#members);
    pushAll(copy.#suppressed, this.#suppressed);
    for (const [key, count] of this.#perRule) copy.#perRule.set(key, count);
    copy.content = this.content;
    copy.sha256 = this.sha256;
    copy.hashes = this.hashes;
    copy.integrity = this.integrity;
    copy.#restored = this.#restored;
    return copy;
  }

  /** Builds the file's report. */
  toReport(): FileReport {
    const findings = [...this.#findings];
    for (const [key, count] of this.#perRule) {
      if (count > MAX_FINDINGS_PER_RULE && !key.startsWith("suppressed:")) {
        const cut = key.lastIndexOf("\0");
        findings.push({
          ruleId: key.slice(0, cut) as RuleId, // keys without the "suppressed:" prefix hold rule ids
          severity: key.slice(cut + 1) as Severity,
          message: `${count - MAX_FINDINGS_PER_RULE} more ${key.slice(cut + 1)} findings of this rule omitted`,
          path: this.root.path,
          evidence: { omitted: count - MAX_FINDINGS_PER_RULE },
        });
      }
    }
    const facts = this.aggregatedFacts();
    const report: FileReport = {
      path: this.root.path,
      size: this.root.size,
      format: this.root.format,
      formats: [this.root.format, ...[...this.formats].filter((f) => f !== this.root.format)],
      ...(this.sha256 === undefined ? {} : { sha256: this.sha256 }),
      ...(this.hashes === undefined ? {} : { hashes: this.hashes }),
      verdict: this.root.verdict,
      findings,
      ...(this.#suppressed.length === 0 ? {} : { suppressed: [...this.#suppressed] }),
      ...(this.#members.length === 0 ? {} : { members: [...this.#members] }),
      ...(Object.keys(facts).length === 0 ? {} : { facts }),
      ...(this.integrity === undefined ? {} : { integrity: this.integrity }),
      ...(this.#restored === undefined ? {} : { cached: true }),
    };
    return report;
  }
}
