/**
 * Policy: how rule severities, disabled rules and allow/deny lists combine for one scan.
 * @module
 */
import { createHash } from "node:crypto";
import { ModelgateError } from "../errors.js";
import type { Severity } from "../report/schema.js";
import { getRule } from "./rules/index.js";

/** Caller-supplied policy overrides. */
export interface PolicyOptions {
  /** Severity per rule id, replacing the rule's default. */
  severity?: Record<string, Severity>;
  /** Rule ids whose findings are dropped. */
  disable?: string[];
  /** Extra pickle globals (`module.qualname`) treated as safe / as dangerous. */
  pickle?: {
    /** Globals to allow in addition to the built-in profiles (`a.b.C`, or `a.b.*` for a prefix). */
    allow?: string[];
    /** Globals to deny (critical) even when a profile allows them (`a.b` also covers `a.b.*`). */
    deny?: string[];
    /**
     * Allowlist profiles per artifact kind (`pickle`, `pytorch`, `torchscript`, `numpy`,
     * `joblib`), replacing the defaults. Names are built-in profiles (`builtins`, `torch`,
     * `numpy`, `sklearn`, `joblib`, `torchscript`) or `customProfiles` names.
     */
    profiles?: Partial<Record<"pickle" | "pytorch" | "torchscript" | "numpy" | "joblib", string[]>>;
    /** Profiles enabled in every context in addition to the defaults. */
    extraProfiles?: string[];
    /** Caller-defined profiles (see docs/pickle-policy.md). */
    customProfiles?: {
      /** Profile name, referenced from `profiles` / `extraProfiles`. */
      name: string;
      /** Names that may be called. */
      call?: string[];
      /** Names that may only be referenced or instantiated with NEWOBJ. */
      new?: string[];
      /** Dotted prefixes (ending in `.`) under which anything may be called. */
      prefixes?: string[];
    }[];
  };
}

/** A validated policy, ready for analyzers. */
export interface ResolvedPolicy {
  /** The options it was built from. */
  readonly options: Readonly<PolicyOptions>;
  /** SHA-256 of the canonical JSON of the options (recorded in reports, keys caches). */
  readonly hash: string;
  /**
   * Severity in force for a rule.
   * @param ruleId - rule identifier
   * @param requested - severity the analyzer asked for, when it differs from the rule default
   */
  severityOf(ruleId: string, requested?: Severity): Severity;
  /** Whether findings of this rule are dropped. */
  isDisabled(ruleId: string): boolean;
}

/**
 * Canonical JSON (sorted keys) of a value.
 * @param value - any JSON value
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Validates policy options and builds the {@link ResolvedPolicy}.
 * @param options - caller overrides
 * @throws ModelgateError `POLICY` when an override names an unknown rule
 */
export function resolvePolicy(options: PolicyOptions = {}): ResolvedPolicy {
  for (const id of [...Object.keys(options.severity ?? {}), ...(options.disable ?? [])]) {
    if (getRule(id) === undefined) throw new ModelgateError("POLICY", `policy names unknown rule "${id}"`);
  }
  const overrides = new Map(Object.entries(options.severity ?? {}));
  const disabled = new Set(options.disable ?? []);
  return {
    options,
    hash: createHash("sha256").update(canonicalJson(options)).digest("hex"),
    severityOf(ruleId, requested) {
      return overrides.get(ruleId) ?? requested ?? getRule(ruleId)?.severity ?? "medium";
    },
    isDisabled(ruleId) {
      return disabled.has(ruleId);
    },
  };
}
