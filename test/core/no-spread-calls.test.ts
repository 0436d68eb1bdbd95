// Spreading an array into a call's arguments puts every element on the call stack; past about
// 100,000 elements V8 throws a RangeError (an archive of 130,000 members lost a whole scan's report
// that way). In src/, arrays are appended, compared and turned into text with the loops of
// src/core/arrays.ts; a spread call stays only where a `// bounded:` comment on its line says what
// bounds its length.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;

/** Calls whose arguments are often spread arrays. */
const CALL = /(?:\.(?:push|unshift|splice)|Math\.(?:max|min)|String\.fromCharCode|String\.fromCodePoint)\(/g;

/**
 * Whether the argument list opening at `at` (just after its `(`) has a top-level `...` argument:
 * brackets and string literals are skipped, template literals roughly (enough for this code).
 */
function spreadsArgument(text: string, at: number): boolean {
  let depth = 0;
  let argStart = true;
  for (let i = at; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === "\\") i++;
      argStart = false;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) return false;
      depth--;
    } else if (depth === 0 && c === ",") argStart = true;
    else if (/\s/.test(c)) continue;
    else if (argStart && depth === 0 && text.startsWith("...", i)) return true;
    if (depth > 0 || c !== ",") argStart = false;
  }
  return false;
}

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* sources(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

describe("spread calls in src/", () => {
  it("every spread call is bounded and says so", () => {
    const found: string[] = [];
    for (const path of sources(SRC)) {
      const text = readFileSync(path, "utf8");
      const lines = text.split("\n");
      for (const m of text.matchAll(CALL)) {
        if (!spreadsArgument(text, m.index + m[0].length)) continue;
        const line = text.slice(0, m.index).split("\n").length;
        const source = lines[line - 1] ?? "";
        if (/^\s*(?:\*|\/\/)/.test(source) || source.includes("// bounded:")) continue;
        found.push(`${relative(SRC, path)}:${line}: ${source.trim()}`);
      }
    }
    expect(found).toEqual([]);
  });
});
