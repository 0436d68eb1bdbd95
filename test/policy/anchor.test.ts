/**
 * Suppression paths are anchored once: relative to the policy file's folder when it contains the
 * scan, else to the scanned folder. A glob written for one file never covers a namesake in a
 * scanned subfolder, a single file's base name, or a folder named like an archive's members.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PolicyOptions, policyAnchor, resolvePolicy } from "../../src/policy/policy.js";
import { MemoryVerdictCache } from "../../src/scan/cache.js";
import { scan } from "../../src/scan/engine.js";

/** Protocol 0 `posix.system('true')`. */
const PAYLOAD = Buffer.from("cposix\nsystem\n(S'true'\ntR.", "latin1");

describe("suppression paths are anchored to one folder", () => {
  let repo: string;
  const policyIn = (suppression: NonNullable<PolicyOptions["suppressions"]>): PolicyOptions => ({
    suppressions: suppression,
    source: join(repo, ".modelgate.json"),
  });
  const reviewed = () =>
    policyIn([{ rule: "pickle/*", path: "models/reviewed/legacy.pkl", reason: "reviewed legacy pickle" }]);
  const verdicts = async (target: string, policy: PolicyOptions): Promise<Record<string, string>> => {
    const report = await scan(target, { policy });
    return Object.fromEntries(report.files.map((f) => [f.path, f.verdict]));
  };

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), "mg-anchor-"));
    for (const dir of ["models/reviewed", "uploads/evil/models/reviewed", "uploads/evil2", "legacy.zip!models"]) {
      await mkdir(join(repo, dir), { recursive: true });
    }
    for (const file of [
      "models/reviewed/legacy.pkl",
      "uploads/evil/models/reviewed/legacy.pkl",
      "uploads/evil2/legacy.pkl",
      "legacy.pkl",
      "legacy.zip!models/payload.pkl",
    ]) {
      await writeFile(join(repo, file), PAYLOAD);
    }
  });
  afterAll(() => rm(repo, { recursive: true, force: true }));

  it("the reviewed file is suppressed from wherever inside the policy's folder it is scanned", async () => {
    expect((await verdicts(join(repo, "models/reviewed"), reviewed()))["legacy.pkl"]).toBe("clean");
    expect((await verdicts(join(repo, "models"), reviewed()))["reviewed/legacy.pkl"]).toBe("clean");
    expect((await verdicts(join(repo, "models/reviewed/legacy.pkl"), reviewed()))["legacy.pkl"]).toBe("clean");
    const all = await verdicts(repo, reviewed());
    expect(all["models/reviewed/legacy.pkl"]).toBe("clean");
    expect(all["uploads/evil/models/reviewed/legacy.pkl"]).toBe("malicious");
  });

  it("a namesake in a scanned subfolder does not take the reviewed file's suppression", async () => {
    // Scanned as `uploads/evil`, the file's scan-relative path is the glob's text.
    const evil = await verdicts(join(repo, "uploads/evil"), reviewed());
    expect(evil["models/reviewed/legacy.pkl"]).toBe("malicious");
    const deeper = await verdicts(join(repo, "uploads/evil/models"), reviewed());
    expect(deeper["reviewed/legacy.pkl"]).toBe("malicious");
  });

  it("a single file is matched by its path relative to the policy's folder, never by its base name", async () => {
    const root = policyIn([{ rule: "pickle/*", path: "legacy.pkl", reason: "repo-root legacy.pkl reviewed" }]);
    expect((await verdicts(join(repo, "legacy.pkl"), root))["legacy.pkl"]).toBe("clean");
    expect((await verdicts(join(repo, "uploads/evil2/legacy.pkl"), root))["legacy.pkl"]).toBe("malicious");
    expect((await verdicts(join(repo, "uploads/evil2"), root))["legacy.pkl"]).toBe("malicious");
  });

  it("a cached suppression is not reused for the same bytes under another anchoring", async () => {
    const root = policyIn([{ rule: "pickle/*", path: "legacy.pkl", reason: "repo-root legacy.pkl reviewed" }]);
    const cache = new MemoryVerdictCache();
    const first = await scan(repo, { policy: root, cache });
    expect(first.files.find((f) => f.path === "legacy.pkl")?.verdict).toBe("clean");
    const again = await scan(join(repo, "uploads/evil2"), { policy: root, cache });
    expect(again.files.find((f) => f.path === "legacy.pkl")?.verdict).toBe("malicious");
  });

  it("the member separator counts in the folder part of the anchored path too", async () => {
    const bang = policyIn([{ rule: "pickle/*", path: "legacy.zip!**", reason: "members of reviewed legacy.zip" }]);
    expect((await verdicts(join(repo, "legacy.zip!models"), bang))["payload.pkl"]).toBe("malicious");
    expect((await verdicts(repo, bang))["legacy.zip!models/payload.pkl"]).toBe("malicious");
  });

  it("a directory outside the policy's folder is matched by absolute paths; bytes by their name", async () => {
    const outside = await mkdtemp(join(tmpdir(), "mg-anchor-out-"));
    try {
      await mkdir(join(outside, "models/reviewed"), { recursive: true });
      await writeFile(join(outside, "models/reviewed/legacy.pkl"), PAYLOAD);
      // a relative glob does not float onto a download with the same layout ...
      expect((await verdicts(outside, reviewed()))["models/reviewed/legacy.pkl"]).toBe("malicious");
      // ... a suppression names where the reviewed file is
      const absolute = policyIn([{ rule: "pickle/*", path: `${outside}/models/reviewed/legacy.pkl`, reason: "r" }]);
      expect((await verdicts(outside, absolute))["models/reviewed/legacy.pkl"]).toBe("clean");
      expect((await verdicts(join(outside, "models/reviewed/legacy.pkl"), absolute))["legacy.pkl"]).toBe("clean");
      const bytes = await scan({ bytes: PAYLOAD, name: "legacy.pkl" }, { policy: reviewed() });
      expect(bytes.files[0]?.verdict).toBe("malicious");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("a single file outside the policy's folder is never suppressed", async () => {
    const outside = await mkdtemp(join(tmpdir(), "mg-anchor-file-"));
    try {
      await writeFile(join(outside, "legacy.pkl"), PAYLOAD);
      const root = policyIn([{ rule: "pickle/*", path: "legacy.pkl", reason: "repo-root legacy.pkl reviewed" }]);
      expect((await verdicts(join(outside, "legacy.pkl"), root))["legacy.pkl"]).toBe("malicious");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe("policyAnchor and the resolved policy", () => {
  const options: PolicyOptions = {
    suppressions: [{ rule: "format/executable", path: "models/*.so", reason: "r" }],
  };

  it("anchors inside the policy's folder, at the filesystem root outside it", () => {
    expect(policyAnchor("/repo/.modelgate.json", "/repo/models", "directory")).toEqual({ pathPrefix: "models" });
    expect(policyAnchor("/repo/.modelgate.json", "/repo", "directory")).toEqual({});
    expect(policyAnchor("/repo/.modelgate.json", "/repo/models", "file")).toEqual({ pathPrefix: "models" });
    expect(policyAnchor("/repo/.modelgate.json", "/repo", "file")).toEqual({});
    expect(policyAnchor("/repo/.modelgate.json", "/elsewhere", "directory")).toEqual({ pathPrefix: "/elsewhere" });
    expect(policyAnchor("/repo/.modelgate.json", "/elsewhere", "file")).toEqual({ pathPrefix: "/elsewhere" });
    expect(policyAnchor("/repo/.modelgate.json", "/repository", "file")).toEqual({ pathPrefix: "/repository" });
    expect(policyAnchor("/repo/sub/.modelgate.json", "/repo", "directory")).toEqual({ pathPrefix: "/repo" });
    expect(policyAnchor(undefined, "/elsewhere", "file")).toEqual({});
    expect(policyAnchor("/repo/.modelgate.json", undefined, "hub")).toEqual({});
  });

  it("matches the prefixed path only, never the bare one", () => {
    const p = resolvePolicy(options, { pathPrefix: "uploads/evil" });
    expect(p.decide("format/executable", "models/lib.so").action).toBe("keep");
    expect(p.decide("format/executable", "lib.so").action).toBe("keep");
    const q = resolvePolicy(options, { pathPrefix: "models" });
    expect(q.decide("format/executable", "lib.so").action).toBe("suppress");
    expect(q.decide("format/executable", "lib.so!member", undefined, "lib.so").action).toBe("suppress");
  });

  it("a file outside the policy's folder is never suppressed", () => {
    const p = resolvePolicy({ suppressions: [{ rule: "format/*", path: "**", reason: "r" }] }, { unanchored: true });
    expect(p.decide("format/executable", "lib.so").action).toBe("keep");
  });

  it("the member separator is looked for in the anchored file, and a path must belong to its file", () => {
    const p = resolvePolicy(
      { suppressions: [{ rule: "format/*", path: "a.zip!**", reason: "r" }] },
      { pathPrefix: "a.zip!x" },
    );
    expect(p.decide("format/executable", "lib.so").action).toBe("keep");
    const q = resolvePolicy({ suppressions: [{ rule: "format/*", path: "vetted.so", reason: "r" }] });
    expect(q.decide("format/executable", "other.so", undefined, "vetted.so").action).toBe("keep");
    expect(q.decide("format/executable", "vetted.so!m", undefined, "vetted.so").action).toBe("suppress");
  });

  it("cached decisions are keyed by the anchoring when there are suppressions", () => {
    const base = resolvePolicy(options);
    expect(resolvePolicy(options, { pathPrefix: "models" }).decisionsHash).not.toBe(base.decisionsHash);
    expect(resolvePolicy(options, { pathPrefix: "models" }).decisionsHash).not.toBe(
      resolvePolicy(options, { pathPrefix: "other" }).decisionsHash,
    );
    expect(resolvePolicy(options, { unanchored: true }).decisionsHash).not.toBe(base.decisionsHash);
    expect(resolvePolicy(options, {}).decisionsHash).toBe(base.hash);
    expect(resolvePolicy({}, { pathPrefix: "models" }).decisionsHash).toBe(resolvePolicy({}).hash);
  });
});
