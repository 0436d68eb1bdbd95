/**
 * Building a {@link ResolvedPolicy} from validated options, without zod: the default policy (no
 * options) needs no validation, so a scan under it loads no schema. Any other policy goes through
 * `validatePolicy` (`policy.ts`, the zod schema of the policy file format) first: the scan engine
 * calls {@link validatePolicyAsync} and {@link resolvePolicyAsync}, which load that module only then.
 * @module
 */
import { canonicalJson } from "../core/json.js";
import type { Severity } from "../core/severity.js";
import { sha256Hex } from "../core/sha256.js";
import { getRule } from "../registry/rules.js";
import { compileGlob } from "./glob.js";
import type { PolicyOptions, ResolvedPolicy, ResolveOptions, Suppression } from "./policy.js";

/** Longest finding path a suppression glob is matched against (longer ones are never suppressed). */
export const MAX_SUPPRESSIBLE_PATH = 4096;

/**
 * Whether policy input is the default policy: absent, or a plain object with no own keys. What
 * `validatePolicy` makes of it is `{}`, so it needs no schema.
 * @param input - policy options as a caller gave them
 */
export function isDefaultPolicy(input: unknown): boolean {
  if (input === undefined) return true;
  if (typeof input !== "object" || input === null) return false;
  const proto: unknown = Object.getPrototypeOf(input);
  return (proto === Object.prototype || proto === null) && Reflect.ownKeys(input).length === 0;
}

/**
 * `validatePolicy`, loading the schema only for a policy other than the default one.
 * @param input - parsed JSON or caller options (undefined: the default policy)
 * @param where - name of the policy for messages (a file path)
 * @throws ModelgateError `POLICY` naming every bad field
 */
export async function validatePolicyAsync(input: unknown, where?: string): Promise<PolicyOptions> {
  if (isDefaultPolicy(input)) return {};
  const { validatePolicy } = await import("./policy.js");
  return validatePolicy(input, where);
}

/**
 * `resolvePolicy`, loading the schema only for a policy other than the default one.
 * @param options - caller overrides (undefined: the default policy)
 * @param resolve - the clock for suppression expiry, the path prefix
 * @throws ModelgateError `POLICY` naming the bad field
 */
export async function resolvePolicyAsync(
  options: PolicyOptions | undefined,
  resolve: ResolveOptions = {},
): Promise<ResolvedPolicy> {
  return resolveValidatedPolicy(await validatePolicyAsync(options), resolve);
}

/** End of the expiry day, UTC. */
const expiryEnd = (date: string): number => Date.parse(`${date}T23:59:59.999Z`);

/**
 * Builds the {@link ResolvedPolicy} of options that `validatePolicy` returned (or `{}`).
 * @param valid - validated options
 * @param resolve - the clock for suppression expiry, the path prefix
 */
export function resolveValidatedPolicy(valid: PolicyOptions, resolve: ResolveOptions = {}): ResolvedPolicy {
  const now = (resolve.now ?? new Date()).getTime();
  const prefix = resolve.pathPrefix?.replace(/\/+$/, "") || undefined;
  const overrides = new Map(Object.entries(valid.severity ?? {}));
  const disabled = new Set(valid.disable ?? []);
  const { source: _source, ...hashed } = valid;
  const suppressions = (valid.suppressions ?? []).map((s) => ({
    suppression: s,
    glob: compileGlob(s.path),
    expired: s.expires !== undefined && now > expiryEnd(s.expires),
    matched: 0,
  }));
  const severityOf = (ruleId: string, requested?: Severity): Severity =>
    overrides.get(ruleId) ?? requested ?? getRule(ruleId)?.severity ?? "medium";
  const hash = sha256Hex(canonicalJson(hashed));
  const expiring = suppressions.some((e) => e.suppression.expires !== undefined);
  return {
    options: valid,
    hash,
    decisionsHash: expiring
      ? sha256Hex(`${hash}\0expired:${suppressions.map((e) => (e.expired ? "1" : "0")).join("")}`)
      : hash,
    severityOf,
    isDisabled: (ruleId) => disabled.has(ruleId),
    decide(ruleId, path, requested, file = path.split("!")[0] ?? path) {
      if (disabled.has(ruleId)) return { action: "drop" };
      const severity = severityOf(ruleId, requested);
      if (getRule(ruleId)?.invalidates === true) return { action: "keep", severity };
      // Globs never see overlong (hostile) member paths: such findings are kept, never suppressed.
      if (path.length > MAX_SUPPRESSIBLE_PATH) return { action: "keep", severity };
      // `legacy.zip!payload.pkl` as a file's own name would match what is written for the members of
      // `legacy.zip`: no suppression applies to a file whose name holds the member separator.
      if (file.includes("!")) return { action: "keep", severity };
      const candidates = prefix === undefined ? [path, file] : [path, file, `${prefix}/${path}`, `${prefix}/${file}`];
      let active: Suppression | undefined;
      for (const entry of suppressions) {
        const s = entry.suppression;
        const ruleMatches = s.rule === ruleId || (s.rule.endsWith("/*") && ruleId.startsWith(s.rule.slice(0, -1)));
        if (!ruleMatches || !candidates.some((c) => entry.glob.test(c))) continue;
        entry.matched++;
        if (!entry.expired) active ??= s;
      }
      return active === undefined
        ? { action: "keep", severity }
        : { action: "suppress", severity, suppression: active };
    },
    suppressionUses: () =>
      suppressions.map((e) => ({ ...e.suppression, status: e.expired ? "expired" : "active", matched: e.matched })),
  };
}
