#!/usr/bin/env node
// Writes docs/rules.md from the rule registry (dist/ must be built). `--check` exits 1 if stale.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { renderRulesMarkdown } = await import(join(root, "dist", "registry", "rules-doc.js"));
const target = join(root, "docs", "rules.md");
const text = renderRulesMarkdown();
if (process.argv.includes("--check")) {
  const current = readFileSync(target, "utf8");
  if (current !== text) {
    process.stderr.write("docs/rules.md is stale: run npm run docs:rules\n");
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
