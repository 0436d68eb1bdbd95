/**
 * Policy: how rule severities, disabled rules, suppressions, allow/deny lists, signature and
 * version requirements and budgets combine for one scan. A policy file (`.modelgate.json`) holds
 * exactly these options as JSON. This module holds the types and the file format's zod schema
 * (`validatePolicy`); building a resolved policy is in `resolve.ts`, which loads this module only
 * for a policy other than the default one.
 * @module
 */
// Only `valid`: the package's index loads every module of semver (47 files).
import validVersion from "semver/functions/valid.js";
import { z } from "zod";
import { ModelgateError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import type { Severity } from "../core/severity.js";
import { TOOLS, type Tool } from "../formats/hf/advisories.js";
import { PICKLE_CONTEXTS, type PicklePolicyOptions } from "../formats/pickle/policy/index.js";
import { SIGNATURE_METHODS, type SignatureRequirement } from "../integrity/oms/requirement.js";
import { getRule, RULES } from "../registry/rules.js";
import { SeveritySchema } from "../report/schema.js";
import { compileGlob } from "./glob.js";
import { resolveValidatedPolicy } from "./resolve.js";

export { publicKeyFingerprint, SIGNATURE_METHODS, type SignatureRequirement } from "../integrity/oms/requirement.js";

/** A finding the team has reviewed and accepts, for a rule and a set of paths. */
export interface Suppression {
  /** Rule id (`pickle/unsafe-global`), or every rule of an area (`pickle/*`). */
  rule: string;
  /**
   * Path glob the finding's path must match (see `compileGlob`): relative to the policy file's
   * directory when that contains the scanned files, else to the scanned directory (never both: see
   * `policyAnchor`). The finding's top-level file also counts, so `model.pt` covers findings in
   * `model.pt!archive/data.pkl`.
   */
  path: string;
  /** Why the finding is accepted (mandatory; shown in reports). */
  reason: string;
  /** Last day (UTC, `YYYY-MM-DD`) the suppression applies; after it, the finding counts again. */
  expires?: string;
}

/** Caller-supplied policy overrides. The JSON of a policy file has exactly this shape. */
export interface PolicyOptions {
  /** Severity per rule id, replacing the rule's default. */
  severity?: Record<string, Severity>;
  /** Rule ids whose findings are dropped (rules meaning "could not be analysed" cannot be). */
  disable?: string[];
  /** Reviewed findings that no longer count (they stay visible in `files[].suppressed`). */
  suppressions?: Suppression[];
  /** Extra pickle globals (`module.qualname`) treated as safe / as dangerous, and the allowlist profiles. */
  pickle?: PicklePolicyOptions;
  /** Signature requirement: an unsigned or unverified model fails (`policy/signature-required`). */
  signature?: SignatureRequirement;
  /**
   * Minimum version per library recorded in the model's configs (`transformers_version` ...);
   * below it is `policy/tool-version-below-minimum`.
   */
  minimumVersions?: Partial<Record<Tool, string>>;
  /** Licences to flag (`license/flagged`): SPDX ids or Hugging Face slugs, case-insensitive. */
  licenses?: { flag?: string[] };
  /** Budgets; explicit `ScanOptions.limits` win over these. */
  limits?: Partial<Limits>;
  /** Where the policy came from (a file path); recorded in reports, not part of the hash. */
  source?: string;
}

/** What happens to one finding under a policy. */
export type FindingDecision =
  | { readonly action: "drop" }
  | { readonly action: "keep"; readonly severity: Severity }
  | { readonly action: "suppress"; readonly severity: Severity; readonly suppression: Readonly<Suppression> };

/** A suppression and what it did during one scan. */
export interface SuppressionUse extends Suppression {
  /** `expired` suppressions no longer apply. */
  status: "active" | "expired";
  /** Findings it matched (for expired ones: findings it would have suppressed). */
  matched: number;
}

/** A validated policy, ready for analyzers. */
export interface ResolvedPolicy {
  /** The options it was built from. */
  readonly options: Readonly<PolicyOptions>;
  /** SHA-256 of the canonical JSON of the options, `source` excluded (recorded in reports, keys caches). */
  readonly hash: string;
  /**
   * What a stored decision depends on: {@link ResolvedPolicy.hash}, and which suppressions had
   * expired when the policy was resolved (equal to `hash` when no suppression has an expiry date).
   * Keys verdict caches and service jobs, so a result decided under a suppression is not reused once
   * that suppression has expired.
   */
  readonly decisionsHash: string;
  /**
   * Severity in force for a rule.
   * @param ruleId - rule identifier
   * @param requested - severity the analyzer asked for, when it differs from the rule default
   */
  severityOf(ruleId: string, requested?: Severity): Severity;
  /** Whether findings of this rule are dropped. */
  isDisabled(ruleId: string): boolean;
  /**
   * Decides what happens to a finding (dropped, kept at a severity, or suppressed) and counts
   * suppression matches.
   * @param ruleId - the finding's rule
   * @param path - the finding's path (`dir/model.pt!archive/data.pkl`)
   * @param requested - severity the analyzer asked for
   * @param file - the top-level file the finding belongs to (default: `path` up to its first `!`);
   *   `path` is that file or one of its members. Both are matched under one anchoring (see
   *   {@link ResolveOptions.pathPrefix}). A file whose anchored path holds `!`, the member
   *   separator, cannot be told from a member path: its findings are never suppressed.
   */
  decide(ruleId: string, path: string, requested?: Severity, file?: string): FindingDecision;
  /** Every suppression with its status and match count so far. */
  suppressionUses(): SuppressionUse[];
}

/** Options of {@link resolvePolicy}. */
export interface ResolveOptions {
  /** The clock for suppression expiry (default: now). */
  now?: Date;
  /**
   * Path of the scanned directory relative to the policy file's directory (POSIX, e.g. `models`),
   * when the policy file's directory contains it: suppression globs then match `models/<path>`
   * only (globs are written relative to the policy file; the bare `<path>` is not matched, or a
   * glob for `models/x.pkl` would cover `models/sub/models/x.pkl` scanned as `models/sub`).
   * Computed by `policyAnchor`.
   */
  pathPrefix?: string;
  /**
   * The target is a single local file outside the policy file's directory: it has no path the
   * policy's globs can name (only its base name, which any file shares), so no suppression applies
   * to its findings. Computed by `policyAnchor`.
   */
  unanchored?: boolean;
}

const LIMIT_KEYS = [
  "maxReadBytes",
  "maxDepth",
  "maxEntries",
  "maxDecompressedBytes",
  "maxCompressionRatio",
  "fileTimeoutMs",
  "scanTimeoutMs",
  "maxDirectoryDepth",
  "maxFileBytes",
  "maxFiles",
] as const satisfies readonly (keyof Limits)[];

const AREAS = new Set(RULES.map((r) => r.id.split("/")[0]!));
const GLOBAL = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const GLOBAL_OR_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\.\*|(?:\.[A-Za-z_][A-Za-z0-9_]*))$/;

