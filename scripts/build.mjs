#!/usr/bin/env node
// Build: generate protobuf code, compile TypeScript to dist/, then write the report JSON Schema
// from the zod schemas. Each step is a small function so format code generators run in order.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// `prepare` builds a git clone on its `npm install` (the README's first line needs dist/), and
// `prepack` builds what `npm pack`/`npm publish` ship. npm runs prepare before prepack when packing,
// so prepare passes --skip-when-packing and leaves that build to prepack. Registry installs run
// neither: the tarball has dist/ and modelgate has no install scripts.
if (process.argv.includes("--skip-when-packing") && ["pack", "publish"].includes(process.env.npm_command ?? "")) {
  process.stderr.write("build: skipped in prepare (prepack builds)\n");
  process.exit(0);
}
const bin = (name) => join(root, "node_modules", ".bin", name);

function step(title, fn) {
  const t0 = performance.now();
  fn();
  process.stderr.write(`build: ${title} (${Math.round(performance.now() - t0)} ms)\n`);
}

// Static protobufjs code (no runtime reflection or eval) for the formats that are protobufs. The
// output is not committed: it is regenerated here whenever its .proto is newer, so a fresh clone
// builds it on `npm install` (prepare). tsc does not copy .js inputs, so they are copied to dist/
// after compilation.
const PROTOS = [
  { dir: "src/formats/onnx", proto: "onnx.proto", out: "onnx" },
  { dir: "src/formats/savedmodel", proto: "savedmodel.proto", out: "savedmodel" },
];
const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : -1);

step("protobuf", () => {
  for (const { dir, proto, out } of PROTOS) {
    const src = join(root, dir, proto);
    const gen = join(root, dir, "generated");
    const js = join(gen, `${out}.js`);
    const dts = join(gen, `${out}.d.ts`);
    const newest = Math.max(mtime(src), mtime(import.meta.filename));
    if (mtime(js) > newest && mtime(dts) > newest) continue;
    mkdirSync(gen, { recursive: true });
    // prettier-ignore
    execFileSync(
      bin("pbjs"),
      [
        "-t",
        "static-module",
        "-w",
        "es6",
        "--force-number",
        "--keep-case",
        "--root",
        `modelgate_${out}`,
        "--no-create",
        "--no-verify",
        "--no-convert",
        "--no-delimited",
        "--no-typeurl",
        "-o",
        js,
        src,
      ],
      { stdio: "inherit" },
    );
    execFileSync(bin("pbts"), ["-o", dts, js], { stdio: "inherit" });
  }
});

// What is packed is exactly what this build emits: a dist/ left over from older sources would ship
// modules (and source-map references) whose sources are gone. Development builds keep dist/ so a
// bench or a running service reading it is not pulled from under it.
if (process.env.npm_lifecycle_event === "prepack" || process.argv.includes("--clean")) {
  step("clean dist", () => rmSync(join(root, "dist"), { recursive: true, force: true }));
}

step("tsc", () => execFileSync(bin("tsc"), ["-p", join(root, "tsconfig.json")], { stdio: "inherit" }));

step("copy generated", () => {
  for (const { dir, out } of PROTOS) {
    const to = join(root, "dist", dir.replace(/^src\//, ""), "generated");
    mkdirSync(to, { recursive: true });
    for (const ext of [".js", ".d.ts"]) copyFileSync(join(root, dir, "generated", out + ext), join(to, out + ext));
  }
});

await (async () => {
  const t0 = performance.now();
  const { reportJsonSchema } = await import(join(root, "dist", "report", "schema.js"));
  mkdirSync(join(root, "schema"), { recursive: true });
  writeFileSync(join(root, "schema", "report-v1.schema.json"), `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
  process.stderr.write(`build: schema (${Math.round(performance.now() - t0)} ms)\n`);
})();

const cli = join(root, "dist", "cli", "main.js");
if (existsSync(cli)) chmodSync(cli, 0o755);
