// A registry-mirror worker: scans every requested Hub repository once, at a pinned commit, and
// decides what enters the mirror. Usage: node mirror-worker.ts <requests-file> <cache-dir>
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { FileVerdictCache, HubTransport, isModelgateError, parseHubUri, type ScanTarget, scanMany } from "modelgate";
import { decide } from "./mirror-decide.ts";

const [requests, cacheDir] = process.argv.slice(2);
if (requests === undefined || cacheDir === undefined) {
  console.error("usage: node mirror-worker.ts <requests-file> <cache-dir>");
  process.exit(2);
}

const counts = { publish: 0, quarantine: 0, retry: 0, reject: 0 };

// Stop cleanly on SIGTERM: scans in flight end as aborted (incomplete, so "retry") and no new
// request is taken (scanMany would otherwise go on reading the input, reporting each as aborted).
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());

/** Requests as they arrive: here a file of hf:// URIs; in production, a queue consumer. */
async function* incoming(): AsyncGenerator<ScanTarget> {
  for await (const raw of createInterface({ input: createReadStream(requests!) })) {
    if (stop.signal.aborted) return; // what was not taken stays in the queue
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      const { repo, revision, path } = parseHubUri(line);
      yield {
        hub: {
          repo,
          ...(revision === undefined ? {} : { revision }),
          ...(path === undefined ? {} : { paths: [path] }),
        },
      };
    } catch (error) {
      if (!isModelgateError(error)) throw error;
      counts.reject++;
      console.log(`reject     ${line}: ${error.message}`);
    }
  }
}

for await (const { report } of scanMany(incoming(), {
  signal: stop.signal,
  targetConcurrency: 4, // repositories at once
  cache: new FileVerdictCache(cacheDir), // content already scanned anywhere is not read again
  // One budget for the whole worker: requests and range bytes in flight across all repositories.
  hubTransport: new HubTransport({ maxConnections: 16, maxBytesInFlight: 256 << 20 }),
})) {
  const decision = decide(report);
  counts[decision.action]++;
  const cached = report.files.filter((f) => f.cached === true).length;
  const bytes = report.target.hub?.bytesTransferred ?? 0;
  console.log(
    `${decision.action.padEnd(10)} ${decision.subject}: ${decision.reason} [${cached} cached, ${bytes} bytes]`,
  );
}
console.log(
  Object.entries(counts)
    .map(([action, n]) => `${n} ${action}`)
    .join(", "),
);
