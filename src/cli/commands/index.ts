/**
 * The CLI's commands. Add one line per command. Each is loaded only when it runs (`import()`), so
 * `modelgate --version` and a scan do not pay for the modules of the other commands.
 * @module
 */
import type { Command } from "../io.js";

/** Loads a command's module. */
export type CommandLoader = () => Promise<Command>;

/** Commands by name. */
export const COMMANDS: Readonly<Record<string, CommandLoader>> = {
  scan: async () => (await import("./scan.js")).scanCommand,
  verify: async () => (await import("./verify.js")).verifyCommand,
  sign: async () => (await import("./sign.js")).signCommand,
  lock: async () => (await import("./lock.js")).lockCommand,
  attest: async () => (await import("./attest.js")).attestCommand,
  "verify-attestation": async () => (await import("./verify-attestation.js")).verifyAttestationCommand,
  serve: async () => (await import("./serve.js")).serveCommand,
  worker: async () => (await import("./worker.js")).workerCommand,
};
