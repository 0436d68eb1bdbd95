/**
 * CycloneDX 1.6 ML-BOM rendering: the model as a `machine-learning-model` component with a model
 * card built from the files' facts, each file a `file` component with its digests, and findings as
 * `vulnerabilities[]` that reference the affected file.
 * @module
 */

import { randomUUID } from "node:crypto";
import { canonicalFacts, countOf } from "../../core/facts.js";
import { isSpdxId } from "../../formats/license/identify.js";
import { getRule } from "../../registry/rules.js";
import type { FileReport, Finding, ScanReport, SuppressedFinding } from "../schema.js";
import { encodePathForUri } from "./sarif.js";

/** A CycloneDX `property`: a name/value pair; modelgate's names start with `modelgate:`. */
export interface CdxProperty {
  /** Property name. */
  name: string;
  /** Property value. */
  value: string;
}

/** A CycloneDX hash. */
export interface CdxHash {
  /** Algorithm, as CycloneDX spells it. */
  alg: "SHA-256" | "BLAKE2b-512" | "BLAKE3";
  /** Lowercase hex digest. */
  content: string;
}

/** A CycloneDX external reference. */
export interface CdxExternalReference {
  /** Reference type. */
  type: "distribution" | "website" | "documentation" | "advisories";
  /** The URL. */
  url: string;
}

/** Input or output of a model, per the model card. */
export interface CdxInputOutput {
  /** Data format (for tensors: dtype, shape and name). */
  format: string;
}

/** The CycloneDX 1.6 model card subset modelgate fills in. */
export interface CdxModelCard {
  /** What the model is. */
  modelParameters?: {
    /** Task (classification, text-generation ...), when a fact says so. */
    task?: string;
    /** Architecture family (the config's `model_type`, GGUF `general.architecture`). */
    architectureFamily?: string;
    /** Specific architecture (the config's `architectures[0]`). */
    modelArchitecture?: string;
    /** Model inputs. */
    inputs?: CdxInputOutput[];
    /** Model outputs. */
    outputs?: CdxInputOutput[];
  };
  /** What the files reveal that the model card has no field for (parameter count, dtypes ...). */
  properties?: CdxProperty[];
}

/** A CycloneDX component (the subset modelgate emits). */
export interface CdxComponent {
  /** `machine-learning-model` for the model, `file` for its files. */
  type: "machine-learning-model" | "file";
  /** Reference used by `affects` and `compositions`. */
  "bom-ref": string;
  /** Hub owner, for Hub models. */
  group?: string;
  /** Model name, or the file's path within the model. */
  name: string;
  /** Hub commit, for Hub models. */
  version?: string;
  /** Digests. */
  hashes?: CdxHash[];
  /** Package URL (`pkg:huggingface/owner/name@commit`). */
  purl?: string;
  /** Links. */
  externalReferences?: CdxExternalReference[];
  /** The model's files. */
  components?: CdxComponent[];
  /** The model card. */
  modelCard?: CdxModelCard;
  /** Licences the model states (model card, licence files). */
  licenses?: CdxLicense[];
  /** modelgate properties. */
  properties?: CdxProperty[];
}

/** A licence: an SPDX id, or a name for licences SPDX does not list (`llama3`, `openrail`). */
export type CdxLicense = { license: { id: string } } | { license: { name: string } };

/** A source of vulnerability information. */
export interface CdxSource {
  /** Name. */
  name: string;
  /** URL. */
  url?: string;
}

/** A finding as a CycloneDX vulnerability. */
export interface CdxVulnerability {
  /** Unique reference. */
  "bom-ref": string;
  /** The modelgate rule id. */
  id: string;
  /** modelgate and the rule's documentation. */
  source: CdxSource;
  /** CVE and GHSA identifiers. */
  references?: { id: string; source: CdxSource }[];
  /** Severity. */
  ratings: { source: CdxSource; severity: string; method: "other" }[];
  /** The rule's title. */
  description: string;
  /** The finding's message. */
  detail: string;
  /** For suppressed findings: the team's assessment. */
  analysis?: { state: "not_affected"; detail: string };
  /** The affected file component. */
  affects: { ref: string }[];
  /** Path within the file, offset and evidence. */
  properties?: CdxProperty[];
}

