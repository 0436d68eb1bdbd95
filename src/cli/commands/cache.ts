/**
 * `modelgate cache stats|prune|clear`: the file verdict cache (`scan --cache-dir`, `FileVerdictCache`
 * in src/scan/cache.ts) seen from outside: what it holds, dropping what no scan can use any more, or
 * everything.
 *
 * The walk knows the cache's layout, `<dir>/v1/<version>/<policy hash>/<sha256[0:2]>/<sha256>.json`
 * (and `.<sha256>.<random>.tmp` files of writes in progress), and touches nothing else: a name that
 * does not fit, a symbolic link, a FIFO or any other non-regular file is counted as foreign and left
 * alone; links are never followed (only folders seen by `lstat` are entered). Removing is `unlink`
 * of a regular file the walk saw, and `rmdir` of a cache folder once empty.
 * @module
 */
import type { Dir, Stats } from "node:fs";
import { lstat, opendir, rmdir, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "../../core/node-util.js";
import { TOOL_VERSION } from "../../core/version.js";
import { escapeForTerminal } from "../../report/render/escape.js";
import { type CliIO, type Command, cwdOf, EXIT, UsageError } from "../io.js";
import { didYouMean } from "../suggest.js";

const ACTIONS = ["stats", "prune", "clear"] as const;
type Action = (typeof ACTIONS)[number];

const USAGE = `Usage: modelgate cache stats|prune|clear --cache-dir DIR [options]

The verdict cache of 'modelgate scan --cache-dir DIR': one JSON file per file scanned, keyed by
content SHA-256, modelgate version and policy hash. MODELGATE_CACHE_DIR names DIR when
--cache-dir is not given.

  stats   entries and bytes, by modelgate version (current or other)
  prune   remove what no scan of this version can use: entries of other modelgate versions,
          writes left over by interrupted scans (older than an hour), and with --older-than
          DAYS entries not written for that long
  clear   remove every entry

Only files the cache writes are touched: other names, symbolic links (never followed) and special
files are counted as foreign and left in place.

Options:
  --cache-dir DIR      the cache folder (as given to scan --cache-dir)
  --older-than DAYS    prune: also entries older than DAYS (by modification time)
  --dry-run            prune/clear: count what would be removed, remove nothing
  --format FORMAT      text|json (default text)
  -h, --help           show this help

Exit codes: 0 done; 2 the folder cannot be read, something could not be removed, or usage error.`;

const HEX64 = /^[0-9a-f]{64}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,64}$/;
const SHARD = /^[0-9a-f]{2}$/;
const ENTRY = /^([0-9a-f]{64})\.json$/;
const TEMP = /^\.([0-9a-f]{64})\.[0-9a-f]{12}\.tmp$/;
/** Age after which a temporary file is a leftover, not a write in progress. */
const TEMP_AGE_MS = 60 * 60_000;
/** Most names the walk looks at (a bound on the work, whatever the folder holds). */
export const MAX_CACHE_NAMES = 10_000_000;

/** Counts of one walk. */
export interface CacheStats {
  /** The cache folder. */
  dir: string;
  /** Entries (`<sha256>.json`) by version: written by this modelgate version or another. */
  entries: { current: number; other: number };
  /** Bytes of those entries. */
  bytes: { current: number; other: number };
  /** Policy hashes with entries of this version. */
  policies: number;
  /** Other modelgate versions with entries. */
  otherVersions: string[];
  /** Temporary files of writes (in progress or left over). */
  temporary: number;
  /** Names that are not the cache's (or links, special files), left alone. */
  foreign: number;
  /** Entries and temporary files removed (prune/clear), or that would be (`--dry-run`). */
  removed: number;
  /** Bytes removed. */
  removedBytes: number;
  /** Paths that could not be removed, with why. */
  failed: string[];
  /** The walk stopped at {@link MAX_CACHE_NAMES}. */
  truncated: boolean;
}

/** What to remove. */
interface Plan {
  readonly action: Action;
  readonly olderThanMs: number | undefined;
  readonly dryRun: boolean;
  readonly now: number;
}

/**
 * A folder only this user can change: ours, and writable by neither group nor others. Names are
 * checked with `lstat` and then removed by path; in a folder someone else can write to, a name
 * could be swapped for a link in between (Node has no `unlinkat`), so such folders are foreign:
 * never entered, never emptied.
 * @param info - the folder's `lstat`
 */
