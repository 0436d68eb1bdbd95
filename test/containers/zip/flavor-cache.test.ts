/**
 * The zip flavours of one archive are worked out once: every analyzer of a zip (zip, torch
 * records, TorchServe, skops) reads the directory itself and asks with a fresh list of names, and
 * each used to index all of them again (PyTorch's record index of 150,000 names per analyzer).
 * Keyed by the archive, lists with the same names share one answer; other names get their own.
 */
import { describe, expect, it } from "vitest";
import { archiveNames } from "../../../src/containers/zip/flavor.js";
import { zipFlavors } from "../../../src/registry/catalog.js";

/** A torch.save archive of 150,000 storages under 200 top-level folders (candidate roots). */
function bigCheckpoint(): string[] {
  const names = ["archive/data.pkl"];
  for (let i = 0; i < 150_000; i++) names.push(`archive/data/${i}`);
  for (let r = 0; r < 200; r++) names.push(`extra${r}/data.pkl`);
  names.push("archive/version");
  return names;
}

describe("zip flavours cached per archive", () => {
  it("answers fresh copies of the same names from the first answer", () => {
    const names = bigCheckpoint();
    const archive = {};
    const first = zipFlavors([...names], archive);
    expect(first[0]).toEqual({ format: "pytorch-zip", archiveRoot: "archive" });
    const t0 = performance.now();
    for (let k = 0; k < 12; k++) expect(zipFlavors([...names], archive)).toEqual(first);
    // twelve rebuilds took 2.5 s; twelve hits (copy, compare) about 35 ms
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("gives another list of names of the same archive its own answer", () => {
    const archive = {};
    expect(zipFlavors(["a/data.pkl", "a/data/0"], archive)[0]?.format).toBe("pytorch-zip");
    expect(zipFlavors(["a/data.pkl", "a/code/m.py"], archive)[0]?.format).toBe("torchscript");
    expect(zipFlavors(["x.npy"], archive)[0]?.format).toBe("npz");
    expect(zipFlavors(["a/data.pkl", "a/data/0"])[0]?.format).toBe("pytorch-zip");
  });

  it("keeps one list per archive, compared name by name", () => {
    const archive = {};
    const a = ["m/data.pkl", "m/data/0"];
    expect(archiveNames(archive, a)).toBe(a);
    expect(archiveNames(archive, [...a])).toBe(a);
    const b = ["m/data.pkl", "m/data/1"];
    expect(archiveNames(archive, b)).toBe(b);
    expect(archiveNames(undefined, a)).toBe(a);
  });
});
