/**
 * PyTorch archive record names resolved as PyTorchStreamReader (miniz) resolves them: the root is
 * entry 0's folder, lookups ignore ASCII case (root included), case twins are ambiguous to the
 * loader; and TorchScript mobile flatbuffer modules (`PTMF`) recognised under any name. Real-torch
 * samples: samples/torch-record-names (samples/generate/torch_record_names.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isTorchOpaqueMember } from "../../../src/containers/zip/flavor.js";
import { asciiLower, recordBase, TorchRecords } from "../../../src/formats/pytorch/record-names.js";
import { zipFlavors } from "../../../src/registry/catalog.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** `{}` as torch.save pickles a checkpoint (protocol 2, an empty dict). */
const EMPTY_DICT = latin1("\x80\x02}q\x00.");
/** A protocol 2 pickle that calls posix.system. */
const SYSTEM = latin1("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.");

async function sample(name: string) {
  const report = await scanSample(join("torch-record-names", name));
  const file = report.files[0];
  if (file === undefined) throw new Error("no file report");
  return file;
}

describe("TorchRecords", () => {
  it("takes the root from entry 0 and looks records up ignoring ASCII case, root included", () => {
    const r = new TorchRecords(["b/version", "a/data.pkl", "B/DATA.PKL", "b/Code/x.py"]);
    expect(r.root).toBe("b");
    expect(r.resolve("data.pkl")).toEqual(["B/DATA.PKL"]);
    expect(r.has("data.pkl", "a")).toBe(true);
    expect(r.hasFolder("code")).toBe(true);
    expect(r.candidateRoots()).toEqual(["b", "a"]);
  });

  it("has no root when entry 0 is not in a folder (every loader refuses the archive)", () => {
    expect(new TorchRecords(["version", "archive/data.pkl"]).root).toBeUndefined();
  });

  it("groups names a lookup cannot tell apart", () => {
    const r = new TorchRecords(["archive/data.pkl", "archive/DATA.PKL", "archive/version", "archive/Data.pkl"]);
    expect(r.ambiguous()).toEqual([["archive/data.pkl", "archive/DATA.PKL", "archive/Data.pkl"]]);
  });

  it("lower-cases ASCII only, as miniz's MZ_TOLOWER", () => {
    expect(asciiLower("DATA.PKL/İ/Ä")).toBe("data.pkl/İ/Ä");
    expect(recordBase("BYTECODE.PKL#7")).toBe("bytecode.pkl");
  });
});

describe("zip flavours resolve records as PyTorch does", () => {
  it.each([
    [["archive/DATA.PKL", "archive/data/0", "archive/version"], "pytorch-zip", "archive"],
    [["archive/version", "ARCHIVE/data.pkl"], "pytorch-zip", "archive"],
    [["m/data.pkl", "m/CONSTANTS.PKL", "m/version"], "torchscript", "m"],
    [["m/data.pkl", "m/version", "m/CODE/__torch__/m.py"], "torchscript", "m"],
    [["m/Data.Pkl", "m/BYTECODE.PKL", "m/version"], "torchscript", "m"],
    [["r/p/x.pkl", "r/.DATA/extern_modules", "r/.Data/version"], "torch-package", "r"],
    // entry 0's root, not the first in sorted order
    [["b/version", "a/data.pkl", "b/data.pkl"], "pytorch-zip", "b"],
  ])("%j is %s with root %s", (names, format, root) => {
    expect(zipFlavors(names)[0]).toEqual({ format, archiveRoot: root });
  });

  it("storages and metadata are opaque whatever their case", () => {
    expect(isTorchOpaqueMember("ARCHIVE/DATA/0", "archive")).toBe(true);
    expect(isTorchOpaqueMember("archive/VERSION", "archive")).toBe(true);
    expect(isTorchOpaqueMember("r/.DATA/0.STORAGE", "r", "torch-package")).toBe(true);
    expect(isTorchOpaqueMember("archive/DATA.PKL", "archive")).toBe(false);
  });
});

