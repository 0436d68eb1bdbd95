/**
 * Reads the small JSON configs that sit next to model weights (`config.json`, `model_index.json`,
 * `config_sentence_transformers.json`, Keras `metadata.json` ...) for what they say about the model
 * (architecture, model type) and the library versions that wrote it, and checks those versions
 * against known advisories and the policy's minimums.
 * @module
 */
import type { Analyzer, RepoAnalyzer, RepoContext } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { canonicalFacts } from "../../core/facts.js";
import type { Evidence } from "../../core/findings.js";
import { TOOL_ADVISORIES, TOOLS, type Tool } from "./advisories.js";

/** The `semver` package (all of it: ranges, comparison): loaded by the first recorded version checked. */
type Semver = typeof import("semver");

declare module "../../core/analyzer.js" {
  interface PolicySections {
    /**
     * Minimum version per library recorded in the model's configs (`transformers_version` ...);
     * below it is `policy/tool-version-below-minimum`.
     */
    readonly minimumVersions?: Partial<Record<Tool, string>> | undefined;
  }
}

/** Largest config file read (configs are a few KiB; tokenizer vocabularies are not configs). */
export const MAX_CONFIG_BYTES = 1 << 20;

const CONFIG_NAME = /(?:config[^/]*|^model_index|^metadata)\.json$/i;

/** A library version a file records, and where. */
export interface RecordedVersion {
  /** The library. */
  readonly tool: Tool;
  /** The version string as recorded. */
  readonly version: string;
  /** The JSON key (or fact) it came from. */
  readonly key: string;
}

/**
 * Converts a Python (PEP 440) version to semver: `4.48.0.dev0` → `4.48.0-dev.0` (before 4.48.0),
 * `2.1.0+cu121` → `2.1.0`, `3.0` → `3.0.0`, `1.2.3.post1` → `1.2.3`.
 * @param version - the version string
 * @returns the semver string, or undefined when it is not a version
 */
export function pythonVersionToSemver(version: string): string | undefined {
  const m =
    /^\s*v?(?:\d+!)?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?((?:\.\d{1,9})*)[-_.]?([A-Za-z]+)?[-_.]?(\d{1,9})?(\+[A-Za-z0-9.]*)?\s*$/.exec(
      version,
    );
  if (m === null) return undefined;
  const core = `${Number(m[1])}.${Number(m[2] ?? 0)}.${Number(m[3] ?? 0)}`;
  const tag = m[5]?.toLowerCase();
  if (tag === undefined || tag === "post" || tag === "r" || tag === "rev") {
    return tag === undefined && m[6] !== undefined ? undefined : core;
  }
  const known: Record<string, string> = { dev: "dev", a: "alpha", alpha: "alpha", b: "beta", beta: "beta" };
  const pre = known[tag] ?? (tag === "rc" || tag === "c" || tag === "pre" || tag === "preview" ? "rc" : undefined);
  if (pre === undefined) return undefined;
  return `${core}-${pre}.${Number(m[6] ?? 0)}`;
}

/**
 * The library versions a parsed config records.
 * @param json - the parsed config
 */
export function recordedVersions(json: unknown): RecordedVersion[] {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return [];
  const obj = json as Record<string, unknown>;
  const out: RecordedVersion[] = [];
  const add = (tool: Tool, value: unknown, key: string) => {
    if (typeof value === "string" && value.length > 0 && value.length <= 64) out.push({ tool, version: value, key });
  };
  add("transformers", obj.transformers_version, "transformers_version");
  add("keras", obj.keras_version, "keras_version");
  add("diffusers", obj._diffusers_version, "_diffusers_version");
  const nested = obj.__version__;
  if (nested !== null && typeof nested === "object" && !Array.isArray(nested)) {
    const v = nested as Record<string, unknown>;
    add("sentence-transformers", v.sentence_transformers, "__version__.sentence_transformers");
    add("transformers", v.transformers, "__version__.transformers");
    add("torch", v.pytorch, "__version__.pytorch");
  }
  return out;
}

