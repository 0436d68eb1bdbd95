/**
 * The CLI's commands. Add one line per command. Each is loaded only when it runs (`import()`), so
 * `modelgate --version`, `modelgate --help` and a scan do not pay for the modules of the other
 * commands; the summary shown by `modelgate --help` is therefore kept here (a test checks it is the
 * command's own).
 * @module
 */
import type { Command } from "../io.js";

/** Loads a command's module. */
export type CommandLoader = () => Promise<Command>;

/** A command: its `--help` summary and its loader. */
export interface CommandEntry {
  /** One line for `modelgate --help` (the command's `summary`). */
  readonly summary: string;
  /** Loads the command. */
  readonly load: CommandLoader;
}

/** Commands by name, in the order `modelgate --help` lists them. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  scan: { summary: "scan model files and directories", load: async () => (await import("./scan.js")).scanCommand },
  verify: {
    summary: "verify a model's OpenSSF Model Signing signature",
    load: async () => (await import("./verify.js")).verifyCommand,
  },
  sign: {
    summary: "sign a model with OpenSSF Model Signing (key or certificate)",
    load: async () => (await import("./sign.js")).signCommand,
  },
  lock: {
    summary: "write a lock file of a directory's SHA-256 digests",
    load: async () => (await import("./lock.js")).lockCommand,
  },
  attest: {
    summary: "sign a scan report's decision as an in-toto attestation (SLSA VSA)",
    load: async () => (await import("./attest.js")).attestCommand,
  },
  "verify-attestation": {
    summary: "verify a scan attestation against a model's files",
    load: async () => (await import("./verify-attestation.js")).verifyAttestationCommand,
  },
  rules: { summary: "list the rules, or explain one", load: async () => (await import("./rules.js")).rulesCommand },
  init: {
    summary: "write a commented starter policy (.modelgate.json)",
    load: async () => (await import("./init.js")).initCommand,
  },
  cache: {
    summary: "inspect, prune or clear a verdict cache folder (--cache-dir)",
    load: async () => (await import("./cache.js")).cacheCommand,
  },
  serve: {
    summary: "run the scan service (HTTP API; jobs in-process or on Redis)",
    load: async () => (await import("./serve.js")).serveCommand,
  },
  worker: {
    summary: "process scan jobs from Redis (see serve --redis)",
    load: async () => (await import("./worker.js")).workerCommand,
  },
};
