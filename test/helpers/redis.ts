/**
 * A throw-away Redis for tests: Debian's `redis-server` on a free loopback port with a temporary
 * directory, no persistence; `restart()` stops and starts it on the same port (fault tests).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The redis-server binary (override with MODELGATE_TEST_REDIS_BIN). */
export const REDIS_BIN = process.env.MODELGATE_TEST_REDIS_BIN ?? "/usr/bin/redis-server";

/** Whether the binary is there (CI installs it: `.ci/run` lists `redis-server`). */
export function redisAvailable(): boolean {
  return existsSync(REDIS_BIN);
}

/** A running test Redis. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** The port. */
  readonly port: number;
  /**
   * Restarts the server on the same port: `SHUTDOWN SAVE` (the data survives, as with a Redis that
   * persists), or SIGKILL when `hard` (the data is lost: this test Redis does not persist).
   */
  restart(options?: { downMs?: number; hard?: boolean }): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.write("PING\r\n");
      });
      socket.once("data", (d) => {
        socket.destroy();
        resolve(d.toString().startsWith("+PONG"));
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts redis-server on a free 127.0.0.1 port with a temporary directory.
 * @param options - `timeoutMs` to wait for it (default 10 s)
 */
export async function startRedis(options: { timeoutMs?: number } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "mg-redis-"));
  const port = await freePort();
  const timeoutMs = options.timeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
    const p = spawn(REDIS_BIN, args, { stdio: "ignore" });
    child = p;
    await waitForPort(port, timeoutMs);
  };
  const kill = async (): Promise<void> => {
    const p = child;
    child = undefined;
    if (p === undefined || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(o = {}) {
      const p = child;
      if (o.hard !== true && p !== undefined && p.exitCode === null) {
        const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
        await redisCommand(port, "SHUTDOWN SAVE");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      await kill();
      await new Promise((r) => setTimeout(r, o.downMs ?? 500));
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sends one command to a Redis (inline protocol) and returns the first reply line.
 * @param port - the server's port
 * @param command - e.g. `SHUTDOWN SAVE`
 */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let out = "";
    socket.once("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (d) => {
      out += d.toString();
      socket.destroy();
      resolve(out.split("\r\n")[0] ?? "");
    });
    socket.once("close", () => resolve(out.split("\r\n")[0] ?? ""));
    socket.once("error", () => resolve(""));
    socket.connect(port, "127.0.0.1");
  });
}
