/**
 * Every file a supported onnx version may open for an external-data location is checked. onnx up
 * to 1.12 (Debian bookworm's python3-onnx) opens `os.path.join(base_dir, location.lstrip('/.'))`:
 * a location `.weights.bin` reads `weights.bin`, which may be a link out of the model directory
 * (attack review: `weights.bin -> /etc/hostname` beside a regular `.weights.bin` was clean).
 * onnx 1.13 and later open the location as written (refusing `..`, and since 1.16 links).
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ScanRoot } from "../../../src/core/root.js";
import { checkExternalData } from "../../../src/formats/onnx/external.js";
import type { OnnxExternalRef } from "../../../src/formats/onnx/reader.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dirWith(files: Record<string, string | { link: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), "mg-onnx-paths-"));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "string") writeFileSync(join(dir, name), content);
    else symlinkSync(content.link, join(dir, name));
  }
  return dir;
}

const ref = (location: string, length = "8"): OnnxExternalRef =>
  ({
    tensor: "W",
    where: "graph",
    offset: 10,
    markedExternal: true,
    entries: [
      ["location", location],
      ["length", length],
    ],
  }) as unknown as OnnxExternalRef;

const check = (dir: string, location: string, length?: string) =>
  checkExternalData([ref(location, length)], { modelDir: "", root: { localDir: dir } as unknown as ScanRoot });

describe("paths onnx <= 1.12 opens (location.lstrip('/.'))", () => {
  it("a leading dot names another file: its link out of the directory is reported", async () => {
    const dir = dirWith({ ".weights.bin": "\0".repeat(8), "weights.bin": { link: "/etc/hostname" } });
    const findings = await check(dir, ".weights.bin");
    const symlink = findings.find((f) => f.ruleId === "onnx/external-data-symlink");
    expect(symlink, JSON.stringify(findings)).toBeDefined();
    expect(symlink?.evidence).toMatchObject({ location: ".weights.bin", opened: "weights.bin" });
  });

  it("the stripped name missing is reported (onnx 1.12 cannot load the model)", async () => {
    const dir = dirWith({ ".weights.bin": "\0".repeat(8) });
    const findings = await check(dir, ".weights.bin");
    expect(findings.map((f) => f.ruleId)).toEqual(["onnx/external-data-missing"]);
    expect(findings[0]?.evidence).toMatchObject({ opened: "weights.bin" });
  });

  it("the stripped name too short is out of bounds", async () => {
    const dir = dirWith({ ".weights.bin": "\0".repeat(8), "weights.bin": "\0".repeat(4) });
    const findings = await check(dir, "./.weights.bin");
    expect(findings.map((f) => f.ruleId)).toEqual(["onnx/external-data-out-of-bounds"]);
  });

  it("the raw location is still checked (onnx >= 1.13 opens it)", async () => {
    const dir = dirWith({ ".weights.bin": { link: "/etc/hostname" }, "weights.bin": "\0".repeat(8) });
    const findings = await check(dir, ".weights.bin");
    expect(findings.map((f) => f.ruleId)).toEqual(["onnx/external-data-symlink"]);
    expect(findings[0]?.evidence).toMatchObject({ opened: ".weights.bin" });
  });

  it("both files regular and large enough: nothing to report", async () => {
    const dir = dirWith({ ".weights.bin": "\0".repeat(8), "weights.bin": "\0".repeat(8) });
    expect(await check(dir, ".weights.bin")).toEqual([]);
  });

  it("a plain location is one path, checked once", async () => {
    const dir = dirWith({ "weights.bin": { link: "/etc/hostname" } });
    const findings = await check(dir, "weights.bin");
    expect(findings.map((f) => f.ruleId)).toEqual(["onnx/external-data-symlink"]);
  });
});
