/**
 * Argument dispatch and error handling shared by the executable and the tests.
 * @module
 */
import { isModelgateError } from "../core/errors.js";
import { TOOL_VERSION } from "../core/version.js";
import { escapeForTerminal } from "../report/render/escape.js";
import { COMMANDS } from "./commands/index.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";
import { didYouMean, optionsOf } from "./suggest.js";

/** The top-level help: commands with their summaries (no command module is loaded for it). */
function help(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length), "-v, --version".length); // bounded: the CLI's commands
  const lines = names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name]!.summary}`);
  return `Usage: modelgate <command> [options]

Commands:
${lines.join("\n")}

Options:
  ${"-h, --help".padEnd(width)}  show this help ('modelgate <command> --help' for a command's)
  ${"-v, --version".padEnd(width)}  print the version

Exit codes: 0 nothing at or above the failure threshold; 1 findings at or above it (or a
verification failed); 2 error, incomplete scan or usage error.
`;
}

const TOP_OPTIONS = ["--help", "--version"];

/** ` (did you mean X?)` or nothing. */
const suggestion = (typed: string, known: readonly string[]): string => {
  const match = didYouMean(typed, known);
  return match === undefined ? "" : ` (did you mean ${match}?)`;
};

/**
 * The one line a command-line mistake prints: `util.parseArgs`'s messages reworded, with the option
 * the user probably meant.
 */
function usageMessage(error: Error & { code?: string }, command: Command | undefined, name: string): string {
  const unknown = /^Unknown option '([^']*)'/.exec(error.message)?.[1];
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown !== undefined) {
    const known = command === undefined ? [] : optionsOf(command.usage);
    const hint = suggestion(unknown.split("=")[0]!, known);
    return `unknown option ${unknown}${hint === "" ? ` (see 'modelgate ${name} --help'; a target that starts with '-' goes after '--')` : hint}`;
  }
  const option = /^Option '(?:-\w, )?(--[^' ]+)(?: <value>)?' argument (missing|is ambiguous)/.exec(error.message);
  if (option !== null) {
    const flag = option[1]!;
    return option[2] === "missing"
      ? `${flag} needs a value`
      : `${flag} needs a value, and the next word starts with '-' (write ${flag}=-VALUE for a value that does)`;
  }
  // Anything else on one line.
  return error.message.replace(/\s*\n\s*/g, " ");
}

/**
 * Runs the CLI with arguments (without the node and script paths).
 * @param argv - the arguments
 * @param io - the process view
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    // Not what was asked for: a usage error, so the help goes to stderr.
    io.stderr(help());
    return EXIT.error;
  }
  if (name === "--help" || name === "-h") {
    io.stdout(help());
    return EXIT.ok;
  }
  if (name === "help") {
    const topic = args[0];
    if (topic === undefined) {
      io.stdout(help());
      return EXIT.ok;
    }
    return runCli([topic, "--help"], io);
  }
  if (name === "--version" || name === "-v" || name === "-V") {
    io.stdout(`${TOOL_VERSION}\n`);
    return EXIT.ok;
  }
  // Own keys only: "toString" or "__proto__" is an unknown command, not an inherited property.
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    const what = name.startsWith("-") ? "option" : "command";
    const hint = suggestion(name, name.startsWith("-") ? TOP_OPTIONS : Object.keys(COMMANDS));
    io.stderr(
      `modelgate: unknown ${what} ${escapeForTerminal(JSON.stringify(name))}${hint} (see 'modelgate --help')\n`,
    );
    return EXIT.error;
  }
  let command: Command | undefined;
  try {
    command = await entry.load();
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true) {
      const message = usageMessage(error as Error, command, name);
      io.stderr(`modelgate ${name}: ${escapeForTerminal(message)}\n`);
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
