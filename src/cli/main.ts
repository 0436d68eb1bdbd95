#!/usr/bin/env node
/**
 * The `modelgate` executable: wires the process to {@link runCli}.
 *
 * Start-up matters (tools run modelgate once per file), so this file imports nothing heavy: it
 * turns on Node's compile cache, then loads the dispatcher, which loads only the command it runs.
 * @module
 */
import { enableCompileCache } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * V8's code cache for modelgate's modules and its dependencies, so a second run skips compiling
 * them. Kept per user (never the shared `os.tmpdir()`, where another user could plant a cache);
 * `NODE_COMPILE_CACHE=<dir>` chooses another folder, `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 */
function compileCache(): void {
  const env = process.env;
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "") return;
  try {
    const base =
      env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
    const dir =
      env.NODE_COMPILE_CACHE !== undefined && env.NODE_COMPILE_CACHE !== ""
        ? undefined
        : join(base, "modelgate", "compile-cache");
    enableCompileCache(dir);
  } catch {
    // No home folder or an old Node: run without the cache.
  }
}
compileCache();

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
