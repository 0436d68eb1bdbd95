/**
 * HDF5 layouts where a reader that is not the HDF5 library could see another root group than
 * Keras (h5py) loads: the superblock's stored base address, dense attribute storage beside
 * compact attributes, and a superblock behind a user block larger than the sniffer's head. The
 * files are made by samples/generate/h5_bypass.py (h5py, then byte patches); h5py reads the
 * Lambda-carrying `model_config` from each of them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readHdf5RootAttributes } from "../../../src/formats/keras/hdf5.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(SAMPLES, rel)));
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const withUserBlock = (bytes: Uint8Array, size: number): Uint8Array => {
  const out = new Uint8Array(size + bytes.length);
  out.fill(0x41, 0, size);
  out.set(bytes, size);
  return out;
};

describe("HDF5 base address (the library's base is where the superblock signature is)", () => {
  it.each([
    ["h5-bypass/base_address_v0.h5", 0],
    ["h5-bypass/base_address_v3.h5", 3],
  ])("%s: reads the real root group, not the decoy at stored base + root", async (rel, version) => {
    const info = await readHdf5RootAttributes(new BufferSource(sample(rel)));
    expect(info.superblockVersion).toBe(version);
    expect(info.attributes.get("model_config")?.strings?.join("")).toContain("Lambda");
    expect(info.storedBaseAddress).toBeGreaterThan(0);
    const file = await scanOne(sample(rel), "model.h5");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["keras/lambda-layer", "keras/hdf5-base-address"]));
  });

  it("reads a file whose user block was prepended without updating the stored base (base 0, signature at 512)", async () => {
    const bytes = withUserBlock(sample("keras/clean/sequential_legacy.h5"), 512);
    const info = await readHdf5RootAttributes(new BufferSource(bytes), 512);
    expect(info.storedBaseAddress).toBe(0);
    expect(JSON.parse(info.attributes.get("model_config")?.strings?.[0] ?? "").class_name).toBe("Sequential");
    const file = await scanOne(bytes, "model.h5");
    expect(ruleIds(file)).toContain("keras/hdf5-base-address");
    expect(ruleIds(file)).not.toContain("keras/malformed");
  });

  it("does not report a stored base that matches the signature (h5py's own user blocks)", async () => {
    for (const rel of ["h5-bypass/clean_userblock_4096_v3.h5", "keras/clean/sequential_legacy.h5"]) {
      const file = await scanOne(sample(rel), "model.h5");
      expect(file.verdict, rel).toBe("clean");
    }
  });

  it("rejects a file whose stored end-of-file address (adjusted to the real base) lies past its end, as HDF5 does", async () => {
    const bytes = sample("keras/clean/sequential_legacy.h5").slice();
    view(bytes).setBigUint64(40, BigInt(bytes.length + 8), true); // v0 EOF address
    await expect(readHdf5RootAttributes(new BufferSource(bytes))).rejects.toMatchObject({ code: "TRUNCATED" });
    const file = await scanOne(bytes, "model.h5");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("keras/malformed");
  });
});

describe("HDF5 dense attribute storage", () => {
  it("fails closed when the root group's attributes are in dense storage, whatever compact attributes are also there", async () => {
    const bytes = sample("h5-bypass/dense_decoy.h5");
    const info = await readHdf5RootAttributes(new BufferSource(bytes));
    expect(info.denseAttributes).toBe(true);
    expect(info.attributes.get("model_config")?.strings).toEqual(["{}"]); // the decoy HDF5 never reads
    const file = await scanOne(bytes, "model.h5");
    expect(file.verdict).toBe("invalid");
    expect(file.findings).toContainEqual(
      expect.objectContaining({
        ruleId: "format/unsupported",
        evidence: expect.objectContaining({ reason: "dense attribute storage" }),
      }),
    );
    expect(file.facts?.["keras.format"]).toBeUndefined();
  });
});

describe("HDF5 superblock behind a user block of 64 KiB or more", () => {
  it.each(["h5-bypass/userblock_65536.h5", "h5-bypass/userblock_1048576.h5"])(
    "%s named .h5 is read as HDF5",
    async (rel) => {
      const file = await scanOne(sample(rel), "model.h5");
      expect(file.format).toBe("hdf5");
      expect(file.verdict).toBe("malicious");
      expect(ruleIds(file)).toContain("keras/lambda-layer");
      expect(ruleIds(file)).not.toContain("format/claim-unmet");
    },
  );

  it("a clean model behind a 128 KiB user block is clean, and a .h5 with no superblock anywhere is still claim-unmet", async () => {
    const clean = await scanOne(sample("h5-bypass/clean_userblock_131072.h5"), "model.hdf5");
    expect(clean.format).toBe("hdf5");
    expect(clean.verdict).toBe("clean");
    const none = await scanOne(new Uint8Array(200_000).fill(0x41), "model.h5");
    expect(ruleIds(none)).toContain("format/claim-unmet");
    expect(none.verdict).toBe("invalid");
  });

  it("a superblock the sniffer found after a small user block is analysed once, not again by the probe", async () => {
    const bytes = withUserBlock(sample("keras/lambda_os_system.h5"), 4096);
    const file = await scanOne(bytes, "model.h5");
    expect(file.format).toBe("hdf5");
    expect(file.findings.filter((f) => f.ruleId === "keras/lambda-layer")).toHaveLength(1);
    expect(file.findings.filter((f) => f.ruleId === "keras/hdf5-base-address")).toHaveLength(1);
  });

  it("looks only where HDF5 does (0, 512, 1024 ...): a signature at 70000 is not a superblock", async () => {
    const bytes = withUserBlock(sample("keras/clean/sequential_legacy.h5"), 70_000);
    const file = await scanOne(bytes, "model.h5");
    expect(ruleIds(file)).toContain("format/claim-unmet");
  });
});
