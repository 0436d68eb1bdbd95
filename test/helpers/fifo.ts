import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A temporary folder for tests that plant FIFOs, removed after the file's tests. A writer left
 * blocked in open() on a FIFO (the bug such tests guard against) is released first by opening the
 * read end without blocking.
 * @param prefix - folder name prefix
 */
export function fifoScratch(prefix: string): { readonly dir: string; mkfifo(path: string): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const fifos: string[] = [];
  afterAll(() => {
    for (const fifo of fifos) {
      try {
        closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    mkfifo(path: string) {
      execFileSync("mkfifo", [path]);
      fifos.push(path);
    },
  };
}
