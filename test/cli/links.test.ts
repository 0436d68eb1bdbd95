import { createHash } from "node:crypto";
import { cpSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/run.js";
import { signModel } from "../../src/integrity/oms/sign.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";
import { fifoScratch } from "../helpers/fifo.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const at = (p: string) => join(S, p);
const scratch = fifoScratch("mg-links-");
const tmp = scratch.dir;
const mkfifo = scratch.mkfifo;

let n = 0;
function copy(name: string): string {
  const dir = join(tmp, `m${n++}`);
  cpSync(at(name), dir, { recursive: true });
  return dir;
}
function outsideFile(content: string): string {
  const path = join(tmp, `outside-${n++}.txt`);
  writeFileSync(path, content);
  return path;
}
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

function io(): RecordingIO {
  return recordingIO();
}

/** Runs the CLI, failing the test (instead of hanging) when it has not returned within `ms`. */
async function runPromptly(argv: string[], out: CliIO, ms = 5000): Promise<number | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([runCli(argv, out), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("lock and sign never write through a link or into a special file", () => {
  it("lock refuses a modelgate.lock.json symlink; the file it points at is unchanged", async () => {
    const dir = copy("model");
    const outside = outsideFile("precious\n");
    symlinkSync(outside, join(dir, "modelgate.lock.json"));
    const out = io();
    expect(await runPromptly(["lock", dir], out)).toBe(2);
    expect(out.err).toMatch(/symbolic link/);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
    expect(lstatSync(join(dir, "modelgate.lock.json")).isSymbolicLink()).toBe(true);
    // --output naming a link is refused the same way.
    const other = join(tmp, `lock-link-${n++}.json`);
    symlinkSync(outside, other);
    expect(await runPromptly(["lock", dir, "--output", other], io())).toBe(2);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
  });

  it("sign refuses a model.sig symlink; the file it points at is unchanged", async () => {
    const dir = copy("model");
    const outside = outsideFile("precious\n");
    symlinkSync(outside, join(dir, "model.sig"));
    const out = io();
    expect(await runPromptly(["sign", dir, "--private-key", at("keys/p256.key.pem")], out)).toBe(2);
    expect(out.err).toMatch(/symbolic link/);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
    expect(lstatSync(join(dir, "model.sig")).isSymbolicLink()).toBe(true);
  });

  it("lock and sign refuse a FIFO at their output promptly, without opening it", async () => {
    const locked = copy("model");
    mkfifo(join(locked, "modelgate.lock.json"));
    const lockOut = io();
    expect(await runPromptly(["lock", locked], lockOut)).toBe(2);
    expect(lockOut.err).toMatch(/not a regular file|FIFO/);
    const signed = copy("model");
    mkfifo(join(signed, "model.sig"));
    const signOut = io();
    expect(await runPromptly(["sign", signed, "--private-key", at("keys/p256.key.pem")], signOut)).toBe(2);
    expect(signOut.err).toMatch(/not a regular file|FIFO/);
  });

  it("lock and sign replace a regular file atomically and keep its mode", async () => {
    const dir = copy("model");
    writeFileSync(join(dir, "modelgate.lock.json"), "old", { mode: 0o600 });
    expect(await runPromptly(["lock", dir], io())).toBe(0);
    const st = lstatSync(join(dir, "modelgate.lock.json"));
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, "modelgate.lock.json"), "utf8")).lockfileVersion).toBe(1);
    expect(await runPromptly(["sign", dir, "--private-key", at("keys/p256.key.pem")], io())).toBe(0);
    expect(await runPromptly(["verify", dir, "--public-key", at("keys/p256.pub.pem")], io())).toBe(0);
  });
});

