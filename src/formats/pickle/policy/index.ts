/**
 * Pickle policy: which globals a pickle may import or call. Deny by default: a name is allowed
 * only when an enabled allowlist profile lists it exactly; a name matching the denylist is
 * critical or high; anything else is unknown (medium). A denied module is also denied under the
 * names of its implementation twins (`_sqlite3`, `_pyio`, `_tkinter` ...), derived from the list by
 * rule plus the irregular ones `denylist.json` names (`aliases`), so the C or pure-Python copy of a
 * dangerous module is not merely unknown. Profiles and the denylist are data files
 * in this folder, next to the engine's semantic tables (`semantics.json`, read by `../pymodel.ts`);
 * callers extend them through {@link PicklePolicyOptions} (`PolicyOptions.pickle`).
 * @module
 */
import { ModelgateError } from "../../../core/errors.js";
import type { Severity } from "../../../core/severity.js";
import denylist from "./denylist.json" with { type: "json" };
import builtinsProfile from "./profiles/builtins.json" with { type: "json" };
import gensimProfile from "./profiles/gensim.json" with { type: "json" };
import joblibProfile from "./profiles/joblib.json" with { type: "json" };
import networkxProfile from "./profiles/networkx.json" with { type: "json" };
import nltkProfile from "./profiles/nltk.json" with { type: "json" };
import numpyProfile from "./profiles/numpy.json" with { type: "json" };
import pandasProfile from "./profiles/pandas.json" with { type: "json" };
import sklearnProfile from "./profiles/sklearn.json" with { type: "json" };
import statsmodelsProfile from "./profiles/statsmodels.json" with { type: "json" };
import torchProfile from "./profiles/torch.json" with { type: "json" };
import torchscriptProfile from "./profiles/torchscript.json" with { type: "json" };
import xgboostProfile from "./profiles/xgboost.json" with { type: "json" };

/** What kind of artifact a pickle belongs to; it selects the allowlist profiles. */
export type PickleContext = "pickle" | "pytorch" | "torchscript" | "numpy" | "joblib";

/** Every {@link PickleContext} (the keys a policy's `pickle.profiles` may have). */
export const PICKLE_CONTEXTS = Object.freeze([
  "pickle",
  "pytorch",
  "torchscript",
  "numpy",
  "joblib",
] as const) satisfies readonly PickleContext[];

/** An allowlist profile. */
export interface PickleProfile {
  /** Profile name. */
  readonly name: string;
  /** What it covers. */
  readonly description?: string;
  /** Names that may be called (REDUCE, INST, OBJ) as well as referenced and instantiated. */
  readonly call: readonly string[];
  /** Names that may only be referenced or instantiated with NEWOBJ (`cls.__new__`). */
  readonly new: readonly string[];
  /** Dotted prefixes (ending in `.`) under which every name may be called. */
  readonly prefixes?: readonly string[];
}

/** The built-in profiles, by name. */
export const BUILTIN_PROFILES: Readonly<Record<string, PickleProfile>> = Object.freeze({
  builtins: builtinsProfile,
  torch: torchProfile,
  numpy: numpyProfile,
  sklearn: sklearnProfile,
  joblib: joblibProfile,
  torchscript: torchscriptProfile,
  xgboost: xgboostProfile,
  pandas: pandasProfile,
  networkx: networkxProfile,
  gensim: gensimProfile,
  nltk: nltkProfile,
  statsmodels: statsmodelsProfile,
});

/** Library-save profiles (generated, every load-time hook of a listed class reviewed: docs/pickle-policy.md). */
const LIBRARY_SAVES = ["networkx", "gensim", "nltk", "statsmodels"] as const;

/** Profiles enabled in each context unless the caller says otherwise. */
export const DEFAULT_CONTEXT_PROFILES: Readonly<Record<PickleContext, readonly string[]>> = Object.freeze({
  pickle: ["builtins", "torch", "numpy", "sklearn", "joblib", "xgboost", "pandas", ...LIBRARY_SAVES],
  pytorch: ["builtins", "torch", "numpy"],
  torchscript: ["builtins", "torch", "numpy", "torchscript"],
  numpy: ["builtins", "numpy"],
  joblib: ["builtins", "numpy", "sklearn", "joblib", "xgboost", "pandas", ...LIBRARY_SAVES],
});

/**
 * Pickle settings of a policy (`PolicyOptions.pickle`): extra pickle globals (`module.qualname`)
 * treated as safe / as dangerous, and the allowlist profiles in force.
 */
