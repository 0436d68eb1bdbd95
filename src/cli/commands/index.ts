/**
 * The CLI's commands. Add one line per command.
 * @module
 */
import type { Command } from "../io.js";
import { scanCommand } from "./scan.js";

/** Commands by name. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  scan: scanCommand,
};
