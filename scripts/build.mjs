#!/usr/bin/env node
// Build: compile TypeScript to dist/, then write the report JSON Schema from the zod schemas.
// Each step is a small function so format code generators (protobuf) can be added in order.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

function step(title, fn) {
  const t0 = performance.now();
  fn();
  process.stderr.write(`build: ${title} (${Math.round(performance.now() - t0)} ms)\n`);
}

step("tsc", () => execFileSync(bin("tsc"), ["-p", join(root, "tsconfig.json")], { stdio: "inherit" }));

await (async () => {
  const t0 = performance.now();
  const { reportJsonSchema } = await import(join(root, "dist", "report", "schema.js"));
  mkdirSync(join(root, "schema"), { recursive: true });
  writeFileSync(join(root, "schema", "report-v1.schema.json"), `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
  process.stderr.write(`build: schema (${Math.round(performance.now() - t0)} ms)\n`);
})();

const cli = join(root, "dist", "cli", "main.js");
if (existsSync(cli)) chmodSync(cli, 0o755);
