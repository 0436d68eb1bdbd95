/**
 * Argument dispatch and error handling shared by the executable and the tests.
 * @module
 */
import { isModelgateError } from "../core/errors.js";
import { TOOL_VERSION } from "../core/version.js";
import { escapeForTerminal } from "../report/render/escape.js";
import { COMMANDS } from "./commands/index.js";
import { type CliIO, EXIT, UsageError } from "./io.js";

async function help(): Promise<string> {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const commands = await Promise.all(
    Object.entries(COMMANDS).map(async ([name, load]) => [name, await load()] as const),
  );
  const lines = commands.map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: modelgate <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun 'modelgate <command> --help' for a command's options.\n`;
}

/**
 * Runs the CLI with arguments (without the node and script paths).
 * @param argv - the arguments
 * @param io - the process view
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(await help());
    return name === undefined ? EXIT.error : EXIT.ok;
  }
  if (name === "--version" || name === "-V") {
    io.stdout(`${TOOL_VERSION}\n`);
    return EXIT.ok;
  }
  // Own keys only: "toString" or "__proto__" is an unknown command, not an inherited property.
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr(`modelgate: unknown command "${escapeForTerminal(name)}" (try 'modelgate --help')\n`);
    return EXIT.error;
  }
  try {
    const command = await load();
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true) {
      io.stderr(`modelgate ${name}: ${escapeForTerminal((error as Error).message)}\n`);
      return EXIT.error;
    }
    if (isModelgateError(error)) {
      io.stderr(`modelgate ${name}: ${error.code}: ${escapeForTerminal(error.message)}\n`);
      return EXIT.error;
    }
    // A stack keeps its lines; anything else in it (the message may quote input) is escaped.
    const stack = ((error as Error)?.stack ?? String(error)).split("\n").map(escapeForTerminal).join("\n");
    io.stderr(`modelgate ${name}: internal error: ${stack}\n`);
    return EXIT.error;
  }
}
