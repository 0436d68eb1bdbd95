// The long-running commands start Node again with their V8 flags (cli/node-flags.ts): which
// commands do, what a user's own choice of young generation does, and (Linux) a real `worker`
// process that keeps its process id and runs with the flag.
import { fork, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LONG_RUNNING_FLAGS, type ProcessView, restartArguments } from "../../src/cli/node-flags.js";
import { SOURCE_CLI } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/scan.js";

const NODE = "/usr/bin/node";
const SCRIPT = "/opt/modelgate/dist/cli/main.js";
const argv = (...args: string[]) => [NODE, SCRIPT, ...args];
/** A process view: Node's arguments, the CLI's, and what else is given. */
const view = (
  execArgv: string[],
  args: string[],
  more: { env?: Record<string, string>; ipc?: boolean; execPath?: string } = {},
): ProcessView => ({
  execPath: more.execPath ?? NODE,
  execArgv,
  argv: argv(...args),
  env: more.env ?? {},
  ipc: more.ipc ?? false,
});

describe("restartArguments", () => {
  it("starts worker and serve again with the flags, keeping Node's own arguments and the CLI's", () => {
    expect(LONG_RUNNING_FLAGS).toEqual(["--max-semi-space-size=16"]);
    expect(restartArguments(view(["--enable-source-maps"], ["worker", "--redis", "redis://r"]))).toEqual([
      NODE,
      "--max-semi-space-size=16",
      "--enable-source-maps",
      SCRIPT,
      "worker",
      "--redis",
      "redis://r",
    ]);
    expect(restartArguments(view([], ["serve", "--port", "8080"], { env: { NODE_OPTIONS: "--no-warnings" } }))).toEqual(
      [NODE, "--max-semi-space-size=16", SCRIPT, "serve", "--port", "8080"],
    );
    // Node's executable under another name that still says node (a versioned install).
    expect(restartArguments(view([], ["worker"], { execPath: "/opt/node-v24/bin/nodejs" }))?.[0]).toBe(
      "/opt/node-v24/bin/nodejs",
    );
  });

  it("leaves other commands, help and a bare start alone", () => {
    for (const args of [["scan", "x"], ["verify", "x"], [], ["--version"], ["worker", "--help"], ["serve", "-h"]]) {
      expect(restartArguments(view([], args))).toBeUndefined();
    }
    expect(restartArguments({ ...view([], []), argv: [NODE] })).toBeUndefined();
  });

  it("leaves a process with an IPC channel, one started through the dynamic loader, and an opt-out alone", () => {
    // fork() and cluster: execve would close the channel.
    expect(restartArguments(view([], ["serve"], { ipc: true }))).toBeUndefined();
    // `ld-linux-x86-64.so.2 node main.js worker`: execPath is the loader, which takes no V8 flags.
    expect(restartArguments(view([], ["worker"], { execPath: "/lib64/ld-linux-x86-64.so.2" }))).toBeUndefined();
    expect(restartArguments(view([], ["worker"], { env: { MODELGATE_NO_RESTART: "1" } }))).toBeUndefined();
    expect(restartArguments(view([], ["worker"], { env: { MODELGATE_NO_RESTART: "0" } }))).toBeDefined();
  });

  it("keeps a heap the user sized, in Node's arguments or NODE_OPTIONS, however spelled", () => {
    for (const execArgv of [
      ["--max-semi-space-size=64"],
      ["--min-semi-space-size=8"],
      ["--max_semi_space_size=32"],
      ["--max-semi-space-size"],
      // V8 takes the young generation out of a total heap size (and refuses a semi-space size
      // beside both --max-heap-size and --max-old-space-size).
      ["--max-heap-size=96"],
      ["--max_heap_size=512", "--max-old-space-size=400"],
    ]) {
      expect(restartArguments(view(execArgv, ["worker"]))).toBeUndefined();
    }
    for (const options of [
      "--max-semi-space-size=64",
      "--no-warnings  --max_semi_space_size=8",
      '"--min-semi-space-size=4"',
      "--max-heap-size=512 --max-old-space-size=400",
    ]) {
      expect(restartArguments(view([], ["worker"], { env: { NODE_OPTIONS: options } }))).toBeUndefined();
    }
    // Not a heap-size flag of that kind: restarted.
    expect(restartArguments(view(["--max-old-space-size=4096"], ["worker"]))).toBeDefined();
    expect(restartArguments(view([], ["worker"], { env: { NODE_OPTIONS: "--max-semi-space-size-x" } }))).toBeDefined();
    // Once restarted, the flag is among Node's arguments: never a second time.
    const again = restartArguments(view([], ["worker"]));
    expect(restartArguments(view(again?.slice(1, 2) ?? [], ["worker"]))).toBeUndefined();
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

  it("keeps its IPC channel when started by fork (no restart)", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const [execArgv, main] = [SOURCE_CLI.slice(0, -1), SOURCE_CLI.at(-1) as string];
    const child = fork(main, ["worker", "--redis", url], {
      execArgv,
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    try {
      let disconnected = false;
      child.once("disconnect", () => {
        disconnected = true;
      });
      // A restart happens within a few hundred ms of the start (see the test above).
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && !disconnected && child.exitCode === null) {
        const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, "utf8");
        expect(cmdline).not.toContain("--max-semi-space-size");
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(disconnected).toBe(false);
      expect(child.exitCode).toBeNull();
      expect(child.connected).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);
});