/** What a config says about the model, as facts (see docs/architecture.md). */
function modelFacts(json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return {};
  const obj = json as Record<string, unknown>;
  const facts: Record<string, unknown> = {};
  const archs = obj.architectures;
  if (Array.isArray(archs) && typeof archs[0] === "string" && archs[0].length <= 200) facts.architecture = archs[0];
  else if (typeof obj._class_name === "string" && obj._class_name.length <= 200) facts.architecture = obj._class_name;
  if (typeof obj.model_type === "string" && obj.model_type.length <= 200) facts.modelType = obj.model_type;
  return facts;
}

function checkVersion(semver: Semver, ctx: RepoContext, path: string, recorded: RecordedVersion): void {
  const { tool, version, key } = recorded;
  const parsed = version.length <= 64 ? pythonVersionToSemver(version) : undefined;
  const evidence: Evidence = { tool, version: version.slice(0, 64), key };
  if (parsed !== undefined) {
    const hits = TOOL_ADVISORIES.filter(
      (a) => a.tool === tool && semver.satisfies(parsed, a.range, { includePrerelease: true }),
    );
    if (hits.length > 0) {
      const fixed = hits
        .map((a) => a.fixed)
        .sort(semver.compare)
        .at(-1)!;
      ctx.report(path, {
        ruleId: "policy/vulnerable-tool-version",
        message: `records ${tool} ${version}, affected by ${hits.map((a) => a.ids[0]).join(", ")} (${hits.map((a) => a.summary).join("; ")}); load it only with ${tool} >= ${fixed}`,
        evidence: { ...evidence, fixed },
        cve: [...new Set(hits.flatMap((a) => a.ids))],
      });
    }
  }
  const minimum = ctx.policy.options.minimumVersions?.[tool];
  if (minimum !== undefined && (parsed === undefined || semver.lt(parsed, minimum))) {
    ctx.report(path, {
      ruleId: "policy/tool-version-below-minimum",
      message:
        parsed === undefined
          ? `records ${tool} version "${version.slice(0, 64)}", which cannot be compared with the policy minimum ${minimum}`
          : `records ${tool} ${version}, below the policy minimum ${minimum}`,
      evidence: { ...evidence, minimum },
    });
  }
}

/**
 * Reads configs (`config.json`, `*_config.json`, `model_index.json`, `metadata.json`) as the engine
 * analyses them, from bytes it has already read: records `architecture`, `modelType` and
 * `toolVersions` facts. The checks run once per scan in {@link configAnalyzer}.
 */
export const configFactsAnalyzer: Analyzer = {
  name: "config-facts",
  formats: ["json"],
  async analyze(ctx) {
    const size = ctx.source.size;
    // By base name at any depth (a top-level file's name can be its path relative to the scan root).
    if (!CONFIG_NAME.test(ctx.name.slice(ctx.name.lastIndexOf("/") + 1)) || size > MAX_CONFIG_BYTES || size < 2) return;
    const bytes = ctx.head.length >= size ? ctx.head : await readExact(ctx.source, 0, size);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
    } catch {
      return; // Not JSON: the file's own analysis reports it.
    }
    for (const [key, value] of Object.entries(modelFacts(json))) ctx.fact(key, value);
    const versions = recordedVersions(json);
    if (versions.length > 0) ctx.fact("toolVersions", Object.fromEntries(versions.map((v) => [v.tool, v.version])));
  },
};

/**
 * The repository analyzer for tool versions: `policy/vulnerable-tool-version` /
 * `policy/tool-version-below-minimum` findings for every `toolVersions` fact (recorded from configs
 * by {@link configFactsAnalyzer}, and by format analyzers from Keras archives and HDF5 attributes).
 */
export const configAnalyzer: RepoAnalyzer = {
  name: "tool-versions",
  async analyze(ctx) {
    // Most scans record no tool version: semver (47 modules) loads with the first one.
    let semver: Semver | undefined;
    for (const file of ctx.files) {
      if (ctx.signal.aborted) return;
      const facts = canonicalFacts(file.facts).toolVersions;
      if (facts === null || typeof facts !== "object" || Array.isArray(facts)) continue;
      for (const [tool, version] of Object.entries(facts as Record<string, unknown>)) {
        if (!(TOOLS as readonly string[]).includes(tool) || typeof version !== "string") continue;
        semver ??= (await import("semver")).default;
        checkVersion(semver, ctx, file.path, { tool: tool as Tool, version, key: "toolVersions" });
      }
    }
  },
};