export interface PicklePolicyOptions {
  /** Globals to allow in addition to the built-in profiles (`a.b.C`, or `a.b.*` for a prefix). */
  allow?: string[];
  /** Globals to deny (critical) even when a profile allows them (`a.b` also covers `a.b.*`). */
  deny?: string[];
  /**
   * Allowlist profiles per artifact kind (`pickle`, `pytorch`, `torchscript`, `numpy`,
   * `joblib`), replacing the defaults. Names are built-in profiles (`builtins`, `torch`,
   * `numpy`, `sklearn`, `joblib`, `torchscript`, `xgboost`, `pandas`, `networkx`, `gensim`, `nltk`,
   * `statsmodels`) or `customProfiles` names.
   */
  profiles?: Partial<Record<PickleContext, string[]>>;
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
}

/** How a name is used by the stream. */
export type PickleUse = "ref" | "new" | "call";

/** The policy's decision about one name. */
export interface Classification {
  /** allowed by a profile or the caller; denied by the denylist or the caller; unknown otherwise. */
  readonly status: "allowed" | "denied" | "unknown";
  /** Severity of a finding about it (info when allowed). */
  readonly severity: Severity;
  /** For allowed names: the most the stream may do with it. */
  readonly allowedUse?: "new" | "call";
  /** Denylist category (or `policy` for caller denials). */
  readonly category?: string;
  /** Why, in a few words. */
  readonly reason: string;
  /** The entry that matched. */
  readonly matched?: string;
  /** The profile that allowed it. */
  readonly profile?: string;
}

interface DenyEntry {
  readonly parts: readonly string[];
  readonly text: string;
  readonly category: string;
  readonly severity: Severity;
  readonly description: string;
}

const COMPAT_MODULES: ReadonlyMap<string, string> = new Map([
  ["__builtin__", "builtins"],
  ["copy_reg", "copyreg"],
  ["cPickle", "pickle"],
  ["commands", "subprocess"],
  ["urllib2", "urllib.request"],
  ["httplib", "http.client"],
  ["SocketServer", "socketserver"],
  ["xmlrpclib", "xmlrpc.client"],
  ["thread", "_thread"],
  ["dummy_thread", "_dummy_thread"],
  ["Queue", "queue"],
  ["exceptions", "builtins"],
]);

function pushEntry(byFirst: Map<string, DenyEntry[]>, entry: DenyEntry): void {
  const first = entry.parts[0] ?? "";
  const list = byFirst.get(first) ?? [];
  list.push(entry);
  byFirst.set(first, list);
}

/** Twins and aliases that the `_X` / `_pyX` rule does not derive: other name → public name. */
const IRREGULAR_ALIASES: ReadonlyMap<string, string> = new Map(Object.entries(denylist.aliases.irregular));
const NOT_TWINS: ReadonlySet<string> = new Set(denylist.aliases.notTwins);

/**
 * The other names under which a denied entry is reached: `_X` (C accelerator) and `_pyX`
 * (pure-Python twin) of its first component `X`, and the irregular aliases of any leading part.
 * @param text - a denylist entry, `X.a.b`
 */
export function twinNames(text: string): string[] {
  const parts = text.split(".");
  const first = parts[0] ?? "";
  const rest = parts.slice(1);
  const out: string[] = [];
  if (first.length > 0 && !first.startsWith("_")) {
    for (const twin of [`_${first}`, `_py${first}`]) {
      if (!NOT_TWINS.has(twin)) out.push([twin, ...rest].join("."));
    }
  }
  for (const [alias, target] of IRREGULAR_ALIASES) {
    if (text === target || text.startsWith(`${target}.`)) out.push(alias + text.slice(target.length));
  }
  return out;
}

/**
 * The denylist by first component: the listed entries, then the derived table of their twins and
 * aliases with the same category and severity (two rounds, so `pathlib._local.PosixPath.open`
 * derives from `pathlib.Path.open`). A listed entry wins over a derived one of equal severity.
 */
function buildDeny(): Map<string, DenyEntry[]> {
  const byFirst = new Map<string, DenyEntry[]>();
  const seen = new Set<string>();
  /** Names derived in the last round, with the listed entry they stand for. */
  let round: [string, DenyEntry][] = [];
  for (const [category, def] of Object.entries(denylist.categories)) {
    for (const text of [...def.modules, ...def.names]) {
      const entry: DenyEntry = {
        parts: text.split("."),
        text,
        category,
        severity: def.severity as Severity,
        description: def.description,
      };
      pushEntry(byFirst, entry);
      seen.add(text);
      round.push([text, entry]);
    }
  }
  for (let depth = 0; depth < 2 && round.length > 0; depth++) {
    const next: [string, DenyEntry][] = [];
    for (const [name, listed] of round) {
      for (const text of twinNames(name)) {
        if (seen.has(text)) continue;
        seen.add(text);
        // `matched` names the listed entry; the reason says which one the twin or alias stands for
        const entry: DenyEntry = {
          parts: text.split("."),
          text: listed.text,
          category: listed.category,
          severity: listed.severity,
          description: `${listed.description} (twin of ${listed.text})`,
        };
        pushEntry(byFirst, entry);
        next.push([text, listed]);
      }
    }
    round = next;
  }
  return byFirst;
}

