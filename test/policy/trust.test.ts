// A policy is configuration, never input (issue 13, item 1): policy and key files are read only when
// they are regular files that only their owner (the current user or root) can change, key files only
// from the policy's own folder, everything size-capped; discovery starts at the working directory
// and stops at folders others can write to.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { discoverPolicy, findPolicyFile, loadPolicyFile, MAX_POLICY_BYTES } from "../../src/policy/load.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import { DEFAULT_POLICY_HASH, describePolicy } from "../../src/report/render/text.js";
import { readTrustedFile, UntrustedFileError } from "../../src/sources/safe-read.js";

const POSIX = process.platform !== "win32";
const ROOT = POSIX && process.getuid?.() === 0;
const pem = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-trust-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh folder (mode 0755) holding a policy with the given keyFile and a good key at keys/k.pub. */
async function policyWithKey(keyFile: string): Promise<{ folder: string; policy: string }> {
  const folder = join(dir, `p${n++}`);
  await mkdir(join(folder, "keys"), { recursive: true, mode: 0o755 });
  await writeFile(join(folder, "keys", "k.pub"), pem, { mode: 0o644 });
  const policy = join(folder, "policy.json");
  await writeFile(policy, JSON.stringify({ signature: { method: "key", keyFile } }), { mode: 0o644 });
  return { folder, policy };
}