const unknownRule = (id: string): string => `unknown rule "${id}" (see docs/rules.md)`;
const notAnalysable = (id: string): string =>
  `"${id}" means a file could not be analysed; it cannot be disabled or suppressed (a file that was not read is never clean)`;

/** Zod schema of {@link PolicyOptions}: the policy file format. */
export const PolicyOptionsSchema = z
  .strictObject({
    $schema: z.string().optional(),
    /** Notes for readers (`modelgate init` writes them); ignored, not part of the policy hash. */
    $comment: z.union([z.string(), z.array(z.string())]).optional(),
    severity: z.record(z.string(), SeveritySchema).superRefine((record, ctx) => {
      for (const id of Object.keys(record)) {
        if (getRule(id) === undefined) ctx.addIssue({ code: "custom", path: [id], message: unknownRule(id) });
      }
    }),
    disable: z.array(
      z.string().superRefine((id, ctx) => {
        const rule = getRule(id);
        if (rule === undefined) ctx.addIssue({ code: "custom", message: unknownRule(id) });
        else if (rule.invalidates === true) ctx.addIssue({ code: "custom", message: notAnalysable(id) });
      }),
    ),
    suppressions: z.array(
      z.strictObject({
        rule: z.string({ error: "required: the rule id (or area/*) to suppress" }).superRefine((id, ctx) => {
          const area = id.endsWith("/*") ? id.slice(0, -2) : undefined;
          if (area !== undefined) {
            if (!AREAS.has(area)) ctx.addIssue({ code: "custom", message: `unknown rule area "${area}"` });
            return;
          }
          const rule = getRule(id);
          if (rule === undefined) ctx.addIssue({ code: "custom", message: unknownRule(id) });
          else if (rule.invalidates === true) ctx.addIssue({ code: "custom", message: notAnalysable(id) });
        }),
        path: z.string({ error: "required: a path glob such as models/**" }).superRefine((glob, ctx) => {
          try {
            compileGlob(glob);
          } catch (error) {
            ctx.addIssue({ code: "custom", message: (error as Error).message });
          }
        }),
        reason: z
          .string({ error: "required: say why this finding is accepted" })
          .trim()
          .min(1, "required: say why this finding is accepted"),
        expires: z.iso.date({ error: "must be a date, YYYY-MM-DD" }).optional(),
      }),
    ),
    pickle: z.strictObject({
      allow: z
        .array(
          z.string().regex(GLOBAL_OR_PREFIX, "must be module.qualname or a prefix.*, e.g. collections.OrderedDict"),
        )
        .optional(),
      deny: z
        .array(z.string().regex(GLOBAL_OR_PREFIX, "must be module.qualname or a prefix.*, e.g. builtins.eval"))
        .optional(),
      profiles: z.partialRecord(z.enum(PICKLE_CONTEXTS), z.array(z.string().min(1))).optional(),
      extraProfiles: z.array(z.string().min(1)).optional(),
      customProfiles: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            call: z.array(z.string().regex(GLOBAL, "must be module.qualname")).optional(),
            new: z.array(z.string().regex(GLOBAL, "must be module.qualname")).optional(),
            prefixes: z
              .array(z.string().regex(/^[A-Za-z_][\w.]*\.$/, "must be a dotted prefix ending in '.'"))
              .optional(),
          }),
        )
        .optional(),
    }),
    signature: z
      .strictObject({
        required: z.boolean().optional(),
        method: z.enum(SIGNATURE_METHODS).optional(),
        identity: z.string().min(1).optional(),
        issuer: z.string().min(1).optional(),
        key: z
          .string()
          .superRefine((pem, ctx) => {
            try {
              process.getBuiltinModule("node:crypto").createPublicKey(pem);
            } catch {
              ctx.addIssue({ code: "custom", message: "not a PEM public key" });
            }
          })
          .optional(),
      })
      .superRefine((sig, ctx) => {
        if (sig.key !== undefined && sig.method !== undefined && sig.method !== "key") {
          ctx.addIssue({
            code: "custom",
            path: ["key"],
            message: `a key applies to method "key", not "${sig.method}"`,
          });
        }
        if (sig.method === "key" && (sig.identity !== undefined || sig.issuer !== undefined)) {
          ctx.addIssue({ code: "custom", path: ["method"], message: 'method "key" has no identity or issuer' });
        }
      }),
    minimumVersions: z.record(z.string(), z.string()).superRefine((record, ctx) => {
      for (const [tool, version] of Object.entries(record)) {
        if (!(TOOLS as readonly string[]).includes(tool)) {
          ctx.addIssue({ code: "custom", path: [tool], message: `unknown tool (one of ${TOOLS.join(", ")})` });
        } else if (validVersion(version) === null) {
          ctx.addIssue({ code: "custom", path: [tool], message: `"${version}" is not a version like 4.48.0` });
        }
      }
    }),
    licenses: z.strictObject({
      flag: z.array(z.string().min(1).max(200)).max(1000).optional(),
    }),
    limits: z.strictObject(
      Object.fromEntries(LIMIT_KEYS.map((k) => [k, z.number().positive().optional()])) as Record<
        (typeof LIMIT_KEYS)[number],
        z.ZodOptional<z.ZodNumber>
      >,
    ),
    source: z.string().optional(),
  })
  .partial();

