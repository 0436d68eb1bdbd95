/**
 * `TorchRecords.hasFolder` over large archives: folders are found by a binary search of the
 * sorted record names, not by a scan of every name per call (1,000 candidate roots of a
 * 150,000-entry archive took 5 s when every call scanned the index), with the lookup semantics
 * unchanged (ASCII case ignored, the folder's own entry alone is not a folder with records).
 */
import { describe, expect, it } from "vitest";
import { TorchRecords } from "../../../src/formats/pytorch/record-names.js";
import { zipFlavors } from "../../../src/registry/catalog.js";

/** 1,000 roots with a `data.pkl` each, then 150,000 storages under the first. */
function manyRoots(): string[] {
  const names: string[] = [];
  for (let r = 0; r < 1000; r++) names.push(`r${r}/data.pkl`);
  for (let i = 0; i < 150_000; i++) names.push(`r0/data/${i}`);
  return names;
}

describe("TorchRecords.hasFolder", () => {
  it("answers as lookups do: case ignored, a folder entry alone holds nothing", () => {
    const r = new TorchRecords(["a/data.pkl", "a/code/", "B/CODE/x.py", "c/code", "c/codex/y", "d/code/"]);
    expect(r.hasFolder("code")).toBe(false); // only `a/code/` itself
    expect(r.hasFolder("code", "b")).toBe(true);
    expect(r.hasFolder("CODE", "B")).toBe(true);
    expect(r.hasFolder("code", "c")).toBe(false); // `c/code` is a file, `c/codex/` another folder
    expect(r.hasFolder("code", "d")).toBe(false);
    expect(r.hasFolder("code", "e")).toBe(false);
    expect(new TorchRecords(["a/data.pkl", "a/code/", "a/code/", "A/Code/m.py"]).hasFolder("code")).toBe(true);
    expect(new TorchRecords([]).hasFolder("code", "a")).toBe(false);
  });

  it("asks 1,000 roots of a 150,000-entry archive in well under a second", () => {
    const names = manyRoots();
    const records = new TorchRecords(names);
    const t0 = performance.now();
    let found = 0;
    for (let r = 0; r < 1000; r++) if (records.hasFolder("code", `r${r}`)) found++;
    expect(found).toBe(0);
    expect(records.hasFolder("data")).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("decides the flavour of such an archive (every root is a candidate)", () => {
    const names = manyRoots();
    names.push("r7/code/__torch__.py");
    expect(zipFlavors(names)).toEqual(
      expect.arrayContaining([
        { format: "torchscript", archiveRoot: "r7" },
        { format: "pytorch-zip", archiveRoot: "r0" },
      ]),
    );
  });
});
