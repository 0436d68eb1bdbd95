#!/usr/bin/env node
// Writes src/entries/registries.ts: one side-effect import per file of src/ (outside src/entries/)
// that fills a registry of src/core/ by declaration merging (`declare module ".../core/..."`), so
// that every entry point's declaration files carry the complete `Format`, `RuleId` and policy
// sections. test/api/api-report.test.ts checks the file is current.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const entries = join(src, "entries");

function merging(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== entries) out.push(...merging(path));
    } else if (entry.name.endsWith(".ts") && /^declare module "(\.\.?\/)+core\//m.test(readFileSync(path, "utf8"))) {
      out.push(relative(src, path).split(sep).join("/"));
    }
  }
  return out;
}

const target = join(entries, "registries.ts");
const text = readFileSync(target, "utf8");
const header = text.slice(0, text.indexOf("import "));
const imports = merging(src)
  .sort()
  .map((f) => `import "../${f.replace(/\.ts$/, ".js")}";`);
writeFileSync(target, `${header}${imports.join("\n")}\n`);
process.stderr.write(`registries: ${imports.length} files\n`);
