/**
 * Lazy analyzers (`lazyAnalyzer`, `lazyRepoAnalyzer` in src/core/module.ts): the registry declares
 * an analyzer's name and formats without importing its code, so dispatch and the wiring test
 * (test/scan/wiring.test.ts) see the declaration. These tests keep the declaration equal to the
 * analyzer it loads, for every module, and check the loader's own guarantees.
 */
import { describe, expect, it } from "vitest";
import { zipRules } from "../../src/containers/zip/rules.js";
import type { Analyzer, RepoAnalyzer } from "../../src/core/analyzer.js";
import type { FormatModule } from "../../src/core/module.js";
import { lazyAnalyzer, lazyRepoAnalyzer, lazyRules } from "../../src/core/module.js";
import { MODULES } from "../../src/registry/modules.js";
import { allRules, getRule, isRuleId, RULES } from "../../src/registry/rules.js";

const modules: readonly FormatModule[] = MODULES;
const isLazy = (a: object): a is { load(): Promise<Analyzer | RepoAnalyzer<never>> } =>
  "load" in a && typeof a.load === "function";

describe("lazy analyzers of the registry", () => {
  it("load the analyzer their declaration names, with exactly the declared formats", async () => {
    let lazy = 0;
    for (const m of modules) {
      for (const declared of m.analyzers ?? []) {
        if (!isLazy(declared)) continue;
        lazy++;
        const loaded = (await declared.load()) as Analyzer;
        expect(isLazy(loaded), `${m.name}: ${declared.name} loads another lazy analyzer`).toBe(false);
        expect(loaded.name, m.name).toBe(declared.name);
        expect([...loaded.formats], `${m.name}: ${declared.name}`).toEqual([...declared.formats]);
        expect(await declared.load(), "loaded once").toBe(loaded);
      }
      for (const declared of m.repoAnalyzers ?? []) {
        if (!isLazy(declared)) continue;
        lazy++;
        const loaded = await declared.load();
        expect(isLazy(loaded)).toBe(false);
        expect(loaded.name, m.name).toBe(declared.name);
      }
    }
    // nearly every analyzer is lazy (a few modules still read a constant from their analyzer file)
    expect(lazy).toBeGreaterThan(50);
  });
});

describe("lazyAnalyzer", () => {
  const real: Analyzer = { name: "x", formats: ["zip"], analyze: async () => undefined };

  it("loads once, on first analyze, and hands the context on", async () => {
    let loads = 0;
    const seen: unknown[] = [];
    const a = lazyAnalyzer("x", ["zip"], async () => {
      loads++;
      return { ...real, analyze: async (ctx) => void seen.push(ctx) };
    });
    expect(loads).toBe(0);
    const ctx = {} as Parameters<Analyzer["analyze"]>[0];
    await a.analyze(ctx);
    await a.analyze(ctx);
    expect(loads).toBe(1);
    expect(seen).toEqual([ctx, ctx]);
  });

  it("refuses an analyzer whose name or formats differ from the declaration", async () => {
    await expect(lazyAnalyzer("x", ["tar"], async () => real).load()).rejects.toMatchObject({ code: "INTERNAL" });
    await expect(lazyAnalyzer("y", ["zip"], async () => real).load()).rejects.toMatchObject({ code: "INTERNAL" });
    await expect(lazyAnalyzer("x", ["zip", "tar"], async () => real).load()).rejects.toThrow(/registered as x/);
    const repo: RepoAnalyzer = { name: "x", analyze: async () => undefined };
    await expect(lazyRepoAnalyzer("y", async () => repo).load()).rejects.toMatchObject({ code: "INTERNAL" });
  });

  it("tries a failed load again", async () => {
    let calls = 0;
    const a = lazyAnalyzer("x", ["zip"], async () => {
      calls++;
      if (calls === 1) throw new Error("first load fails");
      return real;
    });
    await expect(a.load()).rejects.toThrow("first load fails");
    await expect(a.load()).resolves.toBe(real);
  });
});

describe("lazy rules", () => {
  it("every module's rules load on first read, once, and are registered", () => {
    let lazy = 0;
    for (const m of modules) {
      const getter = Object.getOwnPropertyDescriptor(m, "rules")?.get;
      if (getter === undefined) continue;
      lazy++;
      const rules = m.rules ?? [];
      expect(rules.length, m.name).toBeGreaterThan(0);
      expect(m.rules, `${m.name}: loaded once`).toBe(rules);
      for (const rule of rules) expect(getRule(rule.id), `${m.name}: ${rule.id}`).toBe(rule);
    }
    // the sources' modules (Hub, OCI, URLs) still import theirs
    expect(lazy).toBeGreaterThan(30);
  });

  it("loads a rules file by its .js name, from the sources as from the build", () => {
    // this test file is TypeScript: `.js` does not exist beside it, so the `.ts` file loads
    const rules = lazyRules(import.meta.url, "../../src/containers/zip/rules.js", "zipRules");
    expect(rules()).toStrictEqual(zipRules);
    expect(rules()).toBe(rules());
  });

  it("refuses a name the file does not export as rules, and a file that is not there", () => {
    expect(() => lazyRules(import.meta.url, "../../src/containers/zip/rules.js", "noSuchRules")()).toThrow(
      /does not export the rules noSuchRules/,
    );
    expect(() => lazyRules(import.meta.url, "./no-such-rules.js", "zipRules")()).toThrow(/Cannot find module/);
  });

  it("RULES reads as the frozen list of every rule", () => {
    const all = allRules();
    expect(Array.isArray(RULES)).toBe(true);
    expect(RULES.length).toBe(all.length);
    expect([...RULES]).toEqual([...all]);
    expect(RULES.map((r) => r.id)).toEqual(all.map((r) => r.id));
    expect(Object.keys(RULES)).toEqual(Object.keys(all));
    expect(JSON.stringify(RULES)).toBe(JSON.stringify(all));
    expect(Object.isFrozen(RULES)).toBe(true);
    expect(() => {
      (RULES as unknown as { length: number }).length = 0;
    }).toThrow(TypeError);
    expect(() => (RULES as unknown as unknown[]).push(1)).toThrow(TypeError);
    expect(RULES.length).toBe(all.length);
    expect(isRuleId("zip/malformed")).toBe(true);
    expect(isRuleId("no/such-rule")).toBe(false);
  });
});
