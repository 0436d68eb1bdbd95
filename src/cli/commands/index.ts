/**
 * The CLI's commands. Add one line per command.
 * @module
 */
import type { Command } from "../io.js";
import { lockCommand } from "./lock.js";
import { scanCommand } from "./scan.js";
import { signCommand } from "./sign.js";
import { verifyCommand } from "./verify.js";

/** Commands by name. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  scan: scanCommand,
  verify: verifyCommand,
  sign: signCommand,
  lock: lockCommand,
};
