/**
 * torch.package archives (`torch-package`): real archives from PackageExporter
 * (samples/generate/torch_package.py) and hand-built ones for PackageImporter's persistent_load:
 * `("storage", type, key, location, size)` ids are storages, `("reduce_package", [id,] func, args)`
 * ids call `func(importer, *args)`, anything else is not what the importer reads.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

async function sample(name: string) {
  const report = await scanSample(join("torch-package", name));
  const file = report.files[0];
  if (file === undefined) throw new Error("no file report");
  return file;
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A torch.package archive (root `pkg`) holding `pkg/model/model.pkl` and the given members. */
function pkgArchive(pickle: Uint8Array, extra: { name: string; data: Uint8Array | string }[] = []): Uint8Array {
  return buildZip([
    { name: "pkg/.data/version", data: "6\n" },
    { name: "pkg/.data/extern_modules", data: "torch\n" },
    { name: "pkg/model/model.pkl", data: pickle },
    ...extra,
  ]);
}

/** Protocol 2 pickle: `persistent_load(<pid>)` where pid is built by `pidOps` (leaving one tuple). */
const persid = (pidOps: string) => latin1(`\x80\x02${pidOps}Q.`);

describe("torch.package archives made by PackageExporter", () => {
  it.each(["linear.pt", "state_dict.pt"])("%s is clean, read as torch-package", async (name) => {
    const file = await sample(name);
    expect(file.format).toBe("torch-package");
    expect(file.findings).toEqual([]);
    expect(file.verdict).toBe("clean");
  });

  it("a model class from an interned module is unknown code, not an override of a trusted name", async () => {
    const file = await sample("interned_module.pt");
    expect(ruleIds(file).sort()).toEqual(["pickle/unknown-global", "repo/python-file"]);
    expect(file.verdict).toBe("suspicious");
  });

  it("a __reduce_package__ function is a call with the importer, and its module runs a command", async () => {
    const file = await sample("reduce_package.pt");
    const call = file.findings.find((f) => f.ruleId === "pickle/unknown-global");
    expect(call?.evidence).toMatchObject({ callee: "hooklib.rebuild", use: "call" });
    expect(call?.message).toContain("<the PackageImporter>");
    expect(ruleIds(file)).toContain("repo/risky-code");
    expect(file.verdict).toBe("malicious");
  });
});

describe("PackageImporter's persistent_load", () => {
  it.each([
    ["three items", "(U\x0ereduce_packagecposix\nsystem\n(U\x02idttp0\n"],
    ["four items (with an id)", "(U\x0ereduce_packageK\x07cposix\nsystem\n(U\x02idttp0\n"],
  ])("reduce_package (%s) calls its function", async (_label, ops) => {
    const file = await scanOne(pkgArchive(persid(ops.replace("ttp0\n", "tt"))), "model.pt");
    const f = file.findings.find((x) => x.evidence?.callee === "posix.system");
    expect(f?.evidence?.use).toBe("call");
    expect(f?.severity).toBe("critical");
    expect(file.verdict).toBe("malicious");
  });

  it("a storage id with an int key (as PackageExporter writes it) is a storage", async () => {
    const file = await scanOne(
      pkgArchive(persid("(U\x07storagectorch\nFloatStorage\nK\x00U\x03cpuK\x02t"), [
        { name: "pkg/.data/0.storage", data: new Uint8Array(8) },
      ]),
      "model.pt",
    );
    expect(file.format).toBe("torch-package");
    expect(file.verdict).toBe("clean");
  });

  it.each([
    ["the legacy module form", "(U\x06modulectorch\nFloatStorage\nU\x01fU\x01st"],
    ["a reduce_package id of five items", "(U\x0ereduce_packageK\x01K\x02K\x03K\x04t"],
    ["a bare string", "U\x013"],
  ])("%s is not an id the importer reads", async (_label, ops) => {
    const file = await scanOne(pkgArchive(persid(ops)), "model.pt");
    expect(ruleIds(file)).toContain("pickle/persistent-id");
    expect(file.verdict).not.toBe("clean");
  });

  it("the same reduce_package pickle in a torch.save archive is not a storage reference", async () => {
    const pickle = persid("(U\x0ereduce_packagecbuiltins\nlen\n(U\x02idtt");
    const file = await scanOne(
      buildZip([
        { name: "m/data.pkl", data: pickle },
        { name: "m/version", data: "3\n" },
      ]),
      "model.pt",
    );
    expect(file.format).toBe("pytorch-zip");
    expect(ruleIds(file)).toContain("pickle/persistent-id");
  });

  it("a pickle hidden in a storage member is still sniffed", async () => {
    const evil = latin1("\x80\x02cposix\nsystem\nU\x02idtR.");
    const file = await scanOne(
      pkgArchive(persid("(U\x07storagectorch\nFloatStorage\nK\x00U\x03cpuK\x02t"), [
        { name: "pkg/.data/0.storage", data: evil },
      ]),
      "model.pt",
    );
    expect(file.verdict).not.toBe("clean");
  });
});
