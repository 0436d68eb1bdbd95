/**
 * Tensor storages are opaque data no loader decodes: a storage of random weights whose first
 * bytes look like a pickle (one in about 30) or a zlib header (one in a few hundred) is not a
 * broken pickle or stream (a real checkpoint of 3,000 small storages was `invalid`), while a
 * pickle that parses there and imports something dangerous still counts.
 */
import { describe, expect, it } from "vitest";
import { buildZip } from "../containers/zip-builder.js";
import { ruleIds, scanOne } from "../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** `{}` as torch.save pickles a checkpoint (protocol 2). */
const EMPTY_DICT = latin1("\x80\x02}q\x00.");
/** Random float bytes that open with PROTO 2 then a BINGET of a memo entry that does not exist. */
const PICKLE_LOOKING = latin1("\x80\x02h\x9d\xc3\x3e\x11\xbf\x8a\x07\x52\x3f\x00\x00\x80\xbf\x12\x34\x56\x78");
/** Random bytes that open with a valid zlib header (0x78 0x9c) and do not inflate. */
const ZLIB_LOOKING = latin1("\x78\x9c\xff\xfe\x17\x00\x41\x3f\x9a\x99\x99\x3e\xcd\xcc\x4c\x3e\x00\x00\x00\x00");
/** A protocol 2 pickle that calls posix.system. */
const SYSTEM = latin1("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.");

const checkpoint = (...storages: Uint8Array[]) =>
  buildZip([
    { name: "archive/data.pkl", data: EMPTY_DICT },
    { name: "archive/byteorder", data: "little" },
    ...storages.map((data, i) => ({ name: `archive/data/${i}`, data })),
    { name: "archive/version", data: "3\n" },
  ]);

describe("opaque tensor storages", () => {
  it("a storage that opens like a pickle or a zlib stream and is neither is no finding", async () => {
    const file = await scanOne(checkpoint(PICKLE_LOOKING, ZLIB_LOOKING), "model.pt");
    const rules = ruleIds(file);
    expect(rules).not.toContain("pickle/malformed");
    expect(rules).not.toContain("pickle/trailing-data");
    expect(rules).not.toContain("container/malformed-stream");
    expect(file.verdict).toBe("clean");
  });

  it("a dangerous pickle in a storage still counts", async () => {
    const file = await scanOne(checkpoint(PICKLE_LOOKING, SYSTEM), "model.pt");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });
});
