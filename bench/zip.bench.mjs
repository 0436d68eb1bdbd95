// Zip central-directory listing: modelgate's reader vs yauzl on a generated 100k-entry zip64.
// Each measurement runs in its own node process so peak RSS is per reader (the figure includes
// node itself, ~45 MB). Runs alternate between the two readers so both see the same machine load;
// the best of 5 wall-clock times and the CPU time of that run are reported.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRIES = 100_000;
const RUNS = 5;
const self = fileURLToPath(import.meta.url);

/** Writes a stored-entry zip64 archive (zip64 end records: more than 65,535 entries). */
function writeZip64(path, count) {
  const parts = [];
  const central = [];
  let offset = 0;
  const body = Buffer.from("x");
  for (let i = 0; i < count; i++) {
    const name = Buffer.from(`archive/data/${i}`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(0x8cdc1683, 14); // crc32("x")
    local.writeUInt32LE(1, 18);
    local.writeUInt32LE(1, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x031e, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(0x8cdc1683, 16);
    cd.writeUInt32LE(1, 20);
    cd.writeUInt32LE(1, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += 30 + name.length + 1;
  }
  const cdBytes = Buffer.concat(central);
  const eocd64 = Buffer.alloc(56 + 20 + 22);
  eocd64.writeUInt32LE(0x06064b50, 0);
  eocd64.writeBigUInt64LE(44n, 4);
  eocd64.writeUInt16LE(45, 12);
  eocd64.writeUInt16LE(45, 14);
  eocd64.writeBigUInt64LE(BigInt(count), 24);
  eocd64.writeBigUInt64LE(BigInt(count), 32);
  eocd64.writeBigUInt64LE(BigInt(cdBytes.length), 40);
  eocd64.writeBigUInt64LE(BigInt(offset), 48);
  eocd64.writeUInt32LE(0x07064b50, 56);
  eocd64.writeBigUInt64LE(BigInt(offset + cdBytes.length), 64);
  eocd64.writeUInt32LE(1, 72);
  eocd64.writeUInt32LE(0x06054b50, 76);
  eocd64.writeUInt16LE(0xffff, 84);
  eocd64.writeUInt16LE(0xffff, 86);
  eocd64.writeUInt32LE(0xffffffff, 88);
  eocd64.writeUInt32LE(0xffffffff, 92);
  writeFileSync(path, Buffer.concat([...parts, cdBytes, eocd64]));
}

async function listOurs(path) {
  const { FileSource } = await import("../dist/sources/file.js");
  const { readZipDirectory } = await import("../dist/containers/zip/reader.js");
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const source = await FileSource.open(path);
  const dir = await readZipDirectory(source);
  await source.close();
  return { ms: performance.now() - t0, cpuMs: cpuMs(c0), entries: dir.entries.length, findings: dir.findings.length };
}

async function listYauzl(path) {
  const { default: yauzl } = await import("yauzl");
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const entries = await new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (error, zip) => {
      if (error) return reject(error);
      let n = 0;
      zip.on("entry", () => {
        n++;
        zip.readEntry();
      });
      zip.on("end", () => resolve(n));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
  return { ms: performance.now() - t0, cpuMs: cpuMs(c0), entries };
}

function cpuMs(start) {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

if (process.argv[2] === "--write") {
  writeZip64(process.argv[3], ENTRIES);
} else if (process.argv[2] === "--child") {
  const [, , , which, path] = process.argv;
  const result = which === "ours" ? await listOurs(path) : await listYauzl(path);
  process.stdout.write(JSON.stringify({ ...result, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
} else {
  const dir = mkdtempSync(join(tmpdir(), "modelgate-bench-"));
  try {
    const path = join(dir, "100k.zip");
    writeZip64(path, ENTRIES);
    const once = (which) => {
      const r = JSON.parse(execFileSync(process.execPath, [self, "--child", which, path], { encoding: "utf8" }));
      if (r.entries !== ENTRIES) throw new Error(`${which} listed ${r.entries} entries, expected ${ENTRIES}`);
      return r;
    };
    let ours;
    let yauzl;
    for (let i = 0; i < RUNS; i++) {
      const a = once("ours");
      const b = once("yauzl");
      if (ours === undefined || a.ms < ours.ms) ours = a;
      if (yauzl === undefined || b.ms < yauzl.ms) yauzl = b;
    }
    const f = (n) => n.toFixed(1);
    console.log(`zip listing, ${ENTRIES} entries (zip64), best of ${RUNS}, one process each:`);
    console.log(`  modelgate: ${f(ours.ms)} ms (CPU ${f(ours.cpuMs)} ms), peak RSS ${f(ours.maxRssMB)} MB`);
    console.log(`  yauzl:     ${f(yauzl.ms)} ms (CPU ${f(yauzl.cpuMs)} ms), peak RSS ${f(yauzl.maxRssMB)} MB`);
    console.log(
      `  ratio:     ${f(yauzl.ms / ours.ms)}× faster wall-clock, ${f(yauzl.cpuMs / ours.cpuMs)}× less CPU (goal ≥ 20×)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
