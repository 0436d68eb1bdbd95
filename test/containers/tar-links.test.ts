/**
 * Link members of tar archives (review round 2 of session 29): a name a loader opens
 * (`model_config.yaml`, `storages`) that is a hard or symbolic link reads another member's bytes
 * once extracted; those bytes are analysed under the link's name. Real-loader samples are in
 * samples/tar-differentials (symlink-config.nemo, hardlink-legacy.pt, ...); these are the shapes
 * around them.
 */
import { describe, expect, it } from "vitest";
import { resolveTarLinks } from "../../src/containers/tar/links.js";
import { readTar } from "../../src/containers/tar/reader.js";
import { BufferSource } from "../../src/sources/byte-source.js";
import { ruleIds, scanOne } from "../helpers/scan.js";
import { buildTar, type TarMember } from "./tar-builder.js";

const CFG = "target:\n  _target_: os.system\n  command: echo modelgate-test\n";
const BENIGN = "name: demo\nsample_rate: 16000\n";

async function scanTar(members: TarMember[], name = "model.nemo") {
  const report = await scanOne(buildTar(members), name);
  const config = report.findings.filter(
    (f) => f.ruleId === "yaml/hydra-target" && f.path.endsWith("!model_config.yaml"),
  );
  return { report, rules: ruleIds(report), config };
}

describe("tar links: the bytes a linked name reads are analysed under that name", () => {
  it("follows a chain of symlinks to the config", async () => {
    const { report, config } = await scanTar([
      { name: "b.txt", data: CFG },
      { name: "a.txt", type: "2", linkName: "b.txt" },
      { name: "model_config.yaml", type: "2", linkName: "a.txt" },
    ]);
    expect(report.format).toBe("nemo");
    expect(report.verdict).toBe("malicious");
    expect(config.length).toBeGreaterThan(0);
  });

  it("resolves a symlink relative to its directory and a hard link from the root, names normalised", async () => {
    const sym = await scanTar([
      { name: "sub/c.txt", data: CFG },
      { name: "sub/x/../model.txt", type: "2", linkName: "./c.txt" },
      { name: "./model_config.yaml", type: "2", linkName: "sub/model.txt" },
    ]);
    expect(sym.report.verdict).toBe("malicious");
    const hard = await scanTar([
      { name: "./sub/c.txt", data: CFG },
      { name: "model_config.yaml", type: "1", linkName: "sub//./c.txt" },
    ]);
    expect(hard.report.verdict).toBe("malicious");
    expect(hard.config.length).toBeGreaterThan(0);
  });

  it("analyses every content of a hard link whose target a later member rewrites", async () => {
    const { report, rules } = await scanTar([
      { name: "x", data: BENIGN },
      { name: "model_config.yaml", type: "1", linkName: "x" },
      { name: "x", data: CFG },
    ]);
    expect(report.verdict).toBe("malicious");
    expect(rules).toContain("tar/link-ambiguous");
  });

  it("a later member written through a linked name rewrites the other name too", async () => {
    // x -> model_config.yaml (hard): the later `x` is written into the config's inode
    const { report, rules, config } = await scanTar([
      { name: "model_config.yaml", data: BENIGN },
      { name: "x", type: "1", linkName: "model_config.yaml" },
      { name: "x", data: CFG },
    ]);
    expect(report.verdict).toBe("malicious");
    expect(rules).toContain("tar/link-ambiguous");
    expect(config.length).toBeGreaterThan(0);
  });

  it("a member under a symlinked directory lands at the resolved path", async () => {
    const { report, config } = await scanTar([
      { name: "model_config.yaml", type: "2", linkName: "d/c.txt" },
      { name: "d", type: "2", linkName: "e" },
      { name: "e/c.txt", data: CFG },
    ]);
    expect(report.verdict).toBe("malicious");
    expect(config.length).toBeGreaterThan(0);
  });

  it("a legacy torch tar with `storages` as a link is a pytorch-tar", async () => {
    const { report } = await scanTar(
      [
        { name: "pickle", data: new Uint8Array([0x80, 0x02, 0x4e, 0x2e]) },
        { name: "blob", data: new Uint8Array([0x80, 0x02, 0x4e, 0x2e]) },
        { name: "storages", type: "1", linkName: "blob" },
        { name: "tensors", type: "2", linkName: "blob" },
      ],
      "model.pt",
    );
    expect(report.format).toBe("pytorch-tar");
  });

  it("a link pointing outside the archive is path traversal (high)", async () => {
    for (const link of [
      { type: "2", linkName: "/proc/self/fd/3" },
      { type: "2", linkName: "../../etc/passwd" },
      { type: "2", linkName: "d/../../../x" },
      { type: "1", linkName: "/etc/passwd" },
      { type: "1", linkName: "../x" },
    ]) {
      const { report, rules } = await scanTar([{ name: "sub/storages", ...link }], "model.pt");
      expect(rules, JSON.stringify(link)).toContain("container/path-traversal");
      expect(report.verdict).toBe("malicious");
    }
    // through a symlinked directory that escapes
    const { rules } = await scanTar([
      { name: "d", type: "2", linkName: ".." },
      { name: "model_config.yaml", type: "2", linkName: "d/x" },
    ]);
    expect(rules).toContain("container/path-traversal");
  });

  it("unresolved links and loops keep their link finding and end", async () => {
    for (const members of [
      [{ name: "model_config.yaml", type: "2", linkName: "missing.txt" }],
      [
        { name: "model_config.yaml", type: "1", linkName: "later.txt" },
        { name: "later.txt", data: BENIGN },
      ],
      [
        { name: "a", type: "2", linkName: "b" },
        { name: "b", type: "2", linkName: "a/c" },
        { name: "model_config.yaml", type: "2", linkName: "a" },
      ],
    ]) {
      const { report, rules } = await scanTar(members);
      expect(rules).toContain("container/link-member");
      expect(report.verdict).not.toBe("clean");
    }
  });

  it("links to one benign content add no finding but the link's", async () => {
    const { report, rules } = await scanTar([
      { name: "model_config.yaml", data: BENIGN },
      { name: "config_copy.yaml", type: "1", linkName: "model_config.yaml" },
      { name: "latest.yaml", type: "2", linkName: "config_copy.yaml" },
    ]);
    expect(rules).toEqual(["container/link-member"]);
    expect(report.verdict).toBe("suspicious");
  });

  it("bounds the scans under linked names", async () => {
    const members: TarMember[] = [{ name: "w.bin", data: "x" }];
    for (let i = 0; i < 300; i++) members.push({ name: `l${i}`, type: "1", linkName: "w.bin" });
    const listing = await readTar(new BufferSource(buildTar(members)));
    const links = resolveTarLinks(listing.entries);
    expect(links.scans.length).toBe(256);
    expect(links.skipped).toBe(44);
    expect(links.linkNames.length).toBe(300);
    expect(links.unresolved).toBe(0);
    const { rules } = await scanTar(members);
    expect(rules).toContain("scan/budget-exceeded");
  });

  it("resolves long symlink chains and many members under symlinked directories in bounded time", async () => {
    const members: TarMember[] = [];
    for (let i = 0; i < 60; i++) members.push({ name: `s${i}`, type: "2", linkName: `${"./".repeat(40)}s${i + 1}` });
    for (let i = 0; i < 2000; i++) members.push({ name: `s0/f${i}`, data: "x" });
    const started = Date.now();
    const listing = await readTar(new BufferSource(buildTar(members)));
    const links = resolveTarLinks(listing.entries);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(links.scans.length).toBe(0);
  });
});

