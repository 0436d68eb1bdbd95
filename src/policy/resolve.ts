/**
 * Building a {@link ResolvedPolicy} from validated options, without zod: the default policy (no
 * options) needs no validation, so a scan under it loads no schema. Any other policy goes through
 * `validatePolicy` (`policy.ts`, the zod schema of the policy file format) first: the scan engine
 * calls {@link validatePolicyAsync} and {@link resolvePolicyAsync}, which load that module only then.
 * @module
 */
import { dirname, isAbsolute, relative, resolve as resolvePath, sep } from "node:path";
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
 * Where a local scan's finding paths are anchored for suppression globs (the `pathPrefix` and
 * `unanchored` of {@link ResolveOptions}), from the policy file and the scanned folder:
 * - the policy file's folder contains the scanned folder: globs are relative to the policy file's
 *   folder (`pathPrefix` is the scanned folder relative to it, none when they are the same);
 * - otherwise paths are absolute (`pathPrefix` is the scanned folder's absolute path): a
 *   suppression for a target outside the policy's folder names where it is, and a relative glob
 *   matches nothing there (it would match any download with the same layout).
 * Remote targets, caller bytes and policies without a file (`source`) keep scan-relative paths.
 * @param source - the policy file (`PolicyOptions.source`)
 * @param localDir - the scanned folder (a file target: the folder holding it)
 * @param _targetKind - the target's kind (`file`, `directory` ...): a file and a directory are anchored alike
 */
export function policyAnchor(
  source: string | undefined,
  localDir: string | undefined,
  _targetKind: string,
): Pick<ResolveOptions, "pathPrefix" | "unanchored"> {
  if (source === undefined || source === "" || localDir === undefined) return {};
  const rel = relative(dirname(resolvePath(source)), resolvePath(localDir))
    .split(sep)
    .join("/");
  if (rel === "") return {};
  // A scan outside the policy file's folder (a sibling, a parent, elsewhere): its paths are
  // anchored at the filesystem root, so a suppression names where the reviewed files are
  // (`/srv/models/bert/kernels/*.so`); a relative glob (`kernels/*.so`) would let any download
  // with the same layout take a reviewed model's exceptions.
  if (rel === ".." || rel.startsWith("../") || isAbsolute(rel)) {
    const absolute = resolvePath(localDir).split(sep).join("/").replace(/\/+$/, "");
    return absolute === "" ? { unanchored: true } : { pathPrefix: absolute };
  }
  return { pathPrefix: rel };
}

/**
 * Builds the {@link ResolvedPolicy} of options that `validatePolicy` returned (or `{}`).
 * @param valid - validated options
 * @param resolve - the clock for suppression expiry, the path prefix
 */
export function resolveValidatedPolicy(valid: PolicyOptions, resolve: ResolveOptions = {}): ResolvedPolicy {
  const now = (resolve.now ?? new Date()).getTime();
  const prefix = resolve.pathPrefix?.replace(/\/+$/, "") || undefined;
  const unanchored = resolve.unanchored === true;
  /** The one path a finding is matched under: relative to the policy file's folder when inside it. */
  const anchored = (p: string): string => (prefix === undefined ? p : `${prefix}/${p}`);
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
  // What else a stored decision depends on: which suppressions had expired, and (with any
  // suppression) where finding paths are anchored: the same file scanned from another folder is
  // matched under another path.
  const depends: string[] = [];
  if (suppressions.some((e) => e.suppression.expires !== undefined)) {
    depends.push(`expired:${suppressions.map((e) => (e.expired ? "1" : "0")).join("")}`);
  }
  if (suppressions.length > 0 && (prefix !== undefined || unanchored)) {
    depends.push(unanchored ? "unanchored" : `anchor:${prefix}`);
  }
  return {
    options: valid,
    hash,
    decisionsHash: depends.length === 0 ? hash : sha256Hex(`${hash}\0${depends.join("\0")}`),
    severityOf,
    isDisabled: (ruleId) => disabled.has(ruleId),
    decide(ruleId, path, requested, file = path.split("!")[0] ?? path) {
      if (disabled.has(ruleId)) return { action: "drop" };
      const severity = severityOf(ruleId, requested);
      if (getRule(ruleId)?.invalidates === true) return { action: "keep", severity };
      // A single file outside the policy file's folder has no path the policy's globs name.
      if (unanchored) return { action: "keep", severity };
      // One anchoring for every candidate: the finding's path and its top-level file, both relative
      // to the policy file's folder when it contains the scan, else to the scanned folder. Never
      // also the unprefixed path: a glob written for one file would match a namesake in a subfolder.
      const full = anchored(path);
      const fullFile = anchored(file);
      // Globs never see overlong (hostile) member paths: such findings are kept, never suppressed.
      if (full.length > MAX_SUPPRESSIBLE_PATH) return { action: "keep", severity };
      // `legacy.zip!payload.pkl` as a file's (or a folder's) own name would match what is written
      // for the members of `legacy.zip`: no suppression applies to a file whose anchored path holds
      // the member separator. A path that is not the file's own or one of its members is not
      // matched either (the file candidate would stand for something else).
      if (fullFile.includes("!") || (path !== file && !path.startsWith(`${file}!`))) {
        return { action: "keep", severity };
      }
      const candidates = full === fullFile ? [full] : [full, fullFile];
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
