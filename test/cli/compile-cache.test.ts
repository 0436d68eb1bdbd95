/**
 * The executable turns on Node's compile cache in a folder of the user's cache (issue 18), and
 * only when that folder is the user's alone: bytecode found there runs as modelgate's own code, so
 * a folder others can write to, or a folder under one, must not be used (src/cli/main.ts). Each
 * case runs `modelgate --version` from the sources in a child process and looks for the
 * versioned folder Node makes when the cache is turned on.
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/scan.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "mg-compile-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `modelgate --version` with this cache base; returns what the cache folder holds. */
async function versionWith(base: string): Promise<string[]> {
  const env: Record<string, string | undefined> = { ...process.env, XDG_CACHE_HOME: base, NODE_OPTIONS: "" };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  const { stdout } = await run(
    process.execPath,
    [
      "--experimental-transform-types",
      "--no-warnings",
      "--import",
      pathToFileURL(join(REPO_ROOT, "test/helpers/ts-register.mjs")).href,
      join(REPO_ROOT, "src/cli/main.ts"),
      "--version",
    ],
    { env, timeout: 60_000 },
  );
  expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  const cache = join(base, "modelgate", "compile-cache");
  return existsSync(cache) ? readdirSync(cache) : [];
}

describe.skipIf(process.platform === "win32")("the compile cache of the executable", () => {
  it("is turned on in a folder of the user's own", async () => {
    const base = join(dir, "private");
    mkdirSync(base, { mode: 0o700 });
    const made = await versionWith(base);
    expect(made.length).toBe(1);
    expect(made[0]).toMatch(/^v\d+/);
  }, 60_000);

  it("is turned on through a symbolic link to such a folder", async () => {
    const real = join(dir, "real");
    mkdirSync(real, { mode: 0o700 });
    const link = join(dir, "link");
    symlinkSync(real, link);
    expect((await versionWith(link)).length).toBe(1);
  }, 60_000);

  it("is not used under a folder others can write to", async () => {
    const base = join(dir, "shared");
    mkdirSync(base);
    chmodSync(base, 0o777);
    expect(await versionWith(base)).toEqual([]);
  }, 60_000);

  it("is not used when the cache folder itself was left writable by others", async () => {
    const base = join(dir, "planted");
    mkdirSync(join(base, "modelgate", "compile-cache"), { recursive: true, mode: 0o700 });
    chmodSync(join(base, "modelgate", "compile-cache"), 0o777);
    expect(await versionWith(base)).toEqual([]);
  }, 60_000);
});
