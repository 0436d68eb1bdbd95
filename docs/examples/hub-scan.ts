// Scan a Hugging Face Hub repository from Node, pinned to one commit, and show what was verified.
// Usage: node hub-scan.ts <owner/name> [revision] [--full]
import { isModelgateError, scan } from "modelgate";

const [repo = "", revision = "main"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const token = process.env.MIRROR_HF_TOKEN; // optional: HF_TOKEN, then the token file, otherwise

try {
  const report = await scan(
    {
      hub: {
        repo,
        revision, // a branch, tag or commit: resolved to a commit once, every read names that commit
        verify: process.argv.includes("--full") ? "full" : "read",
        securityStatus: true, // record the Hub's own scan status (information only)
        ...(token === undefined ? {} : { token }),
      },
    },
    { signal: AbortSignal.timeout(10 * 60_000) },
  );
  const hub = report.target.hub;
  console.log(`${hub?.repo}@${hub?.revision} = commit ${hub?.commit}`);
  for (const file of report.files) {
    const integrity = file.integrity;
    const read = `${integrity?.bytesFetched} of ${file.size} bytes`;
    console.log(`${file.verdict.padEnd(10)} ${file.path}: ${integrity?.status} (${read}, ${integrity?.algorithm})`);
  }
  console.log(`${hub?.requests} requests, ${hub?.bytesTransferred} bytes transferred; verdict ${report.verdict}`);
  process.exitCode = report.complete && report.verdict === "clean" ? 0 : 1;
} catch (error) {
  // An unknown repository or revision, a refused token, a Hub that keeps failing.
  if (isModelgateError(error)) {
    console.error(`cannot scan ${repo}@${revision}: ${error.code}: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