/** A CycloneDX 1.6 JSON document as modelgate emits it. */
export interface CycloneDxBom {
  /** Always `CycloneDX`. */
  bomFormat: "CycloneDX";
  /** Always `1.6`. */
  specVersion: "1.6";
  /** `urn:uuid:...`. */
  serialNumber: string;
  /** Document version. */
  version: 1;
  /** When and by what. */
  metadata: {
    /** When the (first) scan started. */
    timestamp: string;
    /** modelgate. */
    tools: { components: { type: "application"; name: string; version: string }[] };
  };
  /** One model per report. */
  components: CdxComponent[];
  /** Whether each model's inventory is complete. */
  compositions: { aggregate: "complete" | "incomplete"; assemblies: string[] }[];
  /** Findings. */
  vulnerabilities: CdxVulnerability[];
}

/** Options of {@link renderCycloneDx}. */
export interface CycloneDxOptions {
  /** `urn:uuid:` serial number (default: random). */
  serialNumber?: string;
}

const RULES_URL = "https://github.com/modelgate/modelgate/blob/main/docs/rules.md";
const MAX_PROPERTY = 2048;

const clip = (value: string): string =>
  value.length > MAX_PROPERTY ? `${value.slice(0, MAX_PROPERTY - 3)}...` : value;

/** A fact value as a property value: scalars as text, arrays of scalars comma-separated, else JSON. */
function factText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number")) {
    return value.join(",");
  }
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

const prop = (name: string, value: string | undefined): CdxProperty[] =>
  value === undefined || value === "" ? [] : [{ name, value: clip(value) }];

/** The signature result's fields, read defensively (the integrity analyzer defines it). */
function signatureProperties(signature: unknown): CdxProperty[] {
  if (signature === null || typeof signature !== "object") return prop("modelgate:signature:status", "unknown");
  const s = signature as Record<string, unknown>;
  // The OMS verifier's result nests who signed under `signer`.
  const signer = typeof s.signer === "object" && s.signer !== null ? (s.signer as Record<string, unknown>) : {};
  const text = (k: string) =>
    typeof s[k] === "string" ? (s[k] as string) : typeof signer[k] === "string" ? (signer[k] as string) : undefined;
  return [
    ...prop("modelgate:signature:status", text("status") ?? "unknown"),
    ...prop("modelgate:signature:method", text("method")),
    ...prop("modelgate:signature:identity", text("identity") ?? text("certificateSubject")),
    ...prop("modelgate:signature:issuer", text("issuer") ?? text("certificateIssuer")),
    ...prop("modelgate:signature:key-fingerprint", text("keyFingerprint")),
    ...prop("modelgate:signature:failed-stage", text("failedStage")),
    ...prop("modelgate:signature:path", text("signaturePath")),
  ];
}

function hashesOf(file: FileReport): CdxHash[] {
  const hashes: CdxHash[] = [];
  const sha256 = file.sha256 ?? file.hashes?.sha256;
  if (sha256 !== undefined) hashes.push({ alg: "SHA-256", content: sha256 });
  if (file.hashes?.blake2b !== undefined) hashes.push({ alg: "BLAKE2b-512", content: file.hashes.blake2b });
  if (file.hashes?.blake3 !== undefined) hashes.push({ alg: "BLAKE3", content: file.hashes.blake3 });
  return hashes;
}

