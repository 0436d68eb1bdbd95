/**
 * The tar reader walks archives as Python's tarfile does (numbers, metadata record order, v7
 * directories, unknown types, sparse members) and lists the lenient reading's members too,
 * reporting tar/reader-disagreement where the two differ.
 */
import { describe, expect, it } from "vitest";
import { pythonInt } from "../../src/containers/tar/pax.js";
import { readTar, tarMemberSource } from "../../src/containers/tar/reader.js";
import { BufferSource } from "../../src/core/byte-source.js";
import { buildTar, paxRecord, type TarMember, tarHeader } from "./tar-builder.js";

const enc = new TextEncoder();

/** A header with raw bytes patched in and the checksum recomputed. */
function patched(m: TarMember, size: number, patch: Record<number, Uint8Array | string>): Uint8Array {
  const h = tarHeader(m, size);
  for (const [at, v] of Object.entries(patch)) h.set(typeof v === "string" ? enc.encode(v) : v, Number(at));
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `), 148);
  return h;
}

const pad = (b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(b.length / 512) * 512);
  out.set(b);
  return out;
};
const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const END = new Uint8Array(1024);
/** A whole member (header and padded data) as bytes. */
const raw = (m: TarMember): Uint8Array => buildTar([m], new Uint8Array(0));

async function list(bytes: Uint8Array) {
  const listing = await readTar(new BufferSource(bytes));
  return {
    listing,
    rules: listing.findings.map((f) => f.ruleId),
    files: listing.entries.filter((e) => e.isFile && e.size > 0).map((e) => [e.name, e.reader, e.size]),
  };
}

const hidden = raw({ name: "hidden.pkl", data: "payload" });

describe("tar reader: tarfile's reading", () => {
  it("cuts a number field at its first NUL (tarfile's nti), and reads what follows as headers", async () => {
    const h = patched({ name: "pad.bin" }, 0, {
      124: cat(new Uint8Array(1), enc.encode(`${hidden.length.toString(8).padStart(10, "0")}\0`)),
    });
    const { files, rules } = await list(cat(h, hidden, END));
    expect(files).toContainEqual(["hidden.pkl", "tarfile", 7]);
    expect(files).toContainEqual(["pad.bin", "lenient", hidden.length]);
    expect(rules).toContain("tar/reader-disagreement");
  });

  it("makes a type-NUL member named with a trailing slash a directory whose data is not skipped", async () => {
    const h = patched({ name: "d/", type: "\0" }, hidden.length, {});
    const { listing, files, rules } = await list(cat(h, hidden, END));
    expect(listing.entries.find((e) => e.reader === "tarfile")).toMatchObject({ name: "d", type: "5", isFile: false });
    expect(files).toContainEqual(["hidden.pkl", "tarfile", 7]);
    expect(rules).toContain("tar/reader-disagreement");
  });

  it("extracts unknown types (GNU multi-volume M) as regular files", async () => {
    const { files, rules } = await list(buildTar([{ name: "w.ckpt", type: "M", data: "payload" }]));
    expect(files).toEqual([["w.ckpt", "tarfile", 7]]);
    expect(rules).not.toContain("tar/reader-disagreement");
  });

  it("lets the first of two pax headers win, and the first of two GNU long names", async () => {
    const pax1 = raw({ name: "p", type: "x", data: paxRecord({ size: "0" }) });
    const pax2 = raw({ name: "p", type: "x", data: paxRecord({ size: String(hidden.length) }) });
    const body = patched({ name: "pad.bin" }, hidden.length, {});
    const { files, rules } = await list(cat(pax1, pax2, body, hidden, END));
    expect(files).toContainEqual(["hidden.pkl", "tarfile", 7]);
    expect(rules).toContain("tar/reader-disagreement");

    const l1 = raw({ name: "././@LongLink", type: "L", data: "storages\0" });
    const l2 = raw({ name: "././@LongLink", type: "L", data: "blob.bin\0" });
    const two = await list(cat(l1, l2, raw({ name: "x", data: "data" }), END));
    expect(two.files).toContainEqual(["storages", "tarfile", 4]);
    expect(two.files).toContainEqual(["blob.bin", "lenient", 4]);
  });

  it("reads pax sizes as Python's int() does, and Solaris X headers as pax", async () => {
    for (const [value, type] of [
      ["+0", "x"],
      [" 0", "x"],
      ["0_0", "x"],
      ["0", "X"],
    ] as const) {
      const p = raw({ name: "p", type, data: paxRecord({ size: value }) });
      const { files } = await list(cat(p, patched({ name: "pad.bin" }, hidden.length, {}), hidden, END));
      expect(files, `${type} size=${JSON.stringify(value)}`).toContainEqual(["hidden.pkl", "tarfile", 7]);
    }
    expect([
      pythonInt("+0"),
      pythonInt(" 1_0 "),
      pythonInt("\u0661\u0662"),
      pythonInt("1__0"),
      pythonInt("0x1"),
    ]).toEqual([0, 10, 12, Number.NaN, Number.NaN]);
  });

  it("accepts pax length fields of up to 20 digits", async () => {
    const rec = "00000000000000025 size=0\n";
    const p = raw({ name: "p", type: "x", data: rec });
    const { files } = await list(cat(p, patched({ name: "pad.bin" }, hidden.length, {}), hidden, END));
    expect(files).toContainEqual(["hidden.pkl", "tarfile", 7]);
  });

  it("gives members the size of a global pax header but skips only the header's", async () => {
    const g = raw({ name: "g", type: "g", data: paxRecord({ size: String(hidden.length) }) });
    const { listing, files } = await list(cat(g, patched({ name: "pad.bin" }, 0, {}), hidden, END));
    // the global size applies to every later member, the hidden one too
    expect(files).toContainEqual(["hidden.pkl", "tarfile", hidden.length]);
    expect(listing.entries[0]).toMatchObject({ name: "pad.bin", size: hidden.length, reader: "tarfile" });
  });

  it("strips the trailing slash of a pax path (tarfile's getmember finds it)", async () => {
    const p = raw({ name: "p", type: "x", data: paxRecord({ path: "storages/" }) });
    const { files, rules } = await list(cat(p, raw({ name: "s2", data: "abc" }), END));
    expect(files).toEqual([
      ["storages", "tarfile", 3],
      ["storages/", "lenient", 3],
    ]);
    expect(rules).toContain("tar/reader-disagreement");
  });

  it("ends where tarfile ends (a bad checksum) without calling it a disagreement", async () => {
    const { listing, rules } = await list(
      buildTar([
        { name: "a", data: "1" },
        { name: "b", data: "2", badChecksum: true },
      ]),
    );
    expect(rules).toContain("tar/checksum-mismatch");
    expect(rules).not.toContain("tar/reader-disagreement");
    expect(listing.entries.map((e) => [e.name, e.reader])).toEqual([
      ["a", "tarfile"],
      ["b", "lenient"],
    ]);
  });

  it("reports as malformed what makes tarfile raise (a metadata record followed by garbage)", async () => {
    const l = raw({ name: "././@LongLink", type: "L", data: "x\0" });
    const { listing, rules } = await list(cat(raw({ name: "a", data: "1" }), l, new Uint8Array(512).fill(0x41), END));
    expect(rules).toContain("tar/malformed");
    expect(listing.incomplete).toBe(true);
  });
});

describe("tar reader: sparse members rebuilt as tarfile extracts them", () => {
  const n12 = (n: number): string => `${n.toString(8).padStart(11, "0")}\0`;
  function sparse(map: [number, number][], stored: Uint8Array, real: number): Uint8Array {
    const patch: Record<number, string> = { 257: "ustar  \0", 483: n12(real) };
    map.forEach(([o, n], i) => {
      patch[386 + 24 * i] = n12(o);
      patch[398 + 24 * i] = n12(n);
    });
    return cat(patched({ name: "s.bin", type: "S" }, stored.length, patch), pad(stored));
  }

  it("fills the holes with zeros and cuts at the real size", async () => {
    const bytes = cat(
      sparse(
        [
          [2, 3],
          [10, 2],
        ],
        enc.encode("abcde"),
        14,
      ),
      END,
    );
    const source = new BufferSource(bytes);
    const listing = await readTar(source);
    const entry = listing.entries[0];
    expect(entry).toMatchObject({ name: "s.bin", size: 14, reader: "tarfile" });
    const content = tarMemberSource(source, entry as NonNullable<typeof entry>);
    expect(Buffer.from(await content.read(0, 100)).toString("latin1")).toBe("\0\0abc\0\0\0\0\0de\0\0");
    expect(listing.findings.find((f) => f.ruleId === "tar/header-anomaly")?.severity).toBe("info");
  });

  it("reports a map out of order (extract and extractfile differ)", async () => {
    const { rules } = await list(
      cat(
        sparse(
          [
            [10, 2],
            [2, 3],
          ],
          enc.encode("abcde"),
          14,
        ),
        END,
      ),
    );
    expect(rules).toContain("tar/reader-disagreement");
  });
});

describe("legacy tar member names as tarfile normalises them", () => {
  it("reads storages/ (a pax path with a trailing slash) as storages", async () => {
    const { legacyTarMember } = await import("../../src/formats/pytorch/tar-members.js");
    expect([legacyTarMember("storages/"), legacyTarMember("storages/#4"), legacyTarMember("x/tensors")]).toEqual([
      "storages",
      "storages",
      "tensors",
    ]);
  });
});