function privateFolder(info: Stats): boolean {
  const uid = process.getuid?.();
  return info.isDirectory() && (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0;
}

/** Folder entries by name, with their `lstat` (no link is followed). */
async function* children(dir: string, stats: CacheStats, budget: { names: number }): AsyncGenerator<[string, Stats]> {
  let handle: Dir;
  try {
    handle = await opendir(dir);
  } catch (error) {
    stats.failed.push(`${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return;
  }
  const names: string[] = [];
  // Names first, then lstat: removing while a folder is being read may skip names on some systems.
  for await (const item of handle) {
    if (budget.names-- <= 0) {
      stats.truncated = true;
      break;
    }
    names.push(item.name);
  }
  for (const name of names) {
    try {
      yield [name, await lstat(join(dir, name))];
    } catch {
      // Gone meanwhile (a concurrent prune or scan): nothing to count.
    }
  }
}

/**
 * Walks a verdict cache folder, counting and (for prune/clear) removing.
 * @param dir - the cache folder
 * @param plan - what to remove
 */
export async function walkCache(dir: string, plan: Plan): Promise<CacheStats> {
  const stats: CacheStats = {
    dir,
    entries: { current: 0, other: 0 },
    bytes: { current: 0, other: 0 },
    policies: 0,
    otherVersions: [],
    temporary: 0,
    foreign: 0,
    removed: 0,
    removedBytes: 0,
    failed: [],
    truncated: false,
  };
  const budget = { names: MAX_CACHE_NAMES };
  const remove = async (path: string, info: Stats): Promise<void> => {
    if (plan.dryRun) {
      stats.removed++;
      stats.removedBytes += info.size;
      return;
    }
    try {
      await unlink(path);
      stats.removed++;
      stats.removedBytes += info.size;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") stats.failed.push(`${path}: ${code ?? (error as Error).message}`);
    }
  };
  /** Removes an emptied cache folder (rmdir fails on a non-empty one, and never follows a link). */
  const prune = async (path: string): Promise<void> => {
    if (plan.action !== "stats" && !plan.dryRun) await rmdir(path).catch(() => undefined);
  };

  const top = join(dir, "v1");
  for await (const [name, info] of children(dir, stats, budget)) {
    if (name !== "v1" || !info.isDirectory()) stats.foreign++;
  }
  const topInfo = await lstat(top).catch(() => undefined);
  if (topInfo === undefined || !topInfo.isDirectory()) return stats;
  if (!privateFolder(topInfo)) {
    stats.foreign++;
    return stats;
  }
  for await (const [version, vInfo] of children(top, stats, budget)) {
    const vDir = join(top, version);
    if (!VERSION.test(version) || !privateFolder(vInfo)) {
      stats.foreign++;
      continue;
    }
    const current = version === TOOL_VERSION;
    let any = false;
    for await (const [policy, pInfo] of children(vDir, stats, budget)) {
      const pDir = join(vDir, policy);
      if (!HEX64.test(policy) || !privateFolder(pInfo)) {
        stats.foreign++;
        continue;
      }
      let policyEntries = 0;
      for await (const [shard, sInfo] of children(pDir, stats, budget)) {
        const sDir = join(pDir, shard);
        if (!SHARD.test(shard) || !privateFolder(sInfo)) {
          stats.foreign++;
          continue;
        }
        for await (const [file, info] of children(sDir, stats, budget)) {
          const path = join(sDir, file);
          const entry = ENTRY.exec(file)?.[1];
          const temp = TEMP.exec(file)?.[1];
          const digest = entry ?? temp;
          if (digest === undefined || !digest.startsWith(shard) || !info.isFile()) {
            stats.foreign++;
            continue;
          }
          if (temp !== undefined) {
            stats.temporary++;
            const leftover = plan.now - info.mtimeMs > TEMP_AGE_MS;
            if (plan.action === "clear" || (plan.action === "prune" && leftover)) {
              await remove(path, info);
            }
            continue;
          }
          policyEntries++;
          stats.entries[current ? "current" : "other"]++;
          stats.bytes[current ? "current" : "other"] += info.size;
          const old = plan.olderThanMs !== undefined && plan.now - info.mtimeMs > plan.olderThanMs;
          if (plan.action === "clear" || (plan.action === "prune" && (!current || old))) await remove(path, info);
        }
        await prune(sDir);
      }
      if (policyEntries > 0) {
        any = true;
        if (current) stats.policies++;
      }
      await prune(pDir);
    }
    if (any && !current) stats.otherVersions.push(version);
    await prune(vDir);
  }
  await prune(top);
  return stats;
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
const human = (bytes: number): string => {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
};

function text(stats: CacheStats, action: Action, dryRun: boolean): string {
  const lines = [
    `Cache: ${stats.dir}`,
    `Entries: ${stats.entries.current + stats.entries.other} (${human(stats.bytes.current + stats.bytes.other)}): ` +
      `${stats.entries.current} for modelgate ${TOOL_VERSION} under ${stats.policies} ${stats.policies === 1 ? "policy" : "policies"}, ` +
      `${stats.entries.other} for other versions${stats.otherVersions.length > 0 ? ` (${stats.otherVersions.sort().join(", ")})` : ""}`,
  ];
  if (stats.temporary > 0) lines.push(`Unfinished writes: ${stats.temporary}`);
  if (stats.foreign > 0) lines.push(`Not the cache's (left alone): ${stats.foreign}`);
  if (action !== "stats") {
    lines.push(`${dryRun ? "Would remove" : "Removed"}: ${stats.removed} files (${human(stats.removedBytes)})`);
  }
  if (stats.truncated) lines.push(`Stopped after ${MAX_CACHE_NAMES} names: run again to go on`);
  for (const failure of stats.failed.slice(0, 20)) lines.push(`Failed: ${failure}`);
  if (stats.failed.length > 20) lines.push(`... ${stats.failed.length - 20} more failures`);
  return `${lines.map(escapeForTerminal).join("\n")}\n`;
}

/** The cache folder from the flag or MODELGATE_CACHE_DIR. */
function cacheDirOf(flag: string | undefined, io: CliIO): string {
  const dir = flag ?? io.env.MODELGATE_CACHE_DIR;
  if (dir === undefined || dir === "") {
    throw new UsageError("cache needs --cache-dir DIR (the folder given to scan --cache-dir) or MODELGATE_CACHE_DIR");
  }
  return resolve(cwdOf(io) ?? ".", dir);
}

/** `modelgate cache`. */
export const cacheCommand: Command = {
  summary: "inspect, prune or clear a verdict cache folder (--cache-dir)",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        "cache-dir": { type: "string" },
        "older-than": { type: "string" },
        "dry-run": { type: "boolean", default: false },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    const [action, ...rest] = positionals;
    if (action === undefined) throw new UsageError(`cache needs an action: ${ACTIONS.join(", ")}`);
    if (!(ACTIONS as readonly string[]).includes(action)) {
      const match = didYouMean(action, ACTIONS);
      throw new UsageError(
        `unknown cache action "${action}"${match === undefined ? "" : ` (did you mean ${match}?)`}: ${ACTIONS.join(", ")}`,
      );
    }
    if (rest.length > 0) throw new UsageError(`cache ${action} takes no other argument`);
    if (values.format !== "text" && values.format !== "json") throw new UsageError("--format must be text or json");
    let olderThanMs: number | undefined;
    if (values["older-than"] !== undefined) {
      if (action !== "prune") throw new UsageError("--older-than applies to prune");
      const days = Number(values["older-than"]);
      if (!Number.isFinite(days) || days < 0) throw new UsageError("--older-than must be a number of days (0 or more)");
      olderThanMs = days * 86_400_000;
    }
    if (values["dry-run"] && action === "stats") throw new UsageError("--dry-run applies to prune and clear");
    const dir = cacheDirOf(values["cache-dir"], io);
    const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--cache-dir ${dir}: ${error.code === "ENOENT" ? "does not exist" : error.code}`);
    });
    if (info.isSymbolicLink()) throw new UsageError(`--cache-dir ${dir}: is a symbolic link; name the folder itself`);
    if (!info.isDirectory()) throw new UsageError(`--cache-dir ${dir}: is not a folder`);
    if (action !== "stats" && !privateFolder(info)) {
      throw new UsageError(
        `--cache-dir ${dir}: others can write to it (or it is not yours); nothing is removed from such a folder`,
      );
    }
    const stats = await walkCache(dir, {
      action: action as Action,
      olderThanMs,
      dryRun: values["dry-run"],
      now: Date.now(),
    });
    io.stdout(
      values.format === "json"
        ? `${JSON.stringify({ action, dryRun: values["dry-run"], toolVersion: TOOL_VERSION, ...stats }, null, 2)}\n`
        : text(stats, action as Action, values["dry-run"]),
    );
    return stats.failed.length > 0 || stats.truncated ? EXIT.error : EXIT.ok;
  },
};
