/**
 * Implementation twins of denied stdlib modules (`_pyio` for `io`, `_sqlite3` for `sqlite3`,
 * `_tkinter` for `tkinter` ...) and stdlib modules that run commands, evaluate code, load native
 * code or write files are denied with the public module's category and severity, not reported as
 * unknown globals (medium); the names real model pickles use stay as they were.
 */
import { describe, expect, it } from "vitest";
import denylist from "../../../src/formats/pickle/policy/denylist.json" with { type: "json" };
import { picklePolicy, twinNames } from "../../../src/formats/pickle/policy/index.js";
import { scanOne } from "../../helpers/scan.js";

const RANK: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

const sbu = (s: string) => {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
};
/** Protocol 4: `module.qualname("id")`, STOP. */
function callPickle(module: string, qualname: string): Uint8Array {
  const arg = Buffer.concat([Buffer.from("X\x02\x00\x00\x00id", "latin1"), Buffer.from([0x85, 0x52, 0x2e])]);
  return Buffer.concat([Buffer.from([0x80, 0x04]), sbu(module), sbu(qualname), Buffer.from([0x93]), arg]);
}

/** [module, qualname, severity, category]: one tiny pickle per twin or newly listed module. */
const DENIED: [string, string, string, string][] = [
  ["_pyio", "open", "high", "file-access"],
  ["_pyio", "BufferedWriter.write", "high", "file-access"],
  ["_sqlite3", "connect", "high", "file-access"],
  ["_sqlite3", "Connection.executescript", "high", "file-access"],
  ["_dbm", "open", "high", "file-access"],
  ["_gdbm", "open", "high", "file-access"],
  ["_lzma", "LZMADecompressor", "high", "file-access"],
  ["_bz2", "BZ2Decompressor", "high", "file-access"],
  ["_tkinter", "create", "critical", "process"],
  ["_tkinter", "TkappType.eval", "critical", "process"],
  ["tkinter", "Tcl", "critical", "process"],
  ["turtle", "TK.Tcl", "critical", "process"],
  ["_bootsubprocess", "check_output", "critical", "process"],
  ["_posixshmem", "shm_unlink", "critical", "process"],
  ["_multiprocessing", "sem_unlink", "critical", "process"],
  ["_overlapped", "Overlapped", "critical", "runtime-hooks"],
  ["_asyncio", "Task", "critical", "runtime-hooks"],
  ["_sitebuiltins", "_Printer", "critical", "runtime-hooks"],
  ["_lsprof", "Profiler", "critical", "debugger-profiler"],
  ["_tracemalloc", "start", "critical", "debugger-profiler"],
  ["_pytest", "config.main", "critical", "debugger-profiler"],
  ["_testcapi", "run_in_subinterp", "critical", "process"],
  ["_subprocess", "CreateProcess", "critical", "process"],
  ["_socket", "socket", "high", "network"],
  ["_winreg", "SetValue", "high", "file-access"],
  ["_msi", "OpenDatabase", "high", "file-access"],
  ["_codecs", "register", "critical", "runtime-hooks"],
  ["mailcap", "findmatch", "critical", "process"],
  ["pipes", "Template", "critical", "process"],
  ["typing", "get_type_hints", "critical", "code-execution"],
  ["typing", "ForwardRef._evaluate", "critical", "code-execution"],
  ["dataclasses", "_create_fn", "critical", "code-execution"],
  ["numpy.ctypeslib", "load_library", "critical", "native-code"],
  ["cgitb", "enable", "critical", "runtime-hooks"],
  ["codecs", "register", "critical", "runtime-hooks"],
  ["logging", "setLogRecordFactory", "critical", "runtime-hooks"],
  ["builtins", "reload", "critical", "code-execution"],
  ["builtins", "file", "high", "file-access"],
  ["uu", "decode", "high", "file-access"],
  ["wave", "open", "high", "file-access"],
  ["aifc", "open", "high", "file-access"],
  ["sunau", "open", "high", "file-access"],
  ["zipapp", "create_archive", "high", "file-access"],
  ["mailbox", "Maildir", "high", "file-access"],
  ["pstats", "Stats.dump_stats", "high", "file-access"],
  ["linecache", "getline", "high", "file-access"],
  ["modulefinder", "ModuleFinder", "high", "file-access"],
  ["argparse", "FileType", "high", "file-access"],
  ["tokenize", "open", "high", "file-access"],
  ["xml.etree.ElementTree", "ElementTree.write", "high", "file-access"],
  ["pathlib", "PosixPath.write_text", "high", "file-access"],
  ["pathlib", "WindowsPath.touch", "high", "file-access"],
  ["pathlib", "Path.mkdir", "high", "file-access"],
  ["pathlib._local", "PosixPath.write_bytes", "high", "file-access"],
  ["pathlib._local", "Path.open", "high", "file-access"],
  ["heapq", "nsmallest", "high", "indirect-call"],
  ["copy", "_reconstruct", "high", "indirect-call"],
  ["weakref", "finalize", "high", "indirect-call"],
  ["_contextvars", "Context.run", "high", "indirect-call"],
  ["joblib.parallel", "Parallel", "high", "indirect-call"],
  ["torch.testing._internal.common_utils", "shell", "critical", "process"],
];

