import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveCredentials } from "../../../src/sources/oci/config.js";

const dir = mkdtempSync(join(tmpdir(), "mg-oci-cred-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, mode: number): string {
  const path = join(dir, name);
  const auth = Buffer.from("alice:s3cret").toString("base64");
  writeFileSync(path, JSON.stringify({ auths: { "registry.example:5000": { auth } } }), { mode });
  chmodSync(path, mode);
  return path;
}

describe("docker config credentials", () => {
  it("are read from the user's own config file", async () => {
    const found = await resolveCredentials("registry.example:5000", {}, config("own.json", 0o600));
    expect(found).toMatchObject({ username: "alice", password: "s3cret" });
  });

  it("are not taken from a file others may write, nor through a link", async () => {
    expect(await resolveCredentials("registry.example:5000", {}, config("shared.json", 0o666))).toBeUndefined();
    const target = config("target.json", 0o600);
    const link = join(dir, "link.json");
    symlinkSync(target, link);
    expect(await resolveCredentials("registry.example:5000", {}, link)).toBeUndefined();
  });
});