describe("tar: a repeated name is analysed as the member tarfile extracts", () => {
  it("the last of a repeated model_config.yaml gets the config's analysis", async () => {
    for (const last of ["target: os.system\n", "target:\n  _target_: os.system\n  command: echo x\n"]) {
      const { report, config } = await scanTar([
        { name: "model_config.yaml", data: BENIGN },
        { name: "model_config.yaml", data: last },
      ]);
      expect(report.verdict, last).toBe("malicious");
      expect(config.length).toBeGreaterThan(0);
    }
  });
});

describe("links whose meaning depends on the extraction order", () => {
  it.each([
    [
      "a hard link to a symbolic link member (tarfile copies the link, re-read from the root)",
      [
        { name: "notes.txt", data: CFG },
        { name: "a/", type: "5" },
        { name: "a/s", type: "2", linkName: "notes.txt" },
        { name: "model_config.yaml", type: "1", linkName: "a/s" },
        { name: "a/notes.txt", data: BENIGN },
      ],
    ],
    [
      "a hard link through a symlinked folder a later member re-points",
      [
        { name: "b/notes.txt", data: CFG },
        { name: "d", type: "2", linkName: "b" },
        { name: "model_config.yaml", type: "1", linkName: "d/notes.txt" },
        { name: "d", type: "2", linkName: "c" },
        { name: "c/notes.txt", data: BENIGN },
      ],
    ],
    [
      "a file written through a symlinked folder a later member re-points",
      [
        { name: "model_config.yaml", type: "2", linkName: "b/x.txt" },
        { name: "d", type: "2", linkName: "b" },
        { name: "d/x.txt", data: CFG },
        { name: "d", type: "2", linkName: "c" },
      ],
    ],
  ] as [string, TarMember[]][])("%s is ambiguous: the archive is invalid", async (_label, members) => {
    const { report, rules } = await scanTar(members);
    expect(rules).toContain("tar/link-ambiguous");
    expect(report.verdict).not.toBe("clean");
    expect(report.verdict).not.toBe("suspicious");
  });
});
