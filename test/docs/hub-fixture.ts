// The Hub that docs/ talks to: the loopback mock Hub (test/sources/hub/mock-hub.ts) serving a few
// small repositories made of the project's samples (models, a dataset, a Space). Documented `hf://`
// commands and example scripts run with HF_ENDPOINT pointing here, so they are exercised without
// any network; `npm run serve:fixtures` (scripts/serve-fixtures.mjs) serves it for readers too.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type MockFile, MockHub } from "../sources/hub/mock-hub.js";

/** The token that opens `acme/internal-model` (docs/hub.md shows it). */
export const DOCS_HUB_TOKEN = "hf_docsExampleToken";

/** Commits the docs name. */
export const DOCS_COMMITS = {
  tinyV1: "4f0d9a2c7e1b3d5f6a8c0e2b4d6f8a1c3e5b7d90",
  tinyMain: "9b2e4c6a8d0f1e3b5d7c9a1e3f5b7d9c1a3e5f70",
  tinyPr1: "e1c3a5f7b9d2e4c6a8f0b2d4e6a8c0e2f4b6d8a1",
  onnxCopy: "2d4f6b8e0a1c3e5a7c9e1b3d5f7a9c1e3b5d7f92",
  customOps: "7a9c1e3b5d7f9a2c4e6b8d0f2a4c6e8b0d2f4a63",
  internal: "c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1b4",
  storiesMain: "3e5a7c9f1b3d5e7a9c1f3b5d7e9a1c3f5b7d9e20",
  storiesV1: "8c0e2a4f6b8d0c2e4a6f8b0d2c4e6a8f0b2d4c31",
  demo: "5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b42",
} as const;

/** The repository the docs' fixture mock cannot serve right now (503, then a NETWORK error). */
export const DOCS_BUSY_REPO = "acme/busy-model";

const SAFE = { status: "safe", avScan: { virusFound: false, virusNames: null }, pickleImportScan: null };

/**
 * Starts the docs' mock Hub.
 * @param root - the repository root (samples/ and docs/examples/fixtures/hub/ are read from it)
 */
export async function startDocsHub(root: string): Promise<MockHub> {
  const read = (path: string) => readFileSync(join(root, path));
  const text = (s: string) => new TextEncoder().encode(s);
  const card = text("# tiny-llama\n\nA small causal language model exported to ONNX, for testing.\n");
  const config = read("samples/teams/tiny-llama/config.json");
  const generation = read("samples/teams/tiny-llama/generation_config.json");
  const onnxV1 = read("samples/teams/tiny-llama/model.onnx");
  const onnxMain = read("docs/examples/fixtures/hub/model.onnx");
  const main: MockFile[] = [
    { path: "README.md", content: card },
    { path: "config.json", content: config },
    { path: "generation_config.json", content: generation },
    { path: "onnx/model.onnx", content: onnxMain, lfs: true, security: SAFE },
  ];
  const c = DOCS_COMMITS;
  const storiesCard = text("# tiny-stories\n\nShort stories for testing language models.\n");
  const rows = text('{"text":"Once upon a time, a small model learned to count."}\n{"text":"The end."}\n');
  // A loading script: `load_dataset("acme/tiny-stories", trust_remote_code=True)` runs it.
  const script = text(
    [
      "import json",
      "",
      "import datasets",
      "",
      "",
      "class TinyStories(datasets.GeneratorBasedBuilder):",
      "    def _info(self):",
      '        return datasets.DatasetInfo(features=datasets.Features({"text": datasets.Value("string")}))',
      "",
      "    def _split_generators(self, dl_manager):",
      '        path = dl_manager.download("data/train.jsonl")',
      '        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"path": path})]',
      "",
      "    def _generate_examples(self, path):",
      "        with open(path) as f:",
      "            for i, line in enumerate(f):",
      "                yield i, json.loads(line)",
      "",
    ].join("\n"),
  );
  return MockHub.start(
    [
      {
        name: "acme/tiny-llama",
        refs: { main: c.tinyMain, "v1.0": c.tinyV1, "release/1.x": c.tinyV1, "refs/pr/1": c.tinyPr1 },
        commits: {
          [c.tinyV1]: [
            { path: "README.md", content: card },
            { path: "config.json", content: config },
            { path: "onnx/model.onnx", content: onnxV1, lfs: true, security: SAFE },
          ],
          [c.tinyMain]: main,
          // A pull request adding a Keras file whose Lambda layer runs os.system on load.
          [c.tinyPr1]: [
            ...main,
            {
              path: "tf_model.h5",
              content: read("samples/keras/lambda_os_system.h5"),
              lfs: true,
              security: { status: "unsafe", avScan: { virusFound: false, virusNames: null }, pickleImportScan: null },
            },
          ],
        },
        securityRepoStatus: { scansDone: true, filesWithIssues: [] },
      },
      {
        // The same ONNX weights re-uploaded at the same path in another repository: a verdict cache
        // hit (results are bound to the file's path as well as its bytes).
        name: "acme/tiny-llama-onnx",
        refs: { main: c.onnxCopy },
        commits: {
          [c.onnxCopy]: [
            { path: "config.json", content: config },
            { path: "onnx/model.onnx", content: onnxMain, lfs: true },
          ],
        },
      },
      {
        name: "acme/onnx-custom-ops",
        refs: { main: c.customOps },
        commits: {
          [c.customOps]: [{ path: "model.onnx", content: read("samples/onnx/custom_domain.onnx"), lfs: true }],
        },
      },
      {
        // A dataset: v1.0 is plain data; main adds a loading script and a pickled feature cache
        // whose unpickling runs os.system.
        name: "datasets/acme/tiny-stories",
        refs: { main: c.storiesMain, "v1.0": c.storiesV1 },
        commits: {
          [c.storiesV1]: [
            { path: "README.md", content: storiesCard },
            { path: "data/train.jsonl", content: rows, lfs: true },
          ],
          [c.storiesMain]: [
            { path: "README.md", content: storiesCard },
            { path: "data/train.jsonl", content: rows, lfs: true },
            { path: "tiny-stories.py", content: script },
            { path: "cache/features.pkl", content: read("samples/pickle/malicious/reduce_p2.pkl"), lfs: true },
          ],
        },
      },
      {
        // A Gradio Space serving tiny-llama.
        name: "spaces/acme/tiny-llama-demo",
        refs: { main: c.demo },
        commits: {
          [c.demo]: [
            { path: "README.md", content: text("---\nsdk: gradio\napp_file: app.py\n---\n# tiny-llama demo\n") },
            {
              path: "app.py",
              content: text(
                'import gradio as gr\n\n\ndef echo(prompt):\n    return prompt\n\n\ngr.Interface(fn=echo, inputs="text", outputs="text").launch()\n',
              ),
            },
            { path: "requirements.txt", content: text("gradio\n") },
            { path: "model/model.onnx", content: onnxMain, lfs: true },
          ],
        },
      },
      {
        name: "acme/internal-model",
        private: true,
        refs: { main: c.internal },
        commits: {
          [c.internal]: [
            { path: "config.json", content: config },
            { path: "model.onnx", content: read("samples/onnx/clean/mlp_torch.onnx"), lfs: true },
          ],
        },
      },
    ],
    {
      token: DOCS_HUB_TOKEN,
      // An overloaded Hub: 503 at once (Retry-After: 0 keeps the retries fast).
      fault: (req) =>
        req.path.includes(`/${DOCS_BUSY_REPO}/`)
          ? { status: 503, headers: { "retry-after": "0" }, body: '{"error":"Service Unavailable"}' }
          : undefined,
    },
  );
}