const DENY = buildDeny();
const DANGEROUS_COMPONENTS: ReadonlySet<string> = new Set(denylist.dangerousComponents.names);
const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

function matchAt(
  parts: readonly string[],
  i: number,
  entries: readonly DenyEntry[] | undefined,
): DenyEntry | undefined {
  let best: DenyEntry | undefined;
  for (const e of entries ?? []) {
    if (e.parts.length > parts.length - i) continue;
    let ok = true;
    for (let k = 1; k < e.parts.length; k++) {
      if (parts[i + k] !== e.parts[k]) {
        ok = false;
        break;
      }
    }
    if (ok && (best === undefined || RANK[e.severity] > RANK[best.severity])) best = e;
  }
  return best;
}

function userPatterns(list: readonly string[] | undefined): { exact: Set<string>; prefixes: string[] } {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const raw of list ?? []) {
    const name = raw.trim();
    if (name.length === 0) throw new ModelgateError("POLICY", "empty pickle allow/deny entry");
    if (name.endsWith(".*")) prefixes.push(name.slice(0, -1));
    else exact.add(name);
  }
  return { exact, prefixes };
}

/** The pickle policy in force for one context. */
export class PicklePolicy {
  /** Context. */
  readonly context: PickleContext;
  /** Enabled profile names. */
  readonly profiles: readonly string[];
  readonly #call = new Map<string, string>();
  readonly #new = new Map<string, string>();
  readonly #prefixes: [string, string][] = [];
  readonly #userAllow: { exact: Set<string>; prefixes: string[] };
  readonly #userDeny: { exact: Set<string>; prefixes: string[] };
  readonly #cache = new Map<string, Classification>();

