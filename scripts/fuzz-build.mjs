// Compiles the library and the fuzz harness (test/fuzz/, with the test builders it imports) to
// node_modules/.cache/modelgate-fuzz with plain tsc, and copies the non-TypeScript files the
// library loads at run time. Used by `npm run fuzz`, `npm run fuzz:diff` and the worst-case bench.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where harness builds go (one folder per build, so a running fuzz campaign is never rebuilt under its feet). */
export const CACHE = join(ROOT, "node_modules", ".cache", "modelgate-fuzz");

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Builds the harness into `CACHE/<name>` unless that build is newer than every file under src/ and
 * test/ (`force` rebuilds anyway). Builds of other names older than a day are removed.
 * @param {string} name - build folder name
 * @param {{ force?: boolean }} options
 * @returns {string} the build folder
 */
export function buildHarness(name, options = {}) {
  const OUT = join(CACHE, name);
  const STAMP = join(OUT, ".built");
  const sources = Math.max(
    newest(join(ROOT, "src")),
    newest(join(ROOT, "test")),
    statSync(import.meta.filename).mtimeMs,
  );
  if (!options.force && existsSync(STAMP) && statSync(STAMP).mtimeMs > sources) return OUT;
  const t0 = performance.now();
  if (existsSync(CACHE)) {
    for (const old of readdirSync(CACHE)) {
      const p = join(CACHE, old);
      if (old !== name && old.startsWith("run-") && Date.now() - statSync(p).mtimeMs > 86_400_000) {
        rmSync(p, { recursive: true, force: true });
      }
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  execFileSync(
    join(ROOT, "node_modules", ".bin", "tsc"),
    ["-p", join(ROOT, "test", "fuzz", "tsconfig.json"), "--outDir", OUT],
    { stdio: "inherit" },
  );
  const copy = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) copy(p);
      else if (!e.name.endsWith(".ts") && !e.name.endsWith(".proto")) {
        const to = join(OUT, relative(ROOT, p));
        mkdirSync(dirname(to), { recursive: true });
        cpSync(p, to);
      }
    }
  };
  copy(join(ROOT, "src"));
  writeFileSync(STAMP, new Date().toISOString());
  process.stderr.write(`fuzz: built harness in ${Math.round(performance.now() - t0)} ms\n`);
  return OUT;
}