/** Tensor descriptions (`{name, dtype, shape}`) as model-card inputs/outputs. */
function tensorsAsIO(value: unknown): CdxInputOutput[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const out: CdxInputOutput[] = [];
  for (const t of value.slice(0, 64)) {
    if (t === null || typeof t !== "object") continue;
    const { name, dtype, shape } = t as Record<string, unknown>;
    const dims = Array.isArray(shape) ? `[${shape.map((d) => String(d)).join(",")}]` : "";
    const label = [typeof dtype === "string" ? `${dtype}${dims}` : dims, typeof name === "string" ? `(${name})` : ""]
      .filter(Boolean)
      .join(" ");
    if (label !== "") out.push({ format: clip(`tensor ${label}`) });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * The model card: what the files' facts reveal. Facts from `config.json` win for the
 * architecture; numbers are summed per format (shards) and the largest format total is kept (a
 * repository often carries the same weights in several formats).
 */
/** The licences the files state (`license` facts), SPDX ids as ids and the rest by name. */
function licensesOf(reports: readonly FileReport[]): CdxLicense[] {
  const seen = new Set<string>();
  for (const f of reports) {
    const v = f.facts?.license;
    for (const l of Array.isArray(v) ? v : [v])
      if (typeof l === "string" && l !== "" && l !== "unrecognised") seen.add(l);
  }
  return [...seen].sort().map((l) => (isSpdxId(l) ? { license: { id: l } } : { license: { name: l } }));
}

function modelCardOf(reports: readonly FileReport[]): CdxModelCard | undefined {
  const files = reports.map((f) => ({ ...f, facts: canonicalFacts(f.facts) }));
  const first = (key: string): string | undefined => {
    const ordered = [...files].sort(
      (a, b) => Number(b.path.endsWith("config.json")) - Number(a.path.endsWith("config.json")),
    );
    for (const f of ordered) {
      const v = f.facts?.[key];
      if (typeof v === "string" && v !== "") return v;
    }
    return undefined;
  };
  // A file's count covers its members (report/facts.ts sums them); counts beyond 2^53 are strings.
  const largestTotal = (key: string): bigint | undefined => {
    const byFormat = new Map<string, bigint>();
    for (const f of files) {
      const v = countOf(f.facts?.[key]);
      if (v !== undefined) byFormat.set(f.format, (byFormat.get(f.format) ?? 0n) + v);
    }
    let largest: bigint | undefined;
    for (const total of byFormat.values()) if (largest === undefined || total > largest) largest = total;
    return largest;
  };
  const union = (key: string): string[] => {
    const set = new Set<string>();
    for (const f of files) {
      const v = f.facts?.[key];
      for (const item of Array.isArray(v) ? v : [v]) if (typeof item === "string" && item !== "") set.add(item);
    }
    return [...set].sort();
  };
  const scalars = (key: string): string[] => {
    const set = new Set<string>();
    for (const f of files) {
      const text = factText(f.facts?.[key]);
      if (text !== undefined) set.add(text);
    }
    return [...set];
  };
  const toolVersions = new Set<string>();
  for (const f of files) {
    const tv = f.facts?.toolVersions;
    if (tv !== null && typeof tv === "object" && !Array.isArray(tv)) {
      for (const [tool, version] of Object.entries(tv))
        if (typeof version === "string") toolVersions.add(`${tool}=${version}`);
    }
  }
  const params: NonNullable<CdxModelCard["modelParameters"]> = {};
  const task = first("task");
  if (task !== undefined) params.task = task;
  const family = first("modelType");
  if (family !== undefined) params.architectureFamily = family;
  const arch = first("architecture");
  if (arch !== undefined) params.modelArchitecture = arch;
  for (const key of ["inputs", "outputs"] as const) {
    for (const f of files) {
      const io = tensorsAsIO(f.facts?.[key]);
      if (io !== undefined) {
        params[key] = io;
        break;
      }
    }
  }
  const parameterCount = largestTotal("parameterCount");
  const tensorCount = largestTotal("tensorCount");
  const properties: CdxProperty[] = [
    ...prop("modelgate:parameterCount", parameterCount === undefined ? undefined : String(parameterCount)),
    ...prop("modelgate:tensorCount", tensorCount === undefined ? undefined : String(tensorCount)),
    ...prop("modelgate:dtypes", union("dtypes").join(",")),
    ...prop("modelgate:quantization", union("quantization").join(",")),
    ...prop("modelgate:opset", opsets(files).join(",")),
    ...prop("modelgate:contextLength", scalars("contextLength").join(",")),
    ...prop("modelgate:toolVersions", [...toolVersions].sort().join(",")),
  ];
  const card: CdxModelCard = {};
  if (Object.keys(params).length > 0) card.modelParameters = params;
  if (properties.length > 0) card.properties = properties;
  return Object.keys(card).length > 0 ? card : undefined;
}

/** Opsets as `domain=version` (`ai.onnx=13`), or the number when a file gives one. */
function opsets(files: readonly { facts: Record<string, unknown> }[]): string[] {
  const set = new Set<string>();
  for (const f of files) {
    const v = f.facts.opset;
    if (typeof v === "number" || typeof v === "string") set.add(String(v));
    else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [domain, version] of Object.entries(v)) {
        if (typeof version === "number" || typeof version === "string") set.add(`${domain || "ai.onnx"}=${version}`);
      }
    }
  }
  return [...set].sort();
}

