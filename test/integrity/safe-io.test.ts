// Issue 13 (trust boundaries): link-safe writes and reads (src/sources/safe-write.ts), the tree walk
// that never describes a link out of the root as usable, and hashing that never blocks or follows.
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { HashPool } from "../../src/integrity/hash/pool.js";
import { parseBundle } from "../../src/integrity/oms/bundle.js";
import { readSignatureFile } from "../../src/integrity/oms/verify.js";
import { parseLockFile, readLockFile } from "../../src/integrity/pins/lock.js";
import { listTree } from "../../src/integrity/walk.js";
import { signatureViolation } from "../../src/policy/signature.js";
import {
  describeBytes,
  describeJsonError,
  readFileSafely,
  UnsafePathError,
  writeFileSafely,
} from "../../src/sources/safe-write.js";
import { fifoScratch } from "../helpers/fifo.js";

const scratch = fifoScratch("mg-safeio-");
const tmp = scratch.dir;
const mkfifo = scratch.mkfifo;

let n = 0;
const fresh = () => {
  const dir = join(tmp, `d${n++}`);
  mkdirSync(dir);
  return dir;
};
/** Resolves with the promise's outcome, or "timeout" when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms = 3000): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
const reasonOf = (error: unknown) => (error instanceof UnsafePathError ? error.reason : String(error));

describe("writeFileSafely", () => {
  it("creates a new file with mode 0644 (less the umask), leaving no temporary file", async () => {
    const dir = fresh();
    await writeFileSafely(join(dir, "out.json"), "{}\n");
    expect(readFileSync(join(dir, "out.json"), "utf8")).toBe("{}\n");
    expect(statSync(join(dir, "out.json")).mode & 0o133).toBe(0); // never executable or group/other-writable
    expect(readdirSync(dir)).toEqual(["out.json"]);
  });

  it("replaces a regular file by rename, keeping its mode; a hard link elsewhere keeps the old bytes", async () => {
    const dir = fresh();
    const path = join(dir, "out.json");
    writeFileSync(path, "old", { mode: 0o600 });
    execFileSync("ln", [path, join(dir, "hard")]);
    await writeFileSafely(path, "new");
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "hard"), "utf8")).toBe("old");
    expect(readdirSync(dir).sort()).toEqual(["hard", "out.json"]);
  });

  it("refuses a symbolic link (to a file or dangling) and leaves the target alone", async () => {
    const dir = fresh();
    const target = join(dir, "target.txt");
    writeFileSync(target, "precious");
    symlinkSync(target, join(dir, "link"));
    symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
    for (const name of ["link", "dangling"]) {
      const error = await writeFileSafely(join(dir, name), "x").catch((e: unknown) => e);
      expect(reasonOf(error)).toBe("symlink");
    }
    expect(readFileSync(target, "utf8")).toBe("precious");
    expect(() => lstatSync(join(dir, "nowhere"))).toThrow();
    expect(readdirSync(dir).sort()).toEqual(["dangling", "link", "target.txt"]);
  });

  it("refuses a FIFO without opening it, and a directory", async () => {
    const dir = fresh();
    mkfifo(join(dir, "fifo"));
    mkdirSync(join(dir, "folder"));
    const fifo = await within(writeFileSafely(join(dir, "fifo"), "x").catch((e: unknown) => e));
    expect(reasonOf(fifo)).toBe("not-regular");
    expect((fifo as Error).message).toMatch(/FIFO/);
    const folder = await writeFileSafely(join(dir, "folder"), "x").catch((e: unknown) => e);
    expect(reasonOf(folder)).toBe("not-regular");
  });
});

describe("readFileSafely", () => {
  it("reads a regular file; missing is undefined", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "a"), "abc");
    expect((await readFileSafely(join(dir, "a"), { maxBytes: 3 }))?.toString()).toBe("abc");
    expect(await readFileSafely(join(dir, "missing"), { maxBytes: 3 })).toBeUndefined();
  });

  it("refuses links, FIFOs (promptly) and files over the cap", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "a"), "abcd");
    symlinkSync(join(dir, "a"), join(dir, "link"));
    mkfifo(join(dir, "fifo"));
    expect(reasonOf(await readFileSafely(join(dir, "link"), { maxBytes: 10 }).catch((e: unknown) => e))).toBe(
      "symlink",
    );
    const fifo = await within(readFileSafely(join(dir, "fifo"), { maxBytes: 10 }).catch((e: unknown) => e));
    expect(reasonOf(fifo)).toBe("not-regular");
    expect(reasonOf(await readFileSafely(join(dir, "a"), { maxBytes: 3 }).catch((e: unknown) => e))).toBe("too-large");
    // A link the user named may be followed on request; a FIFO never is read.
    expect((await readFileSafely(join(dir, "link"), { maxBytes: 10, followLinks: true }))?.toString()).toBe("abcd");
  });

  it("signature and lock files are read the same way, and their parse errors never quote them", async () => {
    const dir = fresh();
    const secret = join(dir, "secret");
    writeFileSync(secret, "root:x:0:0:SECRET");
    symlinkSync(secret, join(dir, "model.sig"));
    symlinkSync(secret, join(dir, "modelgate.lock.json"));
    await expect(readSignatureFile(join(dir, "model.sig"))).rejects.toMatchObject({ stage: "parse" });
    await expect(readLockFile(join(dir, "modelgate.lock.json"))).rejects.toThrow(/symbolic link/);
    for (const attempt of [() => parseBundle("root:x:0:0:SECRET"), () => parseLockFile("root:x:0:0:SECRET")]) {
      let message = "";
      try {
        attempt();
      } catch (error) {
        expect(isModelgateError(error)).toBe(true);
        message = (error as Error).message;
      }
      expect(message).toMatch(/not JSON \(17 bytes/);
      expect(message).not.toMatch(/root|SECRET/);
    }
  });

  it("describes bytes and JSON errors without echoing raw bytes", () => {
    expect(describeBytes(Buffer.from('ab\u0000"c'), 8)).toBe('5 bytes, starting "ab\\x00\\x22c"');
    expect(describeBytes(Buffer.from("secret"))).toBe("6 bytes");
    let error: unknown;
    try {
      JSON.parse('{"a": tru');
    } catch (e) {
      error = e;
    }
    expect(describeJsonError(error, 9)).not.toMatch(/tru/);
  });
});

describe("listTree and hashing never follow a link out of the root", () => {
  it("a link leaving the root (directly or through a linked folder) is `outside`, with no target path", async () => {
    const outside = fresh();
    writeFileSync(join(outside, "secret.bin"), "s");
    const root = fresh();
    writeFileSync(join(root, "w.bin"), "w");
    symlinkSync(join(outside, "secret.bin"), join(root, "abs.bin"));
    symlinkSync(outside, join(root, "folder"));
    mkdirSync(join(root, "sub"));
    symlinkSync("../folder/secret.bin", join(root, "sub", "via.bin"));
    symlinkSync("../w.bin", join(root, "sub", "inside.bin"));
    const entries = new Map((await listTree(root)).map((e) => [e.path, e]));
    expect(entries.get("abs.bin")).toMatchObject({ kind: "symlink", targetKind: "outside", size: 0 });
    expect(entries.get("folder")).toMatchObject({ kind: "symlink", targetKind: "outside" });
    expect(entries.get("sub/via.bin")).toMatchObject({ kind: "symlink", targetKind: "outside" });
    expect(entries.get("abs.bin")?.targetPath).toBeUndefined();
    expect(entries.get("sub/inside.bin")).toMatchObject({ targetKind: "file", size: 1 });
    expect(entries.get("sub/inside.bin")?.targetPath).toMatch(/w\.bin$/);
  });

  it("the hash pool refuses a link with noFollow and a FIFO without blocking", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "a"), "a");
    symlinkSync(join(dir, "a"), join(dir, "link"));
    mkfifo(join(dir, "fifo"));
    const pool = new HashPool({ workers: 0 });
    await expect(pool.hash({ path: join(dir, "link"), noFollow: true })).rejects.toThrow(/symbolic link/);
    await expect(pool.hash({ path: join(dir, "link") })).resolves.toMatchObject({ size: 1 });
    const fifo = await within(pool.hash({ path: join(dir, "fifo") }).catch((e: unknown) => e));
    expect(String(fifo)).toMatch(/not a regular file/);
  });
});

describe("signatureViolation and coverage", () => {
  const verified = { status: "verified", method: "key" };
  it("a result for a sub-folder without coverage never satisfies a requirement", () => {
    expect(signatureViolation({ ...verified, model: "vendor" }, {})?.message).toMatch(/covers only vendor\//);
    expect(signatureViolation({ ...verified, model: "." }, {})).toBeUndefined();
  });
  it("coverage decides when present", () => {
    const complete = { complete: true, uncoveredCount: 0, uncovered: [] };
    const partial = { complete: false, uncoveredCount: 7, uncovered: ["a", "b", "c", "d", "e", "f"] };
    expect(signatureViolation({ ...verified, model: "vendor", coverage: complete }, {})).toBeUndefined();
    const violation = signatureViolation({ ...verified, model: ".", coverage: partial }, {});
    expect(violation?.message).toMatch(/7 files are not covered by a verified signature: a, b, c, d, e and 2 more/);
    expect(violation?.evidence.uncovered).toBe(7);
    expect(signatureViolation({ ...verified, coverage: partial }, { required: false })).toBeUndefined();
  });
});

describe("readCapped", () => {
  it("reads a file that stat calls empty to its end (procfs), and refuses one over the cap", async () => {
    const { open } = await import("node:fs/promises");
    const { existsSync } = await import("node:fs");
    const { readCapped } = await import("../../src/sources/safe-write.js");
    if (!existsSync("/proc/self/status")) return;
    const handle = await open("/proc/self/status", "r");
    try {
      const bytes = await readCapped(handle, 1 << 20);
      expect(bytes?.toString("utf8")).toMatch(/^Name:/);
      expect(bytes!.length).toBeGreaterThan(100);
      expect(await readCapped(handle, 10)).toBeUndefined();
    } finally {
      await handle.close();
    }
  });
});
