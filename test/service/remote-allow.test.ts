/**
 * Remote targets a service client may ask for: URI prefixes the operator names, matched by
 * scheme, exact authority and whole path segments; `hf://` alone by default.
 */
import { describe, expect, it } from "vitest";
import { ServiceError } from "../../src/service/errors.js";
import { prepareJob } from "../../src/service/job.js";
import { parseRemotePrefix, remoteAllowed } from "../../src/service/remote-allow.js";

const allow = (...p: string[]) => p.map(parseRemotePrefix);

describe("remoteAllowed", () => {
  it.each([
    [`https://models.example.com/pub/m.bin#sha256=${"a".repeat(64)}`, true],
    ["https://models.example.com/pub", true],
    ["https://models.example.com/public/m.bin", false],
    ["https://models.example.com.evil.net/pub/m.bin", false],
    ["https://models.example.com:8443/pub/m.bin", false],
    ["https://MODELS.example.com/pub/m.bin", true],
    ["http://models.example.com/pub/m.bin", false],
    ["https://models.example.com/pub/../secret", false],
    ["https://models.example.com/pub/%2e%2e/secret", false],
    ["https://169.254.169.254/latest/meta-data", false],
    ["https://models.example.com/pub/x\\..\\..\\secret", false],
    ["https://models.example.com/pub/x/\t../../secret", false],
    ["https://models.example.com/pub/a\n/../../b", false],
    ["https://models.example.com/pub/a b", false],
  ])("https prefix: %s → %s", (target, ok) => {
    expect(remoteAllowed(target, allow("https://models.example.com/pub"))).toBe(ok);
  });

  it.each([
    ["s3://bucket/models/a.bin", true],
    ["s3://bucket/other/a.bin", false],
    ["s3://bucket2/models/a.bin", false],
    ["oci://registry.example.com/team/model:v1", true],
    ["oci://registry.example.com/teamx/model:v1", false],
    ["hf://org/model", true],
    ["hf://other/model", false],
  ])("%s → %s", (target, ok) => {
    expect(remoteAllowed(target, allow("s3://bucket/models", "oci://registry.example.com/team", "hf://org"))).toBe(ok);
  });

  it("hf:// alone allows every Hub repository; no prefix allows nothing", () => {
    expect(remoteAllowed(`hf://any/repo@${"0".repeat(40)}`, allow("hf://"))).toBe(true);
    expect(remoteAllowed("hf://any/repo", [])).toBe(false);
  });

  it.each(["ftp://x/", "https://", "s3://", "https://h/a/../b", "nonsense"])("refuses the prefix %s", (p) => {
    expect(() => parseRemotePrefix(p)).toThrow(/--allow-remote/);
  });
});

describe("prepareJob", () => {
  const caps = { maxTimeoutMs: 1000, defaultTimeoutMs: 1000, maxConcurrency: 1 };
  it("refuses remote targets outside the allowed prefixes (default: hf:// only)", async () => {
    for (const target of ["https://127.0.0.1:9/x.bin", "s3://any-bucket/key", "oci://127.0.0.1:5000/r:t"]) {
      const error = await prepareJob({ target }, { roots: [], caps }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as ServiceError).code).toBe("REMOTE_NOT_ALLOWED");
    }
    const hub = await prepareJob({ target: "hf://org/model" }, { roots: [], caps });
    expect(hub.data.kind).toBe("remote");
    const allowed = await prepareJob(
      { target: "https://127.0.0.1:9/x.bin" },
      { roots: [], caps, remotePrefixes: allow("https://127.0.0.1:9") },
    );
    expect(allowed.data.target).toBe("https://127.0.0.1:9/x.bin");
  });
});