/** Resolves with the rejection, failing fast (instead of hanging) if the promise never settles. */
async function rejection(promise: Promise<unknown>, ms = 3000): Promise<Error> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref(),
  );
  try {
    await Promise.race([promise, timeout]);
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("key files named by a policy", () => {
  it("reads a key inside the policy's folder", async () => {
    const { policy } = await policyWithKey("keys/k.pub");
    expect((await loadPolicyFile(policy)).signature?.key).toBe(pem);
  });

  it.skipIf(!POSIX)("refuses a FIFO promptly instead of hanging", async () => {
    const { folder, policy } = await policyWithKey("keys/fifo.pub");
    execFileSync("mkfifo", [join(folder, "keys", "fifo.pub")]);
    const error = await rejection(loadPolicyFile(policy));
    expect(isModelgateError(error, "POLICY")).toBe(true);
    expect(error.message).toMatch(/signature\.keyFile: refusing key file .*fifo\.pub: not a regular file \(a FIFO\)/);
  });

  it.skipIf(!POSIX)("refuses /dev/zero (outside the folder, a device) without reading it", async () => {
    const { policy } = await policyWithKey("/dev/zero");
    const error = await rejection(loadPolicyFile(policy));
    expect(error.message).toMatch(/signature\.keyFile: refusing key file \/dev\/zero: it is outside/);
    const { folder, policy: inside } = await policyWithKey("keys/zero.pub");
    await symlink("/dev/zero", join(folder, "keys", "zero.pub"));
    expect((await rejection(loadPolicyFile(inside))).message).toMatch(/zero\.pub: it is a symbolic link/);
  });

  it("refuses ../ escapes, absolute paths elsewhere and links out of the folder", async () => {
    const outside = join(dir, "outside.pub");
    await writeFile(outside, pem, { mode: 0o644 });
    for (const keyFile of ["../outside.pub", "keys/../../outside.pub", outside]) {
      const { policy } = await policyWithKey(keyFile);
      const error = await rejection(loadPolicyFile(policy));
      expect(error.message, keyFile).toMatch(/it is outside/);
      expect((error.cause as UntrustedFileError).reason).toBe("outside");
    }
    const { folder, policy } = await policyWithKey("keys/link.pub");
    await symlink(outside, join(folder, "keys", "link.pub"));
    expect((await rejection(loadPolicyFile(policy))).message).toMatch(/link\.pub: it is a symbolic link/);
    // A linked folder on the way is refused too, even though the final component is a file.
    const { folder: f2, policy: p2 } = await policyWithKey("linked/outside.pub");
    await symlink(dir, join(f2, "linked"));
    expect((await rejection(loadPolicyFile(p2))).message).toMatch(/symbolic link on the way/);
  });

  it.skipIf(!POSIX)("refuses a key writable by group or others", async () => {
    const { folder, policy } = await policyWithKey("keys/k.pub");
    await chmod(join(folder, "keys", "k.pub"), 0o664);
    expect((await rejection(loadPolicyFile(policy))).message).toMatch(/writable by group or others \(mode 0664/);
  });

  it("refuses a key over 64 KiB", async () => {
    const { folder, policy } = await policyWithKey("keys/big.pub");
    await writeFile(join(folder, "keys", "big.pub"), `${pem}${"#".repeat(70_000)}`, { mode: 0o644 });
    expect((await rejection(loadPolicyFile(policy))).message).toMatch(/larger than 65536 bytes/);
  });
});

describe("policy files", () => {
  it.skipIf(!POSIX)("refuses a symbolic link, a FIFO and a device", async () => {
    const real = join(dir, "real.json");
    await writeFile(real, "{}", { mode: 0o644 });
    await symlink(real, join(dir, "link.json"));
    expect((await rejection(loadPolicyFile(join(dir, "link.json")))).message).toMatch(/symbolic link/);
    execFileSync("mkfifo", [join(dir, "fifo.json")]);
    expect((await rejection(loadPolicyFile(join(dir, "fifo.json")))).message).toMatch(/a FIFO/);
    expect((await rejection(loadPolicyFile("/dev/null"))).message).toMatch(/a device/);
  });

  it.skipIf(!POSIX)("refuses a policy writable by group or others", async () => {
    const path = join(dir, "open.json");
    await writeFile(path, "{}");
    await chmod(path, 0o666);
    const error = await rejection(loadPolicyFile(path));
    expect(isModelgateError(error, "POLICY")).toBe(true);
    expect(error.message).toMatch(
      /refusing policy .*open\.json: writable by group or others \(mode 0666; chmod go-w\)/,
    );
    await chmod(path, 0o620);
    expect((await rejection(loadPolicyFile(path))).message).toMatch(/mode 0620/);
  });

  it.skipIf(!ROOT)("refuses a policy owned by another (non-root) user", async () => {
    const path = join(dir, "theirs.json");
    await writeFile(path, "{}", { mode: 0o644 });
    await chown(path, 4242, 4242);
    expect((await rejection(loadPolicyFile(path))).message).toMatch(/owned by another user \(uid 4242/);
  });

  it("reads at most 1 MiB", async () => {
    const path = join(dir, "huge.json");
    await writeFile(path, `{"disable": []}${" ".repeat(MAX_POLICY_BYTES)}`, { mode: 0o644 });
    expect((await rejection(loadPolicyFile(path))).message).toMatch(/larger than 1048576 bytes/);
    const error = await rejection(readTrustedFile(path, { maxBytes: 10 }));
    expect(error).toBeInstanceOf(UntrustedFileError);
    expect((error as UntrustedFileError).reason).toBe("too-large");
  });
});

describe("discovery", () => {
  it("starts at the working directory; a string (a scan target) is refused", async () => {
    const repo = join(dir, "repo");
    await mkdir(join(repo, "models", "m"), { recursive: true, mode: 0o755 });
    await writeFile(join(repo, ".modelgate.json"), '{"disable": ["format/unknown"]}', { mode: 0o644 });
    expect(await findPolicyFile({ cwd: join(repo, "models", "m") })).toBe(join(repo, ".modelgate.json"));
    expect((await discoverPolicy({ cwd: repo }))?.source).toBe(join(repo, ".modelgate.json"));
    const error = await rejection(discoverPolicy(join(repo, "models") as never));
    expect(isModelgateError(error, "INVALID_ARGUMENT")).toBe(true);
  });

  it.skipIf(!POSIX)("stops at a folder others can write to, and says so when it holds a policy", async () => {
    const shared = join(dir, "shared");
    await mkdir(join(shared, "work"), { recursive: true, mode: 0o755 });
    await chmod(shared, 0o777);
    await writeFile(join(shared, ".modelgate.json"), '{"pickle": {"allow": ["posix.system"]}}', { mode: 0o644 });
    const ignored: string[] = [];
    const onIgnored = (file: string) => ignored.push(file);
    expect(await findPolicyFile({ cwd: join(shared, "work"), onIgnored })).toBeUndefined();
    expect(await findPolicyFile({ cwd: shared, onIgnored })).toBeUndefined();
    expect(ignored).toEqual([join(shared, ".modelgate.json"), join(shared, ".modelgate.json")]);
    // The sticky bit does not change that (the system temp folder is 1777).
    await chmod(shared, 0o1777);
    expect(await findPolicyFile({ cwd: join(shared, "work") })).toBeUndefined();
    // Nothing above it is used either, and the search never reaches the system temp folder.
    await writeFile(join(shared, "work", ".modelgate.json"), "{}", { mode: 0o644 });
    expect(await findPolicyFile({ cwd: join(shared, "work") })).toBe(join(shared, "work", ".modelgate.json"));
  });

  it("refuses a policy in a folder that holds a target: whose it is cannot be told", async () => {
    const repo = join(dir, `holds-${n++}`);
    await mkdir(join(repo, "weights"), { recursive: true, mode: 0o755 });
    // a planted marker or none at all: the same either way
    await mkdir(join(repo, "weights", ".svn"), { recursive: true, mode: 0o755 });
    await writeFile(join(repo, ".modelgate.json"), '{"disable": ["pickle/dangerous-global"]}', { mode: 0o644 });
    const error = await rejection(findPolicyFile({ cwd: repo, exclude: [join(repo, "weights")] }));
    expect(isModelgateError(error, "POLICY")).toBe(true);
    expect(String((error as Error).message)).toMatch(/holds the scanned target .*--policy.*--no-policy/);
    // from below the policy, the same
    const below = await rejection(findPolicyFile({ cwd: join(repo, "weights"), exclude: [join(repo, "weights")] }));
    expect(isModelgateError(below, "POLICY")).toBe(true);
    // a target elsewhere keeps the policy of the folder the run starts from
    expect(await findPolicyFile({ cwd: repo, exclude: [join(dir, "elsewhere")] })).toBe(join(repo, ".modelgate.json"));
  });

  it.skipIf(!POSIX)("a policy found but untrusted is an error, not silently skipped", async () => {
    const repo = join(dir, "repo-open");
    await mkdir(repo, { recursive: true, mode: 0o755 });
    await writeFile(join(repo, ".modelgate.json"), "{}");
    await chmod(join(repo, ".modelgate.json"), 0o646);
    expect((await rejection(discoverPolicy({ cwd: repo }))).message).toMatch(/writable by group or others/);
  });
});

describe("describePolicy (the text report's Policy: line)", () => {
  it("names the file and hash, the built-in defaults, or a caller-supplied policy", () => {
    expect(resolvePolicy({}).hash).toBe(DEFAULT_POLICY_HASH);
    expect(describePolicy({ hash: DEFAULT_POLICY_HASH })).toBe("Policy: built-in defaults");
    expect(describePolicy(undefined)).toBe("Policy: built-in defaults");
    const hash = resolvePolicy({ disable: ["format/unknown"] }).hash;
    expect(describePolicy({ hash, source: "/r/.modelgate.json" })).toBe(
      `Policy: /r/.modelgate.json (sha256 ${hash.slice(0, 12)})`,
    );
    expect(describePolicy({ hash })).toBe(`Policy: caller-supplied (sha256 ${hash.slice(0, 12)})`);
  });
});
