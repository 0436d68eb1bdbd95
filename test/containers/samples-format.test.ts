/** Real archives from samples/containers are refined to the right zip flavor and walked. */
import { describe, expect, it } from "vitest";
import { scanSample } from "../helpers/scan.js";

describe("container samples: formats and members", () => {
  it.each([
    ["containers/torch/state-dict.pt", "pytorch-zip"],
    ["containers/torch/scripted.pt", "torchscript"],
    ["containers/zip/arrays.npz", "npz"],
    ["containers/zip/benign.zip", "zip"],
    ["containers/tar/benign.tar", "tar"],
    ["containers/compressed/nested.tar.gz", "gzip"],
  ])("%s is %s", async (path, format) => {
    const report = await scanSample(path);
    expect(report.files[0]?.format).toBe(format);
  });

  it("names members of a real torch.save archive and keeps storages quiet", async () => {
    const report = await scanSample("containers/torch/state-dict.pt");
    const file = report.files[0];
    const members = (file?.members ?? []).map((m) => m.path);
    expect(members).toContain("state-dict.pt!archive/data.pkl");
    expect(members.some((m) => /!archive\/data\/\d+$/.test(m))).toBe(true);
    expect(file?.findings.filter((f) => f.ruleId === "format/unknown")).toEqual([]);
  });

  it("follows gzip → tar → zip nesting", async () => {
    const report = await scanSample("containers/compressed/nested.tar.gz");
    const members = (report.files[0]?.members ?? []).map((m) => `${m.path}:${m.format}`);
    expect(members).toEqual(
      expect.arrayContaining(["nested.tar.gz!nested.tar:tar", "nested.tar.gz!nested.tar!inner.zip:zip"]),
    );
  });
});
