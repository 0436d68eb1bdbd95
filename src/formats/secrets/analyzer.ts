/**
 * Looks for credentials in every text file of a scan (configs, model cards, scripts, notebooks,
 * templates, plain text), over its first {@link MAX_SECRET_SCAN_BYTES} bytes.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readClamped } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { type CredentialHit, findCredentials } from "./scan.js";

/** Bytes of a text file searched for credentials. */
export const MAX_SECRET_SCAN_BYTES = 4 * 1024 * 1024;

/**
 * The finding for a credential.
 * @param hit - what was found
 * @param where - where, for the message (`line 3`, `metadata key "x"`)
 */
export function credentialFinding(hit: CredentialHit, where: string): FindingInput {
  return {
    ruleId: "secrets/credential",
    message: `${hit.kind} at ${where}: ${hit.preview}`,
    evidence: { kind: hit.kind, preview: hit.preview, line: hit.line },
  };
}

/**
 * Reports the credentials of a text through a context, capped per rule.
 * @param ctx - the analysis context
 * @param text - the text
 * @param where - prefix of the location (`""` for a file: line numbers are used)
 */
export function reportCredentials(ctx: AnalysisContext, text: string, where = ""): void {
  const hits = findCredentials(text);
  if (hits.length === 0) return;
  const list = new FindingList();
  for (const hit of hits) list.add(credentialFinding(hit, where === "" ? `line ${hit.line}` : where));
  for (const f of list.list()) ctx.report(f);
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Credentials in text files. */
export const secretsAnalyzer: Analyzer = {
  name: "secrets",
  formats: ["json", "text", "python", "shell", "notebook", "jinja", "yaml", "mlflow"],
  async analyze(ctx) {
    // Opaque data (a tensor storage) that happens to look like text: its sniffed head only.
    const size = ctx.opaque ? ctx.head.length : Math.min(ctx.source.size, MAX_SECRET_SCAN_BYTES);
    const bytes = size <= ctx.head.length ? ctx.head.subarray(0, size) : await readClamped(ctx.source, 0, size);
    reportCredentials(ctx, utf8.decode(bytes));
  },
};
