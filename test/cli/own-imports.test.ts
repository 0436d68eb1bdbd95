/**
 * cli/own-imports.ts: the built CLI resolves its own relative imports by URL; everything else goes
 * to Node's resolver (`next`) untouched.
 */
import type { ResolveFnOutput, ResolveHookContext } from "node:module";
import { describe, expect, it } from "vitest";
import { ownImportsResolver } from "../../src/cli/own-imports.js";

const ROOT = "file:///opt/modelgate/dist/";
const IMPORT = ["node", "import", "module-sync", "node-addons"];
const REQUIRE = ["node", "require", "module-sync", "node-addons"];

function resolve(specifier: string, parentURL: string | undefined, conditions = IMPORT) {
  const seen: string[] = [];
  const next = (s: string): ResolveFnOutput => {
    seen.push(s);
    return { url: `next:${s}` };
  };
  const context: ResolveHookContext = { conditions, importAttributes: {}, parentURL };
  const out = ownImportsResolver(ROOT)(specifier, context, next);
  return { out, toNext: seen.length > 0 };
}

describe("ownImportsResolver", () => {
  it("resolves a relative .js import between modules under dist/ itself, as an ES module", () => {
    expect(resolve("../core/errors.js", `${ROOT}cli/run.js`)).toEqual({
      out: { url: `${ROOT}core/errors.js`, format: "module", shortCircuit: true },
      toNext: false,
    });
    expect(resolve("./run.js", `${ROOT}cli/main.js`).out.url).toBe(`${ROOT}cli/run.js`);
  });

  it("hands everything else to Node", () => {
    const parent = `${ROOT}cli/run.js`;
    for (const [specifier, from, conditions] of [
      ["zod", parent, IMPORT], // a package
      ["node:fs", parent, IMPORT], // a built-in
      ["./data.json", parent, IMPORT], // JSON (import attributes, another format)
      ["./rules.js", parent, REQUIRE], // require(), as lazyRules does
      ["../../../etc/x.js", parent, IMPORT], // leaves dist/
      ["../%2e%2e/%2e%2e/x.js", parent, IMPORT], // leaves dist/ through encoded dots
      ["./x.js", "file:///opt/other/a.js", IMPORT], // a parent outside dist/
      ["./x.js", "file:///opt/modelgate/distX/a.js", IMPORT], // a sibling that shares the prefix
      ["./x.js", undefined, IMPORT], // no parent (the entry)
      ["/opt/modelgate/dist/x.js", parent, IMPORT], // absolute
    ] as const) {
      expect([specifier, resolve(specifier, from, [...conditions]).toNext]).toEqual([specifier, true]);
    }
  });

  it("takes only a folder URL", () => {
    expect(() => ownImportsResolver("file:///opt/modelgate/dist")).toThrow(TypeError);
    expect(() => ownImportsResolver("/opt/modelgate/dist/")).toThrow(TypeError);
  });
});