const ADVISORY_SOURCE = (id: string): CdxSource =>
  id.startsWith("GHSA-")
    ? { name: "GitHub Advisory Database", url: `https://github.com/advisories/${id}` }
    : { name: "NVD", url: `https://nvd.nist.gov/vuln/detail/${id}` };

function vulnerabilityOf(
  finding: Finding | SuppressedFinding,
  file: FileReport,
  fileRef: string,
  ref: string,
): CdxVulnerability {
  const rule = getRule(finding.ruleId);
  const anchor = finding.ruleId.replace(/[^a-z0-9-]/g, "");
  const vuln: CdxVulnerability = {
    "bom-ref": ref,
    id: finding.ruleId,
    source: { name: "modelgate", url: `${RULES_URL}#${anchor}` },
    ratings: [{ source: { name: "modelgate" }, severity: finding.severity, method: "other" }],
    description: rule?.title ?? finding.ruleId,
    detail: clip(finding.message),
    affects: [{ ref: fileRef }],
  };
  if (finding.cve !== undefined && finding.cve.length > 0) {
    vuln.references = finding.cve.map((id) => ({ id, source: ADVISORY_SOURCE(id) }));
  }
  if ("suppression" in finding) {
    const s = finding.suppression;
    vuln.analysis = {
      state: "not_affected",
      detail: clip(
        `Suppressed by policy (rule ${s.rule}, path ${s.path}${s.expires === undefined ? "" : `, until ${s.expires}`}): ${s.reason}`,
      ),
    };
  }
  const properties = [
    ...(finding.path === file.path ? [] : prop("modelgate:path", finding.path)),
    ...prop("modelgate:offset", finding.offset === undefined ? undefined : String(finding.offset)),
    ...prop("modelgate:evidence", finding.evidence === undefined ? undefined : JSON.stringify(finding.evidence)),
  ];
  if (properties.length > 0) vuln.properties = properties;
  return vuln;
}

/**
 * A path as a `bom-ref` component: percent-encoded as in a URI (`%`, `#`, `:` and every
 * character that is not unreserved or a sub-delimiter), so injective and free of the `#` that
 * separates a ref's parts: the refs of `evil.pkl` and of a file named `evil.pkl#finding:0` never meet.
 * @param path - a report path
 */
export const refPathOf = (path: string): string => encodePathForUri(path);

/** The model's identity: Hub purl and name, or the scanned target's name. */
function identityOf(
  report: ScanReport,
): Pick<CdxComponent, "group" | "name" | "version" | "purl" | "externalReferences"> {
  const hub = report.target.hub;
  if (hub !== undefined) {
    const parts = hub.repo.split("/");
    const isModel = parts.length <= 2 && !["datasets", "spaces"].includes(parts[0] ?? "");
    const name = parts.at(-1) ?? hub.repo;
    const owner = parts.length === 2 ? parts[0] : undefined;
    const enc = encodeURIComponent;
    return {
      ...(owner === undefined ? {} : { group: owner }),
      name,
      version: hub.commit,
      ...(isModel
        ? {
            purl: `pkg:huggingface/${owner === undefined ? "" : `${enc(owner)}/`}${enc(name)}@${hub.commit.toLowerCase()}`,
          }
        : {}),
      externalReferences: [{ type: "distribution", url: `https://huggingface.co/${hub.repo}/tree/${hub.commit}` }],
    };
  }
  const trimmed = report.target.name.replace(/[\\/]+$/, "");
  return {
    name: trimmed.slice(Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1) || trimmed || "model",
  };
}