  /**
   * @param context - artifact kind
   * @param options - caller settings (`PolicyOptions.pickle`)
   * @throws ModelgateError `POLICY` when a profile name is unknown or an entry is empty
   */
  constructor(context: PickleContext, options: PicklePolicyOptions = {}) {
    this.context = context;
    const custom = new Map<string, PickleProfile>();
    for (const p of options.customProfiles ?? []) {
      if (p.name.length === 0) throw new ModelgateError("POLICY", "custom pickle profile without a name");
      custom.set(p.name, { name: p.name, call: p.call ?? [], new: p.new ?? [], prefixes: p.prefixes ?? [] });
    }
    const names = [...(options.profiles?.[context] ?? DEFAULT_CONTEXT_PROFILES[context])];
    for (const p of options.extraProfiles ?? []) if (!names.includes(p)) names.push(p);
    this.profiles = names;
    for (const name of names) {
      const profile = custom.get(name) ?? BUILTIN_PROFILES[name];
      if (profile === undefined) throw new ModelgateError("POLICY", `unknown pickle profile "${name}"`);
      for (const n of profile.new) if (!this.#new.has(n)) this.#new.set(n, name);
      for (const n of profile.call) this.#call.set(n, name);
      for (const p of profile.prefixes ?? []) this.#prefixes.push([p, name]);
    }
    this.#userAllow = userPatterns(options.allow);
    this.#userDeny = userPatterns(options.deny);
  }

  /**
   * Classifies a canonical dotted name.
   * @param name - `module.qualname` after `_compat_pickle` renames
   * @param moduleParts - how many leading components are the imported module (attribute
   *   components after them are also checked as re-exports: `logging.os.system`)
   */
  classify(name: string, moduleParts = 1): Classification {
    const key = `${moduleParts}:${name}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const result = this.#classify(name, moduleParts);
    if (this.#cache.size < 100_000) this.#cache.set(key, result);
    return result;
  }

  #classify(name: string, moduleParts: number): Classification {
    const parts = name.split(".");
    const first = parts[0] ?? "";
    const mapped = COMPAT_MODULES.get(first);
    const variants = mapped === undefined ? [parts] : [parts, [...mapped.split("."), ...parts.slice(1)]];

    // 1. caller denials win over everything
    for (const v of variants) {
      const m = this.#userMatch(v, this.#userDeny);
      if (m !== undefined) {
        return { status: "denied", severity: "critical", category: "policy", reason: "denied by policy", matched: m };
      }
    }
    // 2. exact allow (caller, then profiles)
    for (const v of variants) {
      const n = v.join(".");
      if (this.#userAllow.exact.has(n))
        return { status: "allowed", severity: "info", allowedUse: "call", reason: "allowed by policy", matched: n };
    }
    for (const v of variants) {
      const n = v.join(".");
      const c = this.#call.get(n);
      if (c !== undefined)
        return {
          status: "allowed",
          severity: "info",
          allowedUse: "call",
          reason: `profile ${c}`,
          profile: c,
          matched: n,
        };
      const w = this.#new.get(n);
      if (w !== undefined)
        return {
          status: "allowed",
          severity: "info",
          allowedUse: "new",
          reason: `profile ${w}`,
          profile: w,
          matched: n,
        };
    }
    // 3. the denylist, component by component
    let worst: DenyEntry | undefined;
    for (const v of variants) {
      const starts = [0];
      for (let i = Math.max(1, moduleParts); i < v.length; i++) starts.push(i);
      for (const i of starts) {
        const comp = v[i] ?? "";
        let e = matchAt(v, i, DENY.get(comp));
        if (e === undefined && i > 0 && comp.startsWith("_")) {
          // re-exports under a private alias: `argparse._os.system`
          const bare = comp.replace(/^_+/, "");
          const alt = [...v];
          alt[i] = bare;
          e = matchAt(alt, i, DENY.get(bare));
        }
        if (e !== undefined && (worst === undefined || RANK[e.severity] > RANK[worst.severity])) worst = e;
      }
    }
    if (worst !== undefined) {
      return {
        status: "denied",
        severity: worst.severity,
        category: worst.category,
        reason: worst.description,
        matched: worst.text,
      };
    }
    const dunder = parts.find((p) => DANGEROUS_COMPONENTS.has(p));
    if (dunder !== undefined) {
      return {
        status: "denied",
        severity: denylist.dangerousComponents.severity as Severity,
        category: "introspection",
        reason: denylist.dangerousComponents.description,
        matched: dunder,
      };
    }
    // 4. prefix allows (caller, profiles)
    for (const v of variants) {
      const n = v.join(".");
      const up = this.#userAllow.prefixes.find((p) => n.startsWith(p));
      if (up !== undefined)
        return {
          status: "allowed",
          severity: "info",
          allowedUse: "call",
          reason: "allowed by policy",
          matched: `${up}*`,
        };
      const pp = this.#prefixes.find(([p]) => n.startsWith(p));
      if (pp !== undefined) {
        return {
          status: "allowed",
          severity: "info",
          allowedUse: "call",
          reason: `profile ${pp[1]}`,
          profile: pp[1],
          matched: `${pp[0]}*`,
        };
      }
    }
    return {
      status: "unknown",
      severity: "medium",
      reason: `not in the enabled profiles (${this.profiles.join(", ")})`,
    };
  }

  #userMatch(parts: readonly string[], pats: { exact: Set<string>; prefixes: string[] }): string | undefined {
    const name = parts.join(".");
    if (pats.exact.has(name)) return name;
    // an exact caller entry also covers attributes reached through it
    for (let i = 1; i < parts.length; i++) {
      const pre = parts.slice(0, i).join(".");
      if (pats.exact.has(pre)) return pre;
    }
    return pats.prefixes.find((p) => name.startsWith(p));
  }

  /**
   * Whether a use of an allowed name stays within what its profile permits.
   * @param c - the classification
   * @param use - how the stream used it
   */
  static permits(c: Classification, use: PickleUse): boolean {
    if (c.status !== "allowed") return false;
    return use !== "call" || c.allowedUse === "call";
  }
}

const CACHE = new WeakMap<object, Map<PickleContext, PicklePolicy>>();
const DEFAULT_KEY = {};

/**
 * The policy for a context, cached per options object.
 * @param context - artifact kind
 * @param options - `PolicyOptions.pickle`
 */
export function picklePolicy(context: PickleContext, options?: PicklePolicyOptions): PicklePolicy {
  const key = options ?? DEFAULT_KEY;
  let byContext = CACHE.get(key);
  if (byContext === undefined) {
    byContext = new Map();
    CACHE.set(key, byContext);
  }
  let p = byContext.get(context);
  if (p === undefined) {
    p = new PicklePolicy(context, options);
    byContext.set(context, p);
  }
  return p;
}
