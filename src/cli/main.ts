#!/usr/bin/env node
/**
 * The `modelgate` executable: wires the process to {@link runCli}.
 * @module
 */
import { runCli } from "./run.js";

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
