// The public surface: the committed API report matches what the entry points declare, the
// documentation and the package's `exports` name the same entry points, and every entry point's
// declaration files include the declaration merges that complete `RuleId`, `Format` and
// `PolicyOptions`.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/scan.js";

const REPORT = join(REPO_ROOT, "api", "modelgate.api.md");
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; default: string }>;
};
/** The package's code entry points: subpath → source file. */
const ENTRIES = Object.entries(pkg.exports).flatMap(([key, target]) =>
  typeof target === "object"
    ? [{ key, target, source: target.types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts") }]
    : [],
);

describe("public surface", () => {
  it("api/modelgate.api.md is what the entry points declare", () => {
    const run = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "api-report.mjs"), "--stdout"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(
      readFileSync(REPORT, "utf8"),
      "api/modelgate.api.md is out of date: run `npm run api` and review the difference",
    ).toBe(run.stdout);
  }, 120_000);

  it("every code entry point is built from src/index.ts or src/entries/ and has types and code", () => {
    expect(ENTRIES.map((e) => e.key)).toContain(".");
    for (const { key, target, source } of ENTRIES) {
      expect(source === "src/index.ts" || /^src\/entries\/[a-z]+\.ts$/.test(source), key).toBe(true);
      expect(target.default, key).toBe(target.types.replace(/\.d\.ts$/, ".js"));
      expect(readdirSync(join(REPO_ROOT, source, "..")), key).toContain(source.split("/").at(-1));
    }
  });

  it("the API documentation covers exactly the package's entry points", () => {
    const typedoc = JSON.parse(readFileSync(join(REPO_ROOT, "typedoc.json"), "utf8")) as { entryPoints: string[] };
    expect([...typedoc.entryPoints].sort()).toEqual(ENTRIES.map((e) => e.source).sort());
  });

  it("the root facade stays small", () => {
    const report = readFileSync(REPORT, "utf8");
    const count = Number(/^`src\/index\.ts`: (\d+) exports/m.exec(report)?.[1]);
    expect(count).toBeGreaterThan(20);
    expect(count).toBeLessThanOrEqual(50);
  });
});

describe("entries/registries.ts", () => {
  /** Every file of src/ (but src/entries/) that adds to a registry of src/core/ by declaration merging. */
  function merging(dir: string): string[] {
    const out: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== join(REPO_ROOT, "src", "entries")) out.push(...merging(path));
      } else if (entry.name.endsWith(".ts") && /^declare module "(\.\.?\/)+core\//m.test(readFileSync(path, "utf8"))) {
        out.push(relative(join(REPO_ROOT, "src"), path).split(sep).join("/"));
      }
    }
    return out;
  }

  it("imports every file that fills a registry of src/core/, and nothing else", () => {
    const file = join(REPO_ROOT, "src", "entries", "registries.ts");
    const imported = ts
      .preProcessFile(readFileSync(file, "utf8"), true, false)
      .importedFiles.map((f) => f.fileName.replace(/^\.\.\//, "").replace(/\.js$/, ".ts"));
    const expected = merging(join(REPO_ROOT, "src")).sort();
    expect(expected.length).toBeGreaterThan(10);
    expect(imported.sort(), "src/entries/registries.ts is out of date: run `npm run registries`").toEqual(expected);
  });

  it("every entry point keeps it in its declaration files", () => {
    for (const { key, source } of ENTRIES) {
      const text = readFileSync(join(REPO_ROOT, source), "utf8");
      expect(text, key).toMatch(/^export type \* from "\.\/(entries\/)?registries\.js";$/m);
    }
  });
});
