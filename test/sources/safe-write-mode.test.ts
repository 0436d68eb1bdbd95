/**
 * A file replaced by writeFileSafely keeps its permission bits, but never set-id, sticky or
 * group/other write bits: a file planted at an output path must not make the report setuid or
 * writable by everyone.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSafely } from "../../src/sources/safe-write.js";

const POSIX = process.platform !== "win32";
const dir = mkdtempSync(join(tmpdir(), "mg-write-mode-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileSafely over a planted file", () => {
  it.skipIf(!POSIX).each([
    [0o6777, 0o755],
    [0o1666, 0o644],
    [0o666, 0o644],
    [0o640, 0o640],
    [0o600, 0o600],
  ])("mode %s becomes %s", async (planted, kept) => {
    const path = join(dir, `out-${planted.toString(8)}.json`);
    writeFileSync(path, "planted");
    chmodSync(path, planted);
    await writeFileSafely(path, "{}\n");
    expect(readFileSync(path, "utf8")).toBe("{}\n");
    expect(statSync(path).mode & 0o7777).toBe(kept);
  });
});
