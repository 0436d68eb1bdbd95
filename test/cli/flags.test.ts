// Each scan flag issue 18 names, as a user types it: --timeout, --verbose/-v, output paths checked
// before any scan work, `--`, variadic options that cannot swallow the target.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { type ArgToken, splitVariadic } from "../../src/cli/variadic.js";
import type { ScanReport } from "../../src/report/schema.js";
import { fakeIO } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/scan.js";

let base: string;
let model: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "mg-flags-"));
  model = join(base, "model");
  await mkdir(model);
  await writeFile(join(model, "evil.pkl"), "cposix\nsystem\n(S'id'\ntR.");
  await writeFile(join(model, "empty.bin"), "");
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe("--timeout is a deadline for the whole scan", () => {
  let server: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: only the whole-scan deadline can end the scan (the
    // per-file budget is minutes).
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("a target that never answers ends at the deadline: an incomplete report, exit 2", async () => {
    const { port } = server.address() as { port: number };
    const io = fakeIO();
    const started = Date.now();
    const code = await runCli(
      ["scan", `http://127.0.0.1:${port}/model.pkl`, "--allow-http", "--timeout", "1", "--format", "json"],
      io,
    );
    const elapsed = Date.now() - started;
    expect(code).toBe(2);
    expect(elapsed).toBeLessThan(20_000);
    const report = JSON.parse(io.out) as ScanReport;
    expect(report.complete).toBe(false);
    expect(JSON.stringify(report)).toMatch(/deadline|timeout|timed out/i);
  });

  it("a value that is not a positive number of seconds is a usage error", async () => {
    for (const value of ["0", "--timeout=-1", "1.5", "soon"]) {
      const io = fakeIO();
      const flag = value.startsWith("--") ? [value] : ["--timeout", value];
      expect(await runCli(["scan", model, ...flag], io)).toBe(2);
      expect(io.err).toBe("modelgate scan: --timeout must be a positive integer\n");
    }
  });

  it("an option without its value says so on one line", async () => {
    const missing = fakeIO();
    expect(await runCli(["scan", model, "--timeout"], missing)).toBe(2);
    expect(missing.err).toBe("modelgate scan: --timeout needs a value\n");
    const dashed = fakeIO();
    expect(await runCli(["scan", model, "--timeout", "-1"], dashed)).toBe(2);
    expect(dashed.err).toBe(
      "modelgate scan: --timeout needs a value, and the next word starts with '-' (write --timeout=-VALUE for a value that does)\n",
    );
    const short = fakeIO();
    expect(await runCli(["init", "-o"], short)).toBe(2);
    expect(short.err).toBe("modelgate init: --output needs a value\n");
  });
});

describe("--verbose and -v", () => {
  it("add info findings and evidence to the text report; with --quiet they conflict", async () => {
    const plain = fakeIO();
    expect(await runCli(["scan", model, "--no-policy"], plain)).toBe(1);
    for (const flag of ["--verbose", "-v"]) {
      const verbose = fakeIO();
      expect(await runCli(["scan", model, "--no-policy", flag], verbose)).toBe(1);
      expect(verbose.out).toContain("format/empty"); // an info finding
      expect(verbose.out.split("\n").length).toBeGreaterThan(plain.out.split("\n").length);
    }
    expect(plain.out).not.toContain("format/empty");
    const both = fakeIO();
    expect(await runCli(["scan", model, "-v", "--quiet"], both)).toBe(2);
    expect(both.err).toBe("modelgate scan: --quiet and --verbose conflict\n");
  });
});

describe("output paths are checked before the scan starts", () => {
  it("an --output or --attest in a missing folder fails at once: exit 2, one line, nothing scanned", async () => {
    for (const flag of ["--output", "--attest"]) {
      const io = fakeIO({ stderrIsTTY: true }); // a scan would draw progress on stderr
      const extra = flag === "--attest" ? ["--attest-key", join(REPO_ROOT, "samples/integrity/keys/p256.key.pem")] : [];
      expect(await runCli(["scan", model, flag, join(base, "no-such-dir", "r.json"), ...extra], io)).toBe(2);
      expect(io.out).toBe("");
      expect(io.err).toMatch(new RegExp(`^modelgate scan: ${flag} .*folder .*no-such-dir does not exist\\n$`));
    }
  });

  it("an --output naming a folder fails before scanning", async () => {
    const io = fakeIO({ stderrIsTTY: true });
    expect(await runCli(["scan", model, "--output", base], io)).toBe(2);
    expect(io.err).toMatch(/^modelgate scan: --output .*: is a directory\n$/);
  });
});

describe("`--` ends the options", () => {
  it("a target named like an option is scanned after `--`, and is an unknown option before it", async () => {
    const dashed = join(base, "cwd");
    await mkdir(join(dashed, "-x"), { recursive: true });
    await writeFile(join(dashed, "-x", "a.json"), '{"a": 1}');
    const io = fakeIO({ cwd: dashed });
    // A relative target resolves against the process's directory: name it from there.
    const rel = join(dashed, "-x");
    expect(await runCli(["scan", "--no-policy", "--format", "json", "--", rel], io)).toBe(0);
    expect((JSON.parse(io.out) as ScanReport).files.map((f) => f.path)).toEqual(["a.json"]);
    const before = fakeIO();
    expect(await runCli(["scan", "-x"], before)).toBe(2);
    expect(before.err).toMatch(/unknown option -x .*goes after '--'/);
    // `--` also ends a variadic option's values.
    const tokens: ArgToken[] = [
      { kind: "option", name: "ignore-paths", value: "a" },
      { kind: "positional", value: "b" },
      { kind: "option-terminator" },
      { kind: "positional", value: "--model" },
    ];
    expect(splitVariadic(tokens, ["ignore-paths"], 1)).toEqual({
      extra: { "ignore-paths": ["b"] },
      positionals: ["--model"],
    });
  });
});

describe("variadic options cannot swallow the target", () => {
  const opt = (name: string, value: string): ArgToken => ({ kind: "option", name, value });
  const pos = (value: string): ArgToken => ({ kind: "positional", value });

  it("the command's operand is given back from the last variadic values, in command-line order", () => {
    const tokens = [opt("certificate-chain", "a.pem"), pos("b.pem"), pos("model/")];
    expect(splitVariadic(tokens, ["certificate-chain"], 1)).toEqual({
      extra: { "certificate-chain": ["b.pem"] },
      positionals: ["model/"],
    });
    expect(splitVariadic([opt("certificate-chain", "a.pem"), pos("model/")], ["certificate-chain"], 1)).toEqual({
      extra: { "certificate-chain": [] },
      positionals: ["model/"],
    });
    // A target given first keeps every later value with the option.
    expect(splitVariadic([pos("model/"), opt("ignore-paths", "a"), pos("b")], ["ignore-paths"], 1)).toEqual({
      extra: { "ignore-paths": ["b"] },
      positionals: ["model/"],
    });
    // An inline value (--opt=v) takes no more values.
    expect(
      splitVariadic(
        [{ kind: "option", name: "ignore-paths", value: "a", inlineValue: true }, pos("m")],
        ["ignore-paths"],
        1,
      ),
    ).toEqual({ extra: {}, positionals: ["m"] });
  });

  it("sign --ignore-paths a b MODEL signs MODEL without a and b; verify takes the model after them too", async () => {
    const dir = join(base, "signed");
    await cp(join(REPO_ROOT, "samples/integrity/model"), dir, { recursive: true });
    await writeFile(join(dir, "notes.txt"), "x");
    await writeFile(join(dir, "todo.txt"), "y");
    const key = join(REPO_ROOT, "samples/integrity/keys/p384.key.pem");
    const pub = join(REPO_ROOT, "samples/integrity/keys/p384.pub.pem");
    const io = fakeIO();
    expect(await runCli(["sign", "--private-key", key, "--ignore-paths", "notes.txt", "todo.txt", dir], io)).toBe(0);
    const bundle = await readFile(join(dir, "model.sig"), "utf8");
    const payload = JSON.parse(Buffer.from(JSON.parse(bundle).dsseEnvelope.payload, "base64").toString("utf8"));
    const names = (payload.predicate.resources as { name: string }[]).map((r) => r.name);
    expect(names).toContain("config.json");
    expect(names).not.toContain("notes.txt");
    expect(names).not.toContain("todo.txt");
    const ok = fakeIO();
    expect(await runCli(["verify", "--public-key", pub, "--ignore-paths", "notes.txt", "todo.txt", dir], ok)).toBe(0);
  });

  it("scan --certificate-chain takes one value: the target after it stays a target", async () => {
    const io = fakeIO();
    expect(await runCli(["scan", "--certificate-chain", join(base, "missing.pem"), model], io)).toBe(2);
    expect(io.err).toContain("missing.pem");
    expect(io.err).not.toContain("needs at least one target");
  });
});
