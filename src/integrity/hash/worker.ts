/**
 * Entry of the hash pool's worker threads: serves hash requests on the parent port. Kept apart
 * from `./core.ts` so that only a pool that starts a worker loads `node:worker_threads` (start-up,
 * issue 18). It loads `./core.js` beside it when built and `./core.ts` under the test runner (where
 * Node strips the types of the sources), as the pool does for this file.
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, workerData } from "node:worker_threads";

if (!isMainThread && parentPort !== null) {
  const built = new URL("./core.js", import.meta.url);
  const url = existsSync(fileURLToPath(built)) ? built : new URL("./core.ts", import.meta.url);
  const core = (await import(url.href)) as typeof import("./core.js");
  if ((workerData as Record<string, unknown> | null)?.[core.WORKER_MARKER] === true) core.serveRequests(parentPort);
}
