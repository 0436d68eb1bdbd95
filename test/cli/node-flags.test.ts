// The long-running commands start Node again with their V8 flags (cli/node-flags.ts): which
// commands do, what a user's own choice of young generation does, and (Linux) a real `worker`
// process that keeps its process id and runs with the flag.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LONG_RUNNING_FLAGS, restartArguments } from "../../src/cli/node-flags.js";
import { SOURCE_CLI } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/scan.js";

const NODE = "/usr/bin/node";
const SCRIPT = "/opt/modelgate/dist/cli/main.js";
const argv = (...args: string[]) => [NODE, SCRIPT, ...args];

describe("restartArguments", () => {
  it("starts worker and serve again with the flags, keeping Node's own arguments and the CLI's", () => {
    expect(LONG_RUNNING_FLAGS).toEqual(["--max-semi-space-size=16"]);
    expect(restartArguments(NODE, ["--enable-source-maps"], argv("worker", "--redis", "redis://r"), {})).toEqual([
      NODE,
      "--max-semi-space-size=16",
      "--enable-source-maps",
      SCRIPT,
      "worker",
      "--redis",
      "redis://r",
    ]);
    expect(restartArguments(NODE, [], argv("serve", "--port", "8080"), { NODE_OPTIONS: "--no-warnings" })).toEqual([
      NODE,
      "--max-semi-space-size=16",
      SCRIPT,
      "serve",
      "--port",
      "8080",
    ]);
  });

  it("leaves other commands, help and a bare start alone", () => {
    for (const args of [["scan", "x"], ["verify", "x"], [], ["--version"], ["worker", "--help"], ["serve", "-h"]]) {
      expect(restartArguments(NODE, [], argv(...args), {})).toBeUndefined();
    }
    expect(restartArguments(NODE, [], [NODE], {})).toBeUndefined();
  });

  it("keeps a young generation the user chose, in Node's arguments or NODE_OPTIONS, however spelled", () => {
    for (const execArgv of [
      ["--max-semi-space-size=64"],
      ["--min-semi-space-size=8"],
      ["--max_semi_space_size=32"],
      ["--max-semi-space-size"],
    ]) {
      expect(restartArguments(NODE, execArgv, argv("worker"), {})).toBeUndefined();
    }
    for (const options of [
      "--max-semi-space-size=64",
      "--no-warnings  --max_semi_space_size=8",
      '"--min-semi-space-size=4"',
    ]) {
      expect(restartArguments(NODE, [], argv("worker"), { NODE_OPTIONS: options })).toBeUndefined();
    }
    // Not a young-generation flag: restarted.
    expect(restartArguments(NODE, ["--max-old-space-size=4096"], argv("worker"), {})).toBeDefined();
    expect(restartArguments(NODE, [], argv("worker"), { NODE_OPTIONS: "--max-semi-space-size-x" })).toBeDefined();
    // Once restarted, the flag is among Node's arguments: never a second time.
    const again = restartArguments(NODE, [], argv("worker"), {});
    expect(restartArguments(NODE, again?.slice(1, 2) ?? [], argv("worker"), {})).toBeUndefined();
  });
});

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

describe.runIf(existsSync("/proc/self/cmdline") && typeof process.execve === "function")("a worker process", () => {
  it("runs with the flag under the process id it was started with", async () => {
    // A Redis address nothing listens on: the worker starts and keeps trying to connect.
    const url = `redis://127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, [...SOURCE_CLI, "worker", "--redis", url], {
      stdio: "ignore",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    try {
      const pid = child.pid ?? 0;
      const deadline = Date.now() + 20_000;
      let cmdline: string[] = [];
      while (Date.now() < deadline && child.exitCode === null) {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0$/, "").split("\0");
        if (cmdline.includes("--max-semi-space-size=16")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(child.exitCode).toBeNull();
      expect(cmdline.slice(0, 3)).toEqual([
        process.execPath,
        "--max-semi-space-size=16",
        "--experimental-transform-types",
      ]);
      expect(cmdline.slice(-4)).toEqual([join(REPO_ROOT, "src/cli/main.ts"), "worker", "--redis", url]);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);
});
