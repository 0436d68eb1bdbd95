import { describe, expect, it } from "vitest";
import { scanOne } from "../../helpers/scan.js";

/** Text as PyYAML writes it with `encoding="utf-16-le"/"utf-16-be"` (byte-order mark first). */
function utf16(text: string, bigEndian: boolean): Uint8Array {
  const le = Buffer.from(`\uFEFF${text}`, "utf16le");
  if (bigEndian) le.swap16();
  return le;
}

const PAYLOAD = '!!python/object/apply:os.system ["echo pwned"]\n';

describe("UTF-16 text (PyYAML and json read it by its byte-order mark)", () => {
  for (const bigEndian of [false, true]) {
    const order = bigEndian ? "big-endian" : "little-endian";
    it(`a ${order} YAML with a python tag is malicious, named or not`, async () => {
      for (const name of ["config.yaml", "hparams", "notes.txt"]) {
        const file = await scanOne(utf16(`model:\n  init: ${PAYLOAD}`, bigEndian), name);
        expect(file.format, `${order} ${name}`).toBe("yaml");
        expect(file.verdict, `${order} ${name}`).toBe("malicious");
      }
    });

    it(`a ${order} plain YAML config stays clean`, async () => {
      const file = await scanOne(utf16("lr: 0.001\nlayers: [64, 64]\n", bigEndian), "hparams.yaml");
      expect(file.format).toBe("yaml");
      expect(file.verdict).toBe("clean");
    });
  }
});
