/**
 * SARIF 2.1.0 rendering for code-scanning platforms (GitHub code scanning and others).
 * @module
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import type * as Sarif from "sarif";
import type { Severity } from "../../core/severity.js";
import type { SignatureVerification } from "../../integrity/oms/result.js";
import { getRule } from "../../registry/rules.js";
import type { FileReport, Finding, ScanReport, SuppressedFinding } from "../schema.js";

/** SARIF level per severity. */
const LEVEL: Record<Severity, Sarif.Result.level> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
  info: "note",
};

/**
 * GitHub's `security-severity` scale: > 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
 */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
  info: "0.0",
};

/** Options of {@link renderSarif}. */
export interface SarifOptions {
  /**
   * Prefix joined to report paths to make artifact URIs relative to the repository root (for a
   * scan of `models/`, pass `models`). Default: the scanned directory's name as given.
   */
  uriPrefix?: string;
  /** `runAutomationDetails.id` (the category). Default `modelgate/`. */
  category?: string;
}

const UTF8 = new TextEncoder();
/** Characters a path keeps as they are in a URI (unreserved, sub-delims, `@` and `/`). */
const URI_SAFE = /[A-Za-z0-9\-._~/!$&'()*+,;=@]/;

/**
 * A POSIX path as a relative URI reference: `%`, `#`, `?`, `:` (a scheme in a first segment),
 * spaces, controls and non-ASCII characters percent-encoded (UTF-8; a lone surrogate, which has
 * none, as `%uXXXX`). `a#b.pkl` stays one file, not `a` with a fragment. Injective.
 * @param path - the path
 */
export function encodePathForUri(path: string): string {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (URI_SAFE.test(c)) {
      out += c;
      continue;
    }
    const code = path.codePointAt(i)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += `%u${code.toString(16).toUpperCase().padStart(4, "0")}`;
      continue;
    }
    const char = String.fromCodePoint(code);
    if (code > 0xffff) i++;
    for (const byte of UTF8.encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Most `!` separators looked at when telling which file a member path belongs to. */
const MAX_MEMBER_DEPTH = 64;

const fingerprint = (f: Finding): string =>
  createHash("sha256")
    .update(`${f.ruleId}|${f.path}|${f.offset ?? ""}|${f.message}`)
    .digest("hex");

/** A file's digests under the hash function names of the IANA Named Information registry (BLAKE3 has none). */
function hashesOf(file: FileReport): Record<string, string> {
  const out: Record<string, string> = {};
  const sha256 = file.sha256 ?? file.hashes?.sha256;
  if (sha256 !== undefined) out["sha-256"] = sha256;
  if (file.hashes?.blake2b !== undefined) out["blake2b-512"] = file.hashes.blake2b;
  if (file.hashes?.blake3 !== undefined) out.blake3 = file.hashes.blake3;
  return out;
}

/** The run's signature result: what the text report's `Signature:` line and CycloneDX's properties say. */
function signatureOf(sig: SignatureVerification): Record<string, unknown> {
  return {
    status: sig.status,
    ...(sig.method === undefined ? {} : { method: sig.method }),
    ...(sig.signaturePath === undefined ? {} : { signaturePath: sig.signaturePath }),
    ...(sig.model === undefined ? {} : { model: sig.model }),
    ...(sig.failedStage === undefined ? {} : { failedStage: sig.failedStage }),
    ...(sig.errors.length === 0 ? {} : { errors: sig.errors.slice(0, 5) }),
    ...(sig.signer === undefined ? {} : { signer: sig.signer }),
    ...(sig.rootDigest === undefined ? {} : { rootDigest: sig.rootDigest }),
    ...(sig.serialization === undefined
      ? {}
      : { serialization: { method: sig.serialization.method, hashType: sig.serialization.hashType } }),
    filesCompared: sig.files.length,
  };
}

/**
 * Renders a report as a SARIF 2.1.0 log with one run, rule metadata and `security-severity`.
 * @param report - the scan report
 * @param options - URI prefix and category
 */
export function renderSarif(report: ScanReport, options: SarifOptions = {}): Sarif.Log {
  const prefix =
    options.uriPrefix ?? (report.target.kind === "directory" ? report.target.name.replace(/\\/g, "/") : "");
  // A file's own name may hold `!`, the member separator: the report knows which part is the file.
  const known = new Set([...report.files.map((f) => f.path), ...(report.skipped ?? []).map((s) => s.path)]);
  /** The file a path names: itself when listed, else the longest listed file it is a member of. */
  const fileOf = (path: string): string => {
    if (known.has(path)) return path;
    let found: string | undefined;
    for (let at = path.indexOf("!"), n = 0; at !== -1 && n < MAX_MEMBER_DEPTH; at = path.indexOf("!", at + 1), n++) {
      if (known.has(path.slice(0, at))) found = path.slice(0, at);
    }
    return found ?? path;
  };
  /** The artifact URI of a file (never of a member: members are named in the message and properties). */
  const uriOf = (file: string): string => {
    const joined = prefix === "" ? file : posix.join(prefix, file);
    return encodePathForUri(joined.replace(/^\.\//, ""));
  };
  const usedRules = [
    ...new Set(report.files.flatMap((f) => [...f.findings, ...(f.suppressed ?? [])].map((x) => x.ruleId))),
  ].sort();
  const ruleIndex = new Map(usedRules.map((id, i) => [id, i]));
  const rules: Sarif.ReportingDescriptor[] = usedRules.map((id) => {
    const rule = getRule(id);
    const severity = rule?.severity ?? "medium";
    const descriptor: Sarif.ReportingDescriptor = {
      id,
      name: id.replace(/[/-](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase()),
      shortDescription: { text: rule?.title ?? id },
      fullDescription: { text: rule?.description ?? id },
      help: {
        text: rule?.description ?? id,
        markdown: `**${rule?.title ?? id}**\n\n${rule?.description ?? ""}${
          (rule?.references ?? []).length > 0
            ? `\n\nReferences:\n${rule!.references!.map((r) => `- ${r}`).join("\n")}`
            : ""
        }`,
      },
      defaultConfiguration: { level: LEVEL[severity] },
      properties: {
        tags: ["security", "supply-chain", "ml-model", ...(rule?.cve ?? [])],
        "security-severity": SECURITY_SEVERITY[severity],
        precision: "high",
      },
    };
    return descriptor;
  });
  const results: Sarif.Result[] = report.files.flatMap((file) =>
    [...file.findings, ...(file.suppressed ?? [])].map((f: Finding | SuppressedFinding) => {
      const result: Sarif.Result = {
        ruleId: f.ruleId,
        ruleIndex: ruleIndex.get(f.ruleId) ?? 0,
        level: LEVEL[f.severity],
        message: { text: f.path === file.path ? f.message : `${f.message} (in ${f.path})` },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: uriOf(file.path) },
              region: { startLine: 1 },
            },
          },
        ],
        partialFingerprints: { "modelgate/v1": fingerprint(f) },
        ...("suppression" in f
          ? {
              suppressions: [
                {
                  kind: "external" as const,
                  status: "accepted" as const,
                  justification: `${f.suppression.reason}${f.suppression.expires === undefined ? "" : ` (until ${f.suppression.expires})`}`,
                },
              ],
            }
          : {}),
        properties: {
          severity: f.severity,
          "security-severity": SECURITY_SEVERITY[f.severity],
          verdict: file.verdict,
          path: f.path,
          ...(f.offset === undefined ? {} : { offset: f.offset }),
          ...(f.evidence === undefined ? {} : { evidence: f.evidence }),
          ...(f.cve === undefined ? {} : { cve: f.cve }),
        },
      };
      return result;
    }),
  );
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            semanticVersion: report.tool.version,
            version: report.tool.version,
            informationUri: "https://github.com/modelgate/modelgate",
            rules,
          },
        },
        automationDetails: { id: options.category ?? "modelgate/" },
        invocations: [
          {
            executionSuccessful: report.complete,
            startTimeUtc: report.startedAt,
            toolExecutionNotifications: [
              ...report.errors.map((e) => ({
                level: "error" as const,
                message: { text: `${e.code}: ${e.message}` },
                ...(e.path === undefined
                  ? {}
                  : { locations: [{ physicalLocation: { artifactLocation: { uri: uriOf(fileOf(e.path)) } } }] }),
              })),
              ...(report.policy?.suppressions ?? [])
                .filter((x) => x.status === "expired")
                .map((x) => ({
                  level: "warning" as const,
                  message: {
                    text: `policy suppression of ${x.rule} for ${x.path} expired on ${x.expires ?? "?"}; ${x.matched} finding(s) count again`,
                  },
                })),
              // Files include/exclude left out are named, not claimed as scanned artifacts.
              ...(report.skipped === undefined || report.skipped.length === 0
                ? []
                : [
                    {
                      level: "note" as const,
                      message: { text: `${report.skipped.length} file(s) not analysed: left out by include/exclude` },
                      locations: report.skipped.map((x) => ({
                        physicalLocation: { artifactLocation: { uri: uriOf(x.path) } },
                      })),
                    },
                  ]),
            ],
          },
        ],
        artifacts: report.files.map((file) => {
          const hashes = hashesOf(file);
          return {
            location: { uri: uriOf(file.path) },
            length: file.size,
            ...(Object.keys(hashes).length === 0 ? {} : { hashes }),
          };
        }),
        results,
        ...(report.signature === undefined ? {} : { properties: { signature: signatureOf(report.signature) } }),
      },
    ],
  };
}
