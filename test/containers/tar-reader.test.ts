import { describe, expect, it } from "vitest";
import { parseTarNumber, readTar } from "../../src/containers/tar/reader.js";
import { isModelgateError } from "../../src/core/errors.js";
import { BufferSource, GuardedSource } from "../../src/sources/byte-source.js";
import { buildTar, paxRecord, type TarMember } from "./tar-builder.js";

async function list(members: TarMember[], trailer?: Uint8Array) {
  const source = new BufferSource(buildTar(members, trailer));
  const listing = await readTar(source);
  return { listing, rules: listing.findings.map((f) => f.ruleId) };
}

describe("tar reader", () => {
  it("lists members and skips their data by offset", async () => {
    const { listing, rules } = await list([
      { name: "a.txt", data: "hello" },
      { name: "dir/", type: "5" },
      { name: "b.bin", data: new Uint8Array(1500) },
    ]);
    expect(rules).toEqual([]);
    expect(listing.entries.map((e) => [e.name, e.size, e.dataOffset])).toEqual([
      ["a.txt", 5, 512],
      ["dir", 0, 1536],
      ["b.bin", 1500, 2048],
    ]);
  });

  it("applies pax path and size records and GNU long names", async () => {
    const long = `${"x".repeat(150)}/file.txt`;
    const pax = paxRecord({ path: long });
    const { listing } = await list([
      { name: "PaxHeader", type: "x", data: pax },
      { name: "short", data: "abc" },
      { name: "././@LongLink", type: "L", data: `gnu-${long}\0` },
      { name: "trunc", data: "def" },
    ]);
    expect(listing.entries.map((e) => e.name)).toEqual([long, `gnu-${long}`]);
  });

  it("reads base-256 sizes", async () => {
    const { listing } = await list([{ name: "big", data: "12345", base256: true }]);
    expect(listing.entries[0]?.size).toBe(5);
    const h = new Uint8Array(12);
    h[0] = 0x80;
    h[7] = 1; // 2^32
    expect(parseTarNumber(h, 0, 12)).toBe(2 ** 32);
  });

  const cases: [string, TarMember[], string][] = [
    ["traversal", [{ name: "../x", data: "1" }], "container/path-traversal"],
    ["absolute", [{ name: "/etc/x", data: "1" }], "container/path-traversal"],
    ["symlink", [{ name: "l", type: "2", linkName: "/etc/passwd" }], "container/link-member"],
    ["hard link", [{ name: "l", type: "1", linkName: "a" }], "container/link-member"],
    ["char device", [{ name: "c", type: "3" }], "tar/special-member"],
    ["fifo", [{ name: "f", type: "6" }], "tar/special-member"],
    [
      "duplicate",
      [
        { name: "d", data: "1" },
        { name: "d", data: "2" },
      ],
      "tar/duplicate-name",
    ],
    [
      "bad checksum",
      [
        { name: "a", data: "1" },
        { name: "b", data: "2", badChecksum: true },
      ],
      "tar/checksum-mismatch",
    ],
    ["unknown type", [{ name: "u", type: "Z", data: "1" }], "tar/header-anomaly"],
    [
      "pax size differs",
      [
        { name: "p", type: "x", data: paxRecord({ size: "3" }) },
        { name: "f", data: "abcdef", headerSize: 6 },
      ],
      "tar/header-anomaly",
    ],
    ["symlink with data", [{ name: "s", type: "2", linkName: "x", headerSize: 600 }], "tar/header-anomaly"],
  ];
  for (const [label, members, rule] of cases) {
    it(`reports ${label} as ${rule}`, async () => {
      expect((await list(members)).rules).toContain(rule);
    });
  }

  it("reads past a lone zero block and reports it", async () => {
    const bytes = buildTar([{ name: "a", data: "1" }], new Uint8Array(0));
    const withGap = Buffer.concat([bytes, new Uint8Array(512), buildTar([{ name: "b", data: "2" }])]);
    const listing = await readTar(new BufferSource(withGap));
    expect(listing.entries.map((e) => e.name)).toEqual(["a", "b"]);
    expect(listing.findings.map((f) => f.ruleId)).toContain("tar/header-anomaly");
  });

  it("reports data after the end-of-archive marker", async () => {
    const bytes = Buffer.concat([buildTar([{ name: "a", data: "1" }]), Buffer.from("hidden")]);
    const listing = await readTar(new BufferSource(bytes));
    expect(listing.trailing).toEqual({ offset: bytes.length - 6, length: 6 });
    expect(listing.findings.map((f) => f.ruleId)).toContain("tar/trailing-data");
  });

  it("reports members running past the end as malformed", async () => {
    const bytes = buildTar([{ name: "a", data: "1", headerSize: 10_000 }], new Uint8Array(0));
    const listing = await readTar(new BufferSource(bytes));
    expect(listing.incomplete).toBe(true);
    expect(listing.findings.map((f) => f.ruleId)).toContain("tar/malformed");
  });

  it("stops at the entry budget", async () => {
    const members = Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: "x" }));
    const listing = await readTar(new BufferSource(buildTar(members)), { maxEntries: 5 });
    expect(listing.entries).toHaveLength(5);
    expect(listing.findings.map((f) => f.ruleId)).toContain("container/too-many-entries");
  });

  it("throws MALFORMED on bytes that are not tar", async () => {
    await expect(readTar(new BufferSource(new Uint8Array(2048).fill(0x41)))).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
  });

  it("refuses huge metadata records", async () => {
    const bytes = buildTar([{ name: "p", type: "x", data: "", headerSize: 2 ** 40 }], new Uint8Array(0));
    await expect(readTar(new BufferSource(bytes))).rejects.toSatisfy((e) => isModelgateError(e, "BUDGET_EXCEEDED"));
  });
});

describe("tar reader: skips member data", () => {
  it("lists a tar of large members reading a few KiB", async () => {
    const big = new Uint8Array(2 * 1024 * 1024);
    const bytes = buildTar([
      { name: "a", data: big },
      { name: "b", data: big },
      { name: "c", data: big },
    ]);
    const guarded = new GuardedSource(new BufferSource(bytes), {});
    const listing = await readTar(guarded);
    expect(listing.entries).toHaveLength(3);
    expect(guarded.bytesRead).toBeLessThan(16 * 1024);
  });
});
