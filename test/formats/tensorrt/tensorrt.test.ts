import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StringScan } from "../../../src/formats/tensorrt/analyzer.js";
import { detectTensorrt } from "../../../src/formats/tensorrt/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "tensorrt", p)));
const enc = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

describe("tensorrt detector", () => {
  it("recognises ptrt/ftrt at 0 and behind a JSON metadata block", () => {
    const d = (b: Uint8Array) => detectTensorrt({ head: b, tail: b, size: b.length, name: "x" });
    expect(d(enc("ftrt\x61\x00\x00\x00"))?.format).toBe("tensorrt");
    expect(d(enc("ptrt\x00\x00\x00\x00"))?.format).toBe("tensorrt");
    expect(d(enc('\x07\x00\x00\x00{"a":1}ftrt'))?.reason).toContain("7 bytes of JSON metadata");
    expect(d(enc('\x07\x00\x00\x00{"a":1}GGUF'))).toBeUndefined();
    expect(d(enc("xtrt\x00\x00\x00\x00"))).toBeUndefined();
  });
});

describe("tensorrt string scan", () => {
  it("finds plugin names, libraries and ELF images across chunk boundaries", () => {
    const s = new StringScan();
    const text = enc("\x00\x00EfficientNMS_TRT\x00/opt/plugins/libmy_plugin.so.8\x00conv1.weight\x00");
    s.push(text.subarray(0, 8));
    s.push(text.subarray(8));
    s.push(enc("\x00\x7fEL"));
    s.push(enc("F\x02\x01\x01\x00\x00\x00\x00"));
    s.end();
    expect([...s.names.keys()]).toEqual(["EfficientNMS_TRT", "/opt/plugins/libmy_plugin.so.8"]);
    expect(s.names.get("EfficientNMS_TRT")?.offset).toBe(2);
    expect(s.images).toEqual([{ offset: text.length + 1, kind: "ELF" }]);
  });
});

describe("tensorrt scans", () => {
  it("is never clean; plugins are medium, embedded libraries high", async () => {
    const plain = await scanOne(sample("resnet.engine"), "resnet.engine");
    expect(plain).toMatchObject({ format: "tensorrt", verdict: "suspicious" });
    expect(ruleIds(plain)).toEqual(["tensorrt/opaque-engine"]);
    const nms = await scanOne(sample("yolo-nms.plan"), "model.bin");
    expect(ruleIds(nms)).toContain("tensorrt/plugin-reference");
    const lib = await scanOne(sample("embedded-plugin-library.trt"), "model.trt");
    expect(lib.verdict).toBe("malicious");
    const meta = await scanOne(sample("ultralytics-metadata.engine"), "yolo.engine");
    expect(meta.members?.map((m) => [m.path, m.format])).toEqual([["yolo.engine!metadata.json", "json"]]);
  });

  it("does not claim .engine/.plan names: other content stays what it is", async () => {
    const text = await scanOne(enc("game engine settings\nfps = 60\n"), "settings.engine");
    expect(text.verdict).toBe("clean");
    expect(ruleIds(text)).not.toContain("format/claim-unmet");
  });
});