describe("records stored under another case", () => {
  it("a checkpoint whose data.pkl is DATA.PKL is a PyTorch checkpoint, its spelling reported", async () => {
    const file = await scanOne(
      buildZip([
        { name: "archive/DATA.PKL", data: EMPTY_DICT },
        { name: "archive/version", data: "3\n" },
      ]),
      "model.pt",
    );
    expect(file.format).toBe("pytorch-zip");
    expect(ruleIds(file)).toEqual(["pytorch/record-name-case"]);
    expect(file.verdict).toBe("suspicious");
  });

  it("lite interpreter bytecode stored as BYTECODE.PKL is read for its operators (real torch)", async () => {
    const file = await sample("lite_BYTECODE.ptl");
    expect(file.format).toBe("torchscript");
    expect(file.findings.some((f) => f.ruleId === "pickle/torchscript-op" && f.evidence?.callee === "aten::save")).toBe(
      true,
    );
    expect(file.verdict).toBe("malicious");
  });

  it("TorchScript with DATA.PKL or a CODE/ folder stays TorchScript (real torch)", async () => {
    for (const name of ["script_DATA_PKL.pt", "script_CODE_dir.pt"]) {
      const file = await sample(name);
      expect(file.format, name).toBe("torchscript");
      expect(ruleIds(file), name).toContain("pytorch/record-name-case");
      expect(
        file.findings.some((f) => f.evidence?.callee === "torch.save"),
        name,
      ).toBe(true);
      expect(file.verdict, name).toBe("malicious");
    }
  });

  it("torch.package with .DATA/ is a torch.package, its module override reported (real torch)", async () => {
    const file = await sample("package_DATA_dir.pt");
    expect(file.format).toBe("torch-package");
    expect(ruleIds(file)).toContain("pytorch/package-module-override");
    expect(file.verdict).toBe("malicious");
  });
});

describe("case twins", () => {
  it("two data.pkl records are reported high (real torch reads the second here)", async () => {
    const file = await sample("checkpoint_case_twin.pt");
    const twin = file.findings.find((f) => f.ruleId === "pytorch/record-case-twin");
    expect(twin?.severity).toBe("high");
    expect(twin?.evidence).toMatchObject({ record: "data.pkl" });
    expect(file.verdict).toBe("malicious");
  });

  it("a torch.package module and its twin are reported high", async () => {
    const file = await sample("package_module_twin.pt");
    expect(file.findings.find((f) => f.ruleId === "pytorch/record-case-twin")?.severity).toBe("high");
  });

  it("twins of a storage are medium, twins that hold a pickle under another name are high", async () => {
    const storage = await scanOne(
      buildZip([
        { name: "archive/data.pkl", data: EMPTY_DICT },
        { name: "archive/data/0", data: new Uint8Array(8) },
        { name: "archive/DATA/0", data: new Uint8Array(8) },
        { name: "archive/version", data: "3\n" },
      ]),
      "model.pt",
    );
    expect(storage.findings.find((f) => f.ruleId === "pytorch/record-case-twin")?.severity).toBe("medium");
    const pickled = await scanOne(
      buildZip([
        { name: "archive/data.pkl", data: EMPTY_DICT },
        { name: "archive/extra/x", data: "text" },
        { name: "archive/EXTRA/X", data: SYSTEM },
        { name: "archive/version", data: "3\n" },
      ]),
      "model.pt",
    );
    expect(pickled.findings.find((f) => f.ruleId === "pytorch/record-case-twin")?.severity).toBe("high");
  });

  it("real torch archives have no record findings", async () => {
    for (const name of ["clean_checkpoint.pt", "clean_script.pt", "clean_lite.ptl", "package_clean.pt"]) {
      const file = await sample(name);
      expect(
        file.findings.filter((f) => f.ruleId.startsWith("pytorch/")),
        name,
      ).toEqual([]);
    }
  });
});

describe("TorchScript mobile flatbuffer modules (PTMF)", () => {
  const bytes = readFileSync(join(SAMPLES, "torch-record-names", "mobile_setstate.ff"));
  it.each(["m.ff", "m.bin", "m", "m.pt", "m.ptl"])("are recognised and reported high as %s", async (name) => {
    const file = await scanOne(bytes, name);
    expect(file.format).toBe("torchscript-mobile");
    expect(file.findings.find((f) => f.ruleId === "pytorch/mobile-flatbuffer")?.severity).toBe("high");
    expect(file.findings.some((f) => f.evidence?.callee === "aten::save")).toBe(true);
    expect(file.findings.some((f) => f.evidence?.callee === "__torch__.Saver.__setstate__")).toBe(true);
    expect(file.verdict).toBe("malicious");
  });

  it("a module without risky operators is still not clean", async () => {
    const file = await sample("mobile_plain.bin");
    expect(ruleIds(file)).toEqual(["pytorch/mobile-flatbuffer"]);
    expect(file.verdict).toBe("malicious");
  });
});
