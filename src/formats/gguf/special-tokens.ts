/**
 * The special tokens a GGUF file's chat template receives as variables. llama.cpp (and
 * llama-cpp-python) render `tokenizer.chat_template` with `bos_token` and `eos_token` set to the
 * vocabulary's text for the BOS/EOS ids; transformers' GGUF loader builds its tokenizer's special
 * tokens the same way from `tokenizer.ggml.tokens`. A template can then use them as attribute names
 * (`x|attr(bos_token)` with token text `__init__`) without spelling the name, so the template
 * analysis must know their values, as it does for a tokenizer_config.json.
 *
 * Ids are resolved as llama.cpp does: the `tokenizer.ggml.*_token_id` key when present and inside
 * the vocabulary, else the tokenizer model's default id. Keys are matched up to their first NUL, as
 * llama.cpp's `strcmp` lookup does, the first occurrence winning. Only the tokens at those few ids
 * are read (see {@link readGgufArrayStrings}); the vocabulary is never kept.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import type { GgufHeader, GgufKeyValue } from "./reader.js";
import { cKey, readGgufArrayStrings } from "./strings.js";

/** Template variable → the GGUF key of its token id (llama.cpp's spelling, `seperator` included). */
const TOKEN_ID_KEYS: readonly (readonly [string, string])[] = [
  ["bos_token", "tokenizer.ggml.bos_token_id"],
  ["eos_token", "tokenizer.ggml.eos_token_id"],
  ["unk_token", "tokenizer.ggml.unknown_token_id"],
  ["pad_token", "tokenizer.ggml.padding_token_id"],
  ["sep_token", "tokenizer.ggml.seperator_token_id"],
  ["cls_token", "tokenizer.ggml.cls_token_id"],
  ["mask_token", "tokenizer.ggml.mask_token_id"],
];

/** llama.cpp's default special-token ids by `tokenizer.ggml.model` (llama-vocab.cpp). */
const DEFAULT_IDS: ReadonlyMap<string, Readonly<Record<string, number>>> = new Map([
  ["llama", { bos_token: 1, eos_token: 2, unk_token: 0 }],
  ["bert", { bos_token: 101, cls_token: 101, unk_token: 100, sep_token: 102, pad_token: 0, mask_token: 103 }],
  ["gpt2", { bos_token: 11, eos_token: 11 }],
  ["t5", { eos_token: 1, unk_token: 2, pad_token: 0 }],
  ["plamo2", { bos_token: 1, eos_token: 2, unk_token: 0, pad_token: 3 }],
]);

/** An integer id from a key's value, any integer type (transformers reads them all). */
function idOf(kv: GgufKeyValue | undefined, vocabulary: number): number | undefined {
  const v = kv?.value;
  const n = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
  if (n === undefined || !Number.isSafeInteger(n)) return undefined;
  // A negative INT32 id is a Python negative index for transformers (`tokens[-1]`).
  const id = n < 0 ? vocabulary + n : n;
  return id >= 0 && id < vocabulary ? id : undefined;
}

/**
 * The special-token variables of a GGUF file: `bos_token` → its vocabulary text, and so on.
 * @param source - the file, as the header was read from it
 * @param header - its header
 * @returns variable → token text (empty when the file has no string vocabulary)
 */
export async function ggufSpecialTokens(source: ByteSource, header: GgufHeader): Promise<Map<string, string>> {
  const first = new Map<string, GgufKeyValue>();
  for (const kv of header.keyValues) {
    const k = cKey(kv.key);
    if (!first.has(k)) first.set(k, kv);
  }
  const tokens = first.get("tokenizer.ggml.tokens");
  const vocabulary = tokens?.length ?? 0;
  if (tokens?.elementOffsets === undefined || vocabulary === 0) return new Map();
  const model = first.get("tokenizer.ggml.model")?.value;
  const defaults = (typeof model === "string" ? DEFAULT_IDS.get(model) : undefined) ?? {};
  const ids = new Map<string, number>();
  for (const [variable, key] of TOKEN_ID_KEYS) {
    const fallback = defaults[variable];
    const id =
      idOf(first.get(key), vocabulary) ?? (fallback !== undefined && fallback < vocabulary ? fallback : undefined);
    if (id !== undefined) ids.set(variable, id);
  }
  const texts = await readGgufArrayStrings(source, header, tokens, ids.values());
  const variables = new Map<string, string>();
  for (const [variable, id] of ids) {
    const text = texts.get(id);
    if (text !== undefined) variables.set(variable, text);
  }
  return variables;
}
