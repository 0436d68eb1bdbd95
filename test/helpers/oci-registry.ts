// A real OCI registry on loopback for tests: Debian's `docker-registry` (the CNCF distribution
// registry) on a free 127.0.0.1 port, with a temporary storage folder and a generated config;
// stopped (and its folder removed) by `stop()`. `.ci/run` installs the package; without it, tests
// skip locally and fail under CI=true.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the registry binary is. */
export const REGISTRY_BIN = process.env.MODELGATE_TEST_REGISTRY_BIN ?? "/usr/bin/docker-registry";

/** Whether registry-backed tests can run here; under CI a missing binary is an error, not a skip. */
export function registryAvailable(): boolean {
  if (existsSync(REGISTRY_BIN)) return true;
  if (process.env.CI === "true") {
    throw new Error(`${REGISTRY_BIN} is missing: install Debian's docker-registry package (.ci/run does)`);
  }
  return false;
}

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Its output so far (for failure messages). */
  log(): string;
  /** Stops it and removes its storage. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
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

/**
 * Starts a registry and waits until `/v2/` answers (at most 15 s).
 * @returns the running registry
 */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-registry-"));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "storage")}`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n");
    await writeFile(join(dir, "config.yml"), config);
    const child: ChildProcess = spawn(REGISTRY_BIN, ["serve", join(dir, "config.yml")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    });
    child.stderr?.on("data", (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    });
    let exited = false;
    child.on("exit", () => {
      exited = true;
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
        await r.body?.cancel();
        if (r.status === 200) {
          return {
            host: `127.0.0.1:${port}`,
            url,
            log: () => output,
            stop: async () => {
              if (!exited) {
                const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
                child.kill("SIGTERM");
                await Promise.race([gone, new Promise((r2) => setTimeout(r2, 5_000))]);
                if (!exited) child.kill("SIGKILL");
              }
              await rm(dir, { recursive: true, force: true });
            },
          };
        }
      } catch (error) {
        lastError = error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!exited) child.kill("SIGKILL");
    lastError = new Error(`docker-registry did not start on port ${port}: ${output.slice(-2_000)}`);
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