describe("verify never reads a signature through a link", () => {
  it("refuses a model.sig symlink without printing the target's bytes", async () => {
    const dir = copy("signed-model");
    rmSync(join(dir, "model.sig"));
    const secret = outsideFile("SECRET-TOKEN-8c1f: not a signature\n");
    symlinkSync(secret, join(dir, "model.sig"));
    for (const format of ["text", "json"]) {
      const out = io();
      const code = await runPromptly(["verify", dir, "--public-key", at("keys/p256.pub.pem"), "--format", format], out);
      expect(code).toBe(1);
      expect(out.out + out.err).not.toMatch(/SECRET|8c1f/);
      expect(out.out + out.err).toMatch(/symbolic link/);
    }
  });

  it("does not verify through a model.sig symlink to a valid signature elsewhere", async () => {
    const dir = copy("signed-model");
    const real = join(tmp, `real-${n++}.sig`);
    cpSync(join(dir, "model.sig"), real);
    rmSync(join(dir, "model.sig"));
    symlinkSync(real, join(dir, "model.sig"));
    const out = io();
    expect(await runPromptly(["verify", dir, "--public-key", at("keys/p256.pub.pem")], out)).toBe(1);
    expect(out.out).not.toMatch(/VERIFIED/);
  });

  it("a FIFO at model.sig fails promptly instead of blocking", async () => {
    const dir = copy("signed-model");
    rmSync(join(dir, "model.sig"));
    mkfifo(join(dir, "model.sig"));
    const out = io();
    expect(await runPromptly(["verify", dir, "--public-key", at("keys/p256.pub.pem")], out)).toBe(1);
  });

  it("never echoes the bytes of a signature that is not JSON", async () => {
    const dir = copy("signed-model");
    writeFileSync(join(dir, "model.sig"), "SECRET-TOKEN-77aa plus some more text");
    const out = io();
    expect(await runPromptly(["verify", dir, "--public-key", at("keys/p256.pub.pem")], out)).toBe(1);
    expect(out.out + out.err).not.toMatch(/SECRET|77aa/);
    expect(out.out).toMatch(/not JSON/);
  });
});

describe("scan never follows a link out of the root, whatever the signature says", () => {
  it("an allow_symlinks signature (by anyone) does not make scan hash or print an outside file", async () => {
    const dir = copy("model");
    const secretBytes = "outside secret bytes\n";
    const outside = outsideFile(secretBytes);
    // The attacker signs with their own key while the link points inside, then re-points it.
    symlinkSync("weights.bin", join(dir, "link.bin"));
    const attacker = readFileSync(at("keys/other-p256.key.pem"), "utf8");
    await signModel(dir, { privateKey: attacker, allowSymlinks: true });
    rmSync(join(dir, "link.bin"));
    symlinkSync(outside, join(dir, "link.bin"));
    for (const trust of [[], ["--public-key", at("keys/p256.pub.pem")]]) {
      const out = io();
      await runPromptly(["scan", dir, "--format", "json", ...trust], out);
      expect(out.out).not.toContain(sha256(secretBytes));
      const report = JSON.parse(out.out);
      expect(report.signature.status).not.toBe("verified");
      expect(report.signature.status).not.toBe("unverified");
    }
    const verify = io();
    expect(
      await runPromptly(["verify", dir, "--public-key", at("keys/other-p256.pub.pem"), "--format", "json"], verify),
    ).toBe(1);
    expect(verify.out).not.toContain(sha256(secretBytes));
    const link = JSON.parse(verify.out).files.find((f: { path: string }) => f.path === "link.bin");
    expect(link).toMatchObject({ status: "mismatch" });
    expect(link.actual).toBeUndefined();
    expect(link.reason).toMatch(/leav|outside/);
  });

  it("a link to a file inside the root is still followed when the signature allows links", async () => {
    const dir = copy("model");
    mkdirSync(join(dir, "nested"));
    symlinkSync("../weights.bin", join(dir, "nested", "alias.bin"));
    await signModel(dir, { privateKey: readFileSync(at("keys/p256.key.pem"), "utf8"), allowSymlinks: true });
    const out = io();
    expect(await runPromptly(["verify", dir, "--public-key", at("keys/p256.pub.pem")], out)).toBe(0);
  });

  it("sign --allow-symlinks refuses a link out of the root", async () => {
    const dir = copy("model");
    symlinkSync(outsideFile("x"), join(dir, "link.bin"));
    const out = io();
    expect(await runPromptly(["sign", dir, "--private-key", at("keys/p256.key.pem"), "--allow-symlinks"], out)).toBe(2);
    expect(out.err).toMatch(/leav|outside/);
  });
});
