// A verdict cache in SQLite (node:sqlite): one file that every worker on a machine can share.
// Usage: node sqlite-cache.ts <verdicts.db> <hf://owner/name[@revision]>...
import { DatabaseSync } from "node:sqlite";
import {
  type FileReport,
  parseHubUri,
  type ScanTarget,
  scanMany,
  type VerdictCache,
  type VerdictCacheKey,
} from "modelgate";
import { FileReportSchema } from "modelgate/report";

/** File results keyed by (content SHA-256, modelgate version, policy hash). */
class SqliteVerdictCache implements VerdictCache {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE IF NOT EXISTS verdicts (
        sha256 TEXT NOT NULL, tool TEXT NOT NULL, policy TEXT NOT NULL, report TEXT NOT NULL,
        PRIMARY KEY (sha256, tool, policy))`);
  }

  async get(key: VerdictCacheKey): Promise<FileReport | undefined> {
    const row = this.#db
      .prepare("SELECT report FROM verdicts WHERE sha256 = ? AND tool = ? AND policy = ?")
      .get(key.sha256, key.toolVersion, key.policyHash) as { report: string } | undefined;
    if (row === undefined) return undefined;
    // A row that is not a valid file report is a miss (the file is scanned again), never a verdict.
    const parsed = FileReportSchema.safeParse(JSON.parse(row.report));
    return parsed.success ? parsed.data : undefined;
  }

  async set(key: VerdictCacheKey, report: FileReport): Promise<void> {
    this.#db
      .prepare("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)")
      .run(key.sha256, key.toolVersion, key.policyHash, JSON.stringify(report));
  }
}

const [database = "verdicts.db", ...uris] = process.argv.slice(2);
const targets: ScanTarget[] = uris.map((uri) => {
  const { repo, revision, path } = parseHubUri(uri);
  return {
    hub: {
      repo,
      ...(revision === undefined ? {} : { revision }),
      ...(path === undefined ? {} : { paths: [path] }),
      verify: "full", // files read whole get a computed SHA-256: only those results are cached
    },
  };
});

for await (const { index, report } of scanMany(targets, { cache: new SqliteVerdictCache(database) })) {
  const cached = report.files.filter((f) => f.cached === true).length;
  const hub = report.target.hub;
  console.log(
    `${report.verdict.padEnd(10)} ${uris[index]}: ${cached} of ${report.files.length} files from cache, ${hub?.bytesTransferred ?? 0} bytes transferred`,
  );
}
