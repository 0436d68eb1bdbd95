/**
 * Persistent ids of the pickles of a torch.package archive that is also a torch.save zip (a root
 * `data.pkl`): PackageImporter reads them, and writes storage keys as ints. torch.load formats the
 * key into the record name too (`f"data/{key}"`; torch 1.13 loads an int key), so an int key is a
 * storage reference in either loader: the real-tool sample (samples/zip-flavours, made with
 * PackageExporter) was `suspicious` for it and is clean; ids neither loader reads stay flagged.
 */
import { describe, expect, it } from "vitest";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
/** `{"w": <pid ("storage", torch.FloatStorage, 0, "cpu", 6)>}`, protocol 2 (pickle.Pickler). */
const INT_KEY = hex(
  "80027d7100580100000077710128580700000073746f72616765710263746f7263680a466c6f617453746f726167650a71034b00580300000063707571044b0674710551732e",
);
/** The same id with the element count `"six"` (torch.load raises). */
const BAD_NUMEL = hex(
  "80027d7100580100000077710128580700000073746f72616765710263746f7263680a466c6f617453746f726167650a71034b00580300000063707571045803000000736978710574710651732e",
);

function torchSave(dataPkl: Uint8Array): Uint8Array {
  return buildZip([
    { name: "archive/data.pkl", data: dataPkl },
    { name: "archive/data/0", data: new Uint8Array(24) },
    { name: "archive/version", data: "3\n" },
  ]);
}

describe("torch.package storage ids in a torch.save zip", () => {
  it("keeps PackageExporter's state_dict with a root data.pkl clean", async () => {
    const report = await scanSample("zip-flavours/pkg-storages-root-datapkl.pt");
    const file = report.files[0];
    expect(file?.verdict).toBe("clean");
    expect(ruleIds(file as NonNullable<typeof file>)).not.toContain("pickle/persistent-id");
  });

  it("takes an int storage key as torch.load does", async () => {
    const file = await scanOne(torchSave(INT_KEY), "intkey.pt");
    expect(file.verdict).toBe("clean");
  });

  it("still flags ids torch.load cannot read", async () => {
    const file = await scanOne(torchSave(BAD_NUMEL), "badnumel.pt");
    expect(ruleIds(file)).toContain("pickle/persistent-id");
    expect(file.verdict).not.toBe("clean");
  });
});