/**
 * Formats zod issues as `field.path: message` lines.
 * @param issues - zod issues
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      let path = "";
      for (const key of issue.path) {
        if (typeof key === "number") path += `[${key}]`;
        else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) path += path === "" ? key : `.${key}`;
        else path += `[${JSON.stringify(String(key))}]`;
      }
      const message =
        issue.code === "unrecognized_keys"
          ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
          : issue.message;
      return path === "" ? message : `${path}: ${message}`;
    })
    .join("; ");
}

/**
 * Validates policy options (the content of a policy file).
 * @param input - parsed JSON or caller options
 * @param where - name of the policy for messages (a file path)
 * @throws ModelgateError `POLICY` naming every bad field
 */
export function validatePolicy(input: unknown, where = "policy"): PolicyOptions {
  const parsed = PolicyOptionsSchema.safeParse(input);
  if (!parsed.success) throw new ModelgateError("POLICY", `${where}: ${formatIssues(parsed.error.issues)}`);
  const { $schema: _schema, $comment: _comment, ...options } = parsed.data;
  return options as PolicyOptions;
}

export { canonicalJson } from "../core/json.js";
export { MAX_SUPPRESSIBLE_PATH, policyAnchor } from "./resolve.js";

/**
 * Validates policy options and builds the {@link ResolvedPolicy}.
 * @param options - caller overrides
 * @param resolve - the clock for suppression expiry
 * @throws ModelgateError `POLICY` naming the bad field
 */
export function resolvePolicy(options: PolicyOptions = {}, resolve: ResolveOptions = {}): ResolvedPolicy {
  return resolveValidatedPolicy(validatePolicy(options), resolve);
}
