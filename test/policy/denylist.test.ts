/**
 * Every name in the pickle denylist, imported and called by a minimal pickle, makes the file
 * `malicious` (`pickle/dangerous-global`, critical or high): the list is data, this test keeps it
 * honest entry by entry.
 */
import { describe, expect, it } from "vitest";
import denylist from "../../src/formats/pickle/policy/denylist.json" with { type: "json" };
import { BUILTIN_PROFILES, DEFAULT_CONTEXT_PROFILES } from "../../src/formats/pickle/policy/index.js";
import type { FileReport } from "../../src/report/schema.js";
import { scanOne } from "../helpers/scan.js";

const latin1 = (s: string) => Buffer.from(s, "latin1");
const sbu = (s: string) => {
  const b = Buffer.from(s, "utf8");
  if (b.length > 255) throw new Error("name too long for SHORT_BINUNICODE");
  return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
};
/** `("id",)` then REDUCE and STOP. */
const CALL = Buffer.concat([latin1("X\x02\x00\x00\x00id"), Buffer.from([0x85, 0x52, 0x2e])]);

/** Protocol 2: `GLOBAL module\nname\n`, REDUCE. */
function globalPickle(module: string, name: string): Uint8Array {
  return Buffer.concat([Buffer.from([0x80, 0x02]), latin1(`c${module}\n${name}\n`), CALL]);
}

/** Protocol 4: `STACK_GLOBAL` of (module, qualname), REDUCE. */
function stackGlobalPickle(module: string, qualname: string): Uint8Array {
  return Buffer.concat([Buffer.from([0x80, 0x04]), sbu(module), sbu(qualname), Buffer.from([0x93]), CALL]);
}

interface Case {
  readonly entry: string;
  readonly category: string;
  readonly severity: string;
  /** Module and name the pickle imports. */
  readonly module: string;
  readonly name: string;
}

/** Module entries are reached through an attribute; name entries are imported as written. */
const CASES: Case[] = Object.entries(denylist.categories).flatMap(([category, def]) => [
  ...def.modules.map((entry) => ({ entry, category, severity: def.severity, module: entry, name: "run" })),
  ...def.names.map((entry) => {
    const dot = entry.lastIndexOf(".");
    return { entry, category, severity: def.severity, module: entry.slice(0, dot), name: entry.slice(dot + 1) };
  }),
]);

/**
 * Entries an enabled default profile allows by exact name (the caller's or a profile's exact
 * allow wins over the denylist, see docs/pickle-policy.md): these are not expected to be reported.
 */
const DEFAULT_NAMES = new Set(
  DEFAULT_CONTEXT_PROFILES.pickle.flatMap((p) => {
    const profile = BUILTIN_PROFILES[p];
    return profile === undefined ? [] : [...profile.call, ...profile.new];
  }),
);

function dangerous(file: FileReport, entry: string) {
  return file.findings.filter((f) => f.ruleId === "pickle/dangerous-global" && f.evidence?.matched === entry);
}

describe("pickle denylist: every entry is malicious when a pickle calls it", () => {
  it("has the categories the policy documents, with critical or high severities", () => {
    expect(Object.keys(denylist.categories)).toEqual(
      expect.arrayContaining(["code-execution", "process", "security-tool-tampering", "network"]),
    );
    for (const def of Object.values(denylist.categories)) expect(["critical", "high"]).toContain(def.severity);
    expect(CASES.length).toBeGreaterThan(300);
  });

  it("lists the security-tool switches and third-party shell runners", () => {
    const category = new Map(CASES.map((c) => [c.entry, c.category]));
    for (const name of [
      "fickling.hook.remove_hook",
      "fickling.hook.deactivate_safe_ml_environment",
      "keras.config.enable_unsafe_deserialization",
    ]) {
      expect(category.get(name), name).toBe("security-tool-tampering");
    }
    for (const name of [
      "IPython.utils.process",
      "IPython.utils._process_posix",
      "IPython.get_ipython",
      "sh",
      "plumbum",
      "pexpect",
      "invoke.run",
      "fabric.Connection",
      "paramiko.client.SSHClient.exec_command",
    ]) {
      expect(category.get(name), name).toBe("process");
    }
  });

  const allowed = CASES.filter((c) => DEFAULT_NAMES.has(c.entry));
  it("exempts only the deliberate exact allows", () => {
    expect(allowed.map((c) => c.entry).sort()).toEqual(["builtins.type", "torch.storage._load_from_bytes"]);
  });

  // `vars(x)` is a resolver judged by what is then looked up in the namespace it returns (see
  // test/formats/pickle); `vars("id")` on its own reaches nothing.
  const RESOLVED_LATER = new Set(["builtins.vars"]);
  const checked = CASES.filter((c) => !DEFAULT_NAMES.has(c.entry) && !RESOLVED_LATER.has(c.entry));
  for (const [label, build] of [
    ["GLOBAL, protocol 2", globalPickle],
    ["STACK_GLOBAL, protocol 4", stackGlobalPickle],
  ] as const) {
    it(`reports each entry as pickle/dangerous-global, malicious (${label})`, async () => {
      const failures: string[] = [];
      for (const c of checked) {
        const file = await scanOne(build(c.module, c.name), "model.pkl", { hash: false });
        const hits = dangerous(file, c.entry);
        // the entry itself, or a more severe one, decides (`fickling.hook.x` may match `fickling`)
        const reported = file.findings.some((f) => f.ruleId === "pickle/dangerous-global");
        if (file.verdict !== "malicious" || !reported) {
          failures.push(`${c.entry} (${c.module} ${c.name}): ${file.verdict} ${file.findings.map((f) => f.ruleId)}`);
        } else if (hits.length > 0 && hits.some((f) => f.severity !== c.severity)) {
          failures.push(`${c.entry}: severity ${hits.map((f) => f.severity)} ≠ ${c.severity}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