describe("pickle policy: implementation twins and command-capable stdlib modules", () => {
  const policy = picklePolicy("pickle");

  it.each(DENIED)("%s.%s is denied (%s, %s)", (module, qualname, severity, category) => {
    expect(policy.classify(`${module}.${qualname}`, module.split(".").length)).toMatchObject({
      status: "denied",
      severity,
      category,
    });
  });

  it.each(DENIED)("a pickle calling %s.%s is malicious", async (module, qualname, severity) => {
    const file = await scanOne(callPickle(module, qualname), "model.pkl", { hash: false });
    expect(file.verdict).toBe("malicious");
    const hit = file.findings.find((f) => f.ruleId === "pickle/dangerous-global");
    expect(hit?.severity).toBe(severity);
  });

  it("derives `_X` and `_pyX` of every listed entry, at least as severe as the entry", () => {
    const failures: string[] = [];
    for (const [category, def] of Object.entries(denylist.categories)) {
      for (const entry of [...def.modules, ...def.names]) {
        for (const twin of twinNames(entry)) {
          const name = def.modules.includes(entry) ? `${twin}.run` : twin;
          const c = policy.classify(name, twin.split(".").length);
          if (c.status === "allowed") continue; // an exact profile allow is a deliberate decision
          if (c.status !== "denied" || RANK[c.severity]! < RANK[def.severity]!) {
            failures.push(`${name} (${category} ${entry}): ${c.status} ${c.severity}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(twinNames("io")).toEqual(expect.arrayContaining(["_io", "_pyio"]));
    expect(twinNames("dbm.gnu")).toContain("_dbm.gnu");
    expect(twinNames("pathlib.Path.open")).toEqual(
      expect.arrayContaining(["pathlib.PosixPath.open", "pathlib.WindowsPath.open"]),
    );
  });

  it("keeps the names real pickles use as they were", () => {
    expect(policy.classify("_codecs.encode").status).toBe("allowed");
    expect(policy.classify("collections.OrderedDict").status).toBe("allowed");
    expect(policy.classify("pathlib.PosixPath").status).toBe("allowed");
    expect(policy.classify("uuid.UUID").status).toBe("allowed");
    expect(policy.classify("__future__.division").status).toBe("allowed");
    // C twins of modules that are not denied, and `_uuid` (uuid is denied for its command helpers
    // only), stay unknown: not allowed, not denied
    for (const name of ["_collections.OrderedDict", "_struct.unpack", "_codecs.decode", "_uuid.generate_time_safe"]) {
      expect(policy.classify(name).status, name).toBe("unknown");
    }
    // only the I/O methods of a concrete path class are denied
    expect(policy.classify("pathlib.PosixPath.joinpath").status).toBe("unknown");
  });

  it("names the twin and its public module in the finding", async () => {
    const file = await scanOne(callPickle("_pyio", "open"), "model.pkl", { hash: false });
    const hit = file.findings.find((f) => f.ruleId === "pickle/dangerous-global");
    expect(hit?.evidence).toMatchObject({ matched: "io", category: "file-access" });
    expect(hit?.message).toContain("twin of io");
  });
});
