/**
 * The `xgboost` pickle profile: real XGBoost models pickled with pickle or joblib (made by Debian's
 * python3-xgboost, samples/generate/graph_bypass.py) are clean, and the profile lists exactly the
 * globals they use, so anything else under `xgboost.` stays judged.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROFILES, DEFAULT_CONTEXT_PROFILES } from "../../../src/formats/pickle/policy/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const DIR = join(SAMPLES, "graph-bypass", "xgboost");
const real = readdirSync(DIR).filter((n) => n !== "xgb_lookalike.pkl");
const enc = new TextEncoder();
/** A protocol-4 pickle `module.name` used by `use` (NEWOBJ with no arguments, or a call). */
const pickleOf = (module: string, name: string, use: "new" | "call") =>
  new Uint8Array([
    0x80,
    4,
    0x8c,
    module.length,
    ...enc.encode(module),
    0x8c,
    name.length,
    ...enc.encode(name),
    0x93,
    0x29,
    use === "new" ? 0x81 : 0x52,
    0x2e,
  ]);

describe("xgboost profile", () => {
  it("is enabled for plain pickles and joblib files", () => {
    expect(BUILTIN_PROFILES.xgboost?.new).toContain("xgboost.core.Booster");
    expect(BUILTIN_PROFILES.xgboost?.call).toEqual([]);
    expect(DEFAULT_CONTEXT_PROFILES.pickle).toContain("xgboost");
    expect(DEFAULT_CONTEXT_PROFILES.joblib).toContain("xgboost");
    expect(DEFAULT_CONTEXT_PROFILES.pytorch).not.toContain("xgboost");
  });

  it.each(real)("real %s is clean", async (name) => {
    const file = await scanOne(new Uint8Array(readFileSync(join(DIR, name))), name);
    expect(file.verdict, JSON.stringify(file.findings.map((f) => f.message))).toBe("clean");
    expect(ruleIds(file)).not.toContain("pickle/unknown-global");
  });

  it("anything else under xgboost stays judged", async () => {
    const lookalike = await scanOne(new Uint8Array(readFileSync(join(DIR, "xgb_lookalike.pkl"))), "x.pkl");
    expect(lookalike.verdict).toBe("suspicious");
    expect(ruleIds(lookalike)).toContain("pickle/unknown-global");
    for (const [module, name] of [
      ["xgboost.core", "_load_lib"],
      ["xgboost.sklearn", "XGBModel"],
      ["xgboost", "Booster"],
    ] as const) {
      const file = await scanOne(pickleOf(module, name, "new"), "x.pkl");
      expect(file.verdict, `${module}.${name}`).not.toBe("clean");
    }
  });

  it("the listed classes may be instantiated, not called", async () => {
    expect((await scanOne(pickleOf("xgboost.core", "Booster", "new"), "x.pkl")).verdict).toBe("clean");
    expect((await scanOne(pickleOf("xgboost.core", "Booster", "call"), "x.pkl")).verdict).not.toBe("clean");
  });
});