/**
 * Renders scan reports as one CycloneDX 1.6 JSON BOM: one `machine-learning-model` component per
 * report, its files nested as `file` components with SHA-256 (and BLAKE2b-512/BLAKE3 when computed),
 * findings as `vulnerabilities[]` (suppressed ones with an `analysis` saying why), the signature
 * result, verdict and policy as properties.
 * @param reports - one report or several (several targets)
 * @param options - serial number
 */
export function renderCycloneDx(
  reports: ScanReport | readonly ScanReport[],
  options: CycloneDxOptions = {},
): CycloneDxBom {
  const list: readonly ScanReport[] = Array.isArray(reports) ? reports : [reports as ScanReport];
  const components: CdxComponent[] = [];
  const vulnerabilities: CdxVulnerability[] = [];
  const compositions: CycloneDxBom["compositions"] = [];
  const usedRefs = new Set<string>();
  list.forEach((report, m) => {
    const identity = identityOf(report);
    // Two reports of one Hub revision share a purl: the second one is named by its index.
    const purl = identity.purl !== undefined && !usedRefs.has(identity.purl) ? identity.purl : undefined;
    const modelRef = purl ?? `modelgate:model:${m}`;
    usedRefs.add(modelRef);
    const files: CdxComponent[] = report.files.map((file) => {
      const facts = Object.entries(file.facts ?? {}).flatMap(([k, v]) => prop(`modelgate:fact:${k}`, factText(v)));
      const hashes = hashesOf(file);
      return {
        type: "file",
        "bom-ref": `${modelRef}#file:${refPathOf(file.path)}`,
        name: file.path,
        ...(hashes.length === 0 ? {} : { hashes }),
        properties: [
          ...prop("modelgate:format", file.formats.join(",")),
          ...prop("modelgate:size", String(file.size)),
          ...prop("modelgate:verdict", file.verdict),
          ...facts,
        ],
      };
    });
    const card = modelCardOf(report.files);
    const licenses = licensesOf(report.files);
    const policy = report.policy;
    components.push({
      type: "machine-learning-model",
      "bom-ref": modelRef,
      ...identity,
      ...(card === undefined ? {} : { modelCard: card }),
      ...(licenses.length === 0 ? {} : { licenses }),
      components: files,
      properties: [
        ...prop("modelgate:verdict", report.verdict),
        ...prop("modelgate:complete", String(report.complete)),
        // Files include/exclude left out: not analysed, so not listed as the model's components.
        ...prop("modelgate:skipped", report.skipped?.length ? String(report.skipped.length) : undefined),
        ...prop("modelgate:target", `${report.target.kind}:${report.target.name}`),
        ...prop("modelgate:hub:revision", report.target.hub?.revision),
        ...signatureProperties((report as { signature?: unknown }).signature),
        ...prop("modelgate:policy:hash", policy?.hash),
        ...prop("modelgate:policy:source", policy?.source),
      ],
    });
    const partial = !report.complete || (report.skipped?.length ?? 0) > 0;
    compositions.push({ aggregate: partial ? "incomplete" : "complete", assemblies: [modelRef] });
    report.files.forEach((file, i) => {
      const fileRef = files[i]!["bom-ref"];
      file.findings.forEach((f, j) => {
        vulnerabilities.push(vulnerabilityOf(f, file, fileRef, `${fileRef}#finding:${j}`));
      });
      (file.suppressed ?? []).forEach((f, j) => {
        vulnerabilities.push(vulnerabilityOf(f, file, fileRef, `${fileRef}#suppressed:${j}`));
      });
    });
  });
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: list[0]?.startedAt ?? new Date().toISOString(),
      tools: {
        components: [{ type: "application", name: "modelgate", version: list[0]?.tool.version ?? "unknown" }],
      },
    },
    components,
    compositions,
    vulnerabilities,
  };
}
