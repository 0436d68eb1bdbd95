/**
 * Members `storages` and `tensors` of PyTorch's legacy tar checkpoints are read as
 * torch.serialization.legacy_load reads them: every pickle it unpickles is analysed (not only the
 * first one), the raw parts are skipped exactly, and anything inconsistent is at least `invalid`.
 * Samples: samples/generate/legacy_tar_members.py.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTar } from "../../../src/containers/tar/reader.js";
import { BufferSource } from "../../../src/core/byte-source.js";
import type { Detection } from "../../../src/core/formats.js";
import { pytorchLegacyAnalyzer } from "../../../src/formats/pytorch/analyzer.js";
import { claimForName } from "../../../src/registry/claims.js";
import { scan } from "../../../src/scan/engine.js";
import { SAMPLES } from "../../helpers/scan.js";
import { fakeContext } from "../pickle/helpers.js";

const DIR = join(SAMPLES, "bypass", "legacy-tar-members");
const sample = (p: string) => new Uint8Array(readFileSync(join(DIR, p)));

async function scanSample(p: string) {
  const report = await scan(join(DIR, p));
  const file = report.files[0];
  if (file === undefined) throw new Error(`no report for ${p}`);
  return { verdict: file.verdict, findings: file.findings };
}

/** The bytes of one member of a tar. */
async function member(tar: Uint8Array, name: string): Promise<Uint8Array> {
  const listing = await readTar(new BufferSource(tar));
  const entry = listing.entries.find((e) => e.name === name);
  if (entry === undefined) throw new Error(`no member ${name}`);
  return tar.subarray(entry.dataOffset, entry.dataOffset + entry.size);
}

/** Runs the analyzer on a member as the name claim hands it over. */
async function analyseMember(data: Uint8Array, name: "storages" | "tensors") {
  const r = fakeContext(data, "pytorch-legacy", { name, lineage: ["tar"] });
  const detection: Detection = { format: "pytorch-legacy", offset: 0, reason: "claimed", claim: "strong" };
  await pytorchLegacyAnalyzer.analyze({ ...r.ctx, detection });
  return r;
}

