#!/usr/bin/env node
/**
 * The `modelgate` executable: wires the process to {@link runCli}.
 *
 * Start-up matters (tools run modelgate once per file), so this file imports nothing heavy: it
 * turns on Node's compile cache, then loads the dispatcher, which loads only the command it runs.
 * @module
 */
import { lstatSync, mkdirSync, realpathSync } from "node:fs";
import { enableCompileCache, registerHooks } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { restartLongRunning } from "./node-flags.js";
import { ownImportsResolver } from "./own-imports.js";

// `worker` and `serve` start again with V8 flags of their own (see cli/node-flags.ts), before
// anything else runs.
restartLongRunning();

/**
 * Whether a folder is the user's alone: it and every folder above it (symbolic links resolved) are
 * owned by the user or by root, and none is writable by others, except a root-owned sticky folder
 * above it (`/tmp`: others cannot rename or delete what is in it).
 *
 * The compile cache holds V8 bytecode that Node runs in place of modelgate's own code whenever the
 * entry's header matches the source (a CRC32 of it, which anyone can compute). Whoever can write in
 * the cache folder, or replace it or a folder above it, runs code as the next user of modelgate:
 * a cache under a shared `XDG_CACHE_HOME=/tmp/cache` that another user created first would do.
 * @param dir - an existing folder
 */
function isPrivateFolder(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return true; // Windows: the folder is under the user's profile
  let path = realpathSync(dir);
  for (let own = true; ; own = false) {
    const stat = lstatSync(path);
    if (!stat.isDirectory() || (stat.uid !== uid && stat.uid !== 0)) return false;
    const sharedSticky = !own && stat.uid === 0 && (stat.mode & 0o1000) !== 0;
    if ((stat.mode & 0o022) !== 0 && !sharedSticky) return false;
    const parent = dirname(path);
    if (parent === path) return true;
    path = parent;
  }
}

/**
 * V8's code cache for modelgate's modules and its dependencies, so a second run skips compiling
 * them. Kept per user (never the shared `os.tmpdir()`) in a folder that must be the user's alone
 * (see {@link isPrivateFolder}; otherwise modelgate runs without it); `NODE_COMPILE_CACHE=<dir>`
 * chooses another folder (Node turns that on itself, before modelgate runs),
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 */
function compileCache(): void {
  const env = process.env;
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "") return;
  if (env.NODE_COMPILE_CACHE !== undefined && env.NODE_COMPILE_CACHE !== "") return;
  try {
    const base =
      env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
    const dir = join(base, "modelgate", "compile-cache");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isPrivateFolder(dir)) enableCompileCache(dir);
  } catch {
    // No home folder, a folder that cannot be made, or an old Node: run without the cache.
  }
}
compileCache();

// Running the built CLI (not the TypeScript sources under a test's hooks), resolve modelgate's own
// imports without Node's general resolver (see cli/own-imports.ts). Only on Node 24 and later, the
// version the project pins and tests: `module.registerHooks` is still marked as in development,
// and on older Node modelgate starts as before.
if (import.meta.url.endsWith(".js") && Number(process.versions.node.split(".")[0]) >= 24)
  registerHooks({ resolve: ownImportsResolver(new URL("../", import.meta.url).href) });

const { runCli } = await import("./run.js");
const controller = new AbortController();
process.once("SIGINT", () => controller.abort(new DOMException("interrupted", "AbortError")));

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
  stdoutIsTTY: process.stdout.isTTY === true,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