describe("legacy PyTorch tar members", () => {
  it("claims storages and tensors as a layout read by the PyTorch analyzer, repeated members too", () => {
    expect(claimForName("storages", "tar")?.layout).toBe("pytorch-legacy");
    expect(claimForName("./tensors#7", "tar")?.layout).toBe("pytorch-legacy");
    expect(claimForName("pickle#3", "tar")).toMatchObject({ pickle: true });
    expect(claimForName("pickle", "tar")?.layout).toBeUndefined();
    expect(claimForName("storages")).toBeUndefined();
  });

  it("takes the tar checkpoint for what torch.load reads under a torch name", () => {
    for (const name of ["pytorch_model.bin", "model.pt", "weights.pth", "last.ckpt", "checkpoint.pth.tar", "m.ptl"])
      expect(claimForName(name)?.accepts).toContain("pytorch-tar");
    // paddle.load and pickle.load do not read tars
    expect(claimForName("model.pdparams")?.accepts).not.toContain("pytorch-tar");
    expect(claimForName("model.pkl")?.accepts).not.toContain("pytorch-tar");
  });

  it("reads the object pickle with legacy_load's persistent_load", async () => {
    // its ids are the keys of the storages and tensors ('2', '3'): nothing to report
    expect(await scanSample("benign/pytorch_model.bin")).toEqual({ verdict: "clean", findings: [] });
    // a tuple id yields its first item, posix.system, which the pickle calls
    const evil = await scanSample("pid_evil/pytorch_model.bin");
    expect(evil.verdict).toBe("malicious");
    expect(
      evil.findings.some(
        (f) =>
          f.ruleId === "pickle/dangerous-global" &&
          f.evidence?.callee === "posix.system" &&
          f.evidence?.use === "call" &&
          f.path.endsWith("!pickle"),
      ),
    ).toBe(true);
    // a list id: int(id) raises in torch
    const odd = await scanSample("pid_list/pytorch_model.bin");
    expect(odd.verdict).toBe("suspicious");
    expect(odd.findings.map((f) => f.ruleId)).toEqual(["pickle/persistent-id"]);
  });

  it.each(["views_evil/pytorch_model.bin", "views_evil/model.pt", "duplicate_member/pytorch_model.bin"])(
    "analyses the storage views pickle after the raw storages (%s)",
    async (p) => {
      const { verdict, findings } = await scanSample(p);
      expect(verdict).toBe("malicious");
      expect(
        findings.some(
          (f) =>
            f.ruleId === "pickle/dangerous-global" &&
            f.evidence?.callee === "posix.system" &&
            /!storages(#\d+)?$/.test(f.path),
        ),
      ).toBe(true);
    },
  );

  it("analyses every per-tensor pickle", async () => {
    const { verdict, findings } = await scanSample("tensor_evil/pytorch_model.bin");
    expect(verdict).toBe("malicious");
    expect(
      findings.some(
        (f) =>
          f.ruleId === "pickle/dangerous-global" &&
          f.evidence?.callee === "posix.system" &&
          f.path.endsWith("!tensors"),
      ),
    ).toBe(true);
  });

  it("reads a well-formed checkpoint's members to their end", async () => {
    const { verdict, findings } = await scanSample("benign/pytorch_model.bin");
    expect(verdict).not.toBe("malicious");
    const inMembers = findings.filter((f) => /!(storages|tensors)(!|$)/.test(f.path));
    expect(inMembers).toEqual([]);

    const tar = sample("benign/pytorch_model.bin");
    const storages = await analyseMember(await member(tar, "storages"), "storages");
    expect(storages.findings).toEqual([]);
    // count, two storage headers, storage views
    expect(storages.facts["pickle.count"]).toBe(4);
    expect(storages.members.map((m) => [m.name, m.bytes.length, m.opaque])).toEqual([
      ["storage/0", 24, true],
      ["storage/1", 16, true],
    ]);
    expect(storages.refined).toEqual(["pytorch-legacy"]);
    const tensors = await analyseMember(await member(tar, "tensors"), "tensors");
    expect(tensors.findings).toEqual([]);
    expect(tensors.facts["pickle.count"]).toBe(3);
  });

  it.each([
    ["size_past_end/pytorch_model.bin", /declares 1000 elements, more than the member holds/],
    ["unknown_type/pytorch_model.bin", /no known storage type \(torch\.FooStorage\)/],
    ["trailing/pytorch_model.bin", /24 bytes after the storage views pickle/],
  ])("fails closed on %s", async (p, message) => {
    const { verdict, findings } = await scanSample(p);
    expect(["invalid", "malicious"]).toContain(verdict);
    expect(findings.some((f) => f.ruleId === "pytorch/legacy-layout" && message.test(f.message))).toBe(true);
  });

  it("reports counts that are not ints and records that end early", async () => {
    const tar = sample("benign/pytorch_model.bin");
    const storages = await member(tar, "storages");
    const layout = (r: Awaited<ReturnType<typeof analyseMember>>) =>
      r.findings.filter((f) => f.ruleId === "pytorch/legacy-layout").map((f) => f.message);
    // a float count (protocol 2 BINFLOAT 2.0)
    const floatCount = Uint8Array.from([0x80, 0x02, 0x47, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x2e]);
    expect(layout(await analyseMember(floatCount, "storages"))).toEqual([
      expect.stringMatching(/storages count is not an int literal/),
    ]);
    // the member cut inside the last storage's raw bytes (16 bytes, then the 4-byte views pickle)
    expect(layout(await analyseMember(storages.subarray(0, storages.length - 14), "storages"))).toEqual([
      expect.stringMatching(/storage 1 \(torch\.LongStorage\) declares 2 elements, more than the member holds/),
    ]);
    // a count larger than the member can hold
    const huge = Uint8Array.from([0x80, 0x02, 0x4a, 0xff, 0xff, 0xff, 0x7f, 0x2e]);
    const r = await analyseMember(huge, "tensors");
    expect(r.findings.map((f) => f.ruleId)).toEqual(["scan/budget-exceeded"]);
    // a tensor whose ndim runs past the end
    const tensors = await member(tar, "tensors");
    expect(layout(await analyseMember(tensors.subarray(0, tensors.length - 8), "tensors"))).toEqual([
      expect.stringMatching(/tensor 1 declares 1 dimensions, more than the member holds/),
    ]);
  });
});
