/**
 * Rules of the pickle area: pickles and the formats built on them (PyTorch, NumPy, joblib).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const PICKLE_DOCS = "https://docs.python.org/3/library/pickle.html";

/** pickle rules. */
export const pickleRules = [
  {
    id: "pickle/dangerous-global",
    title: "Pickle imports or calls a dangerous callable",
    severity: "critical",
    description:
      "The pickle imports (GLOBAL, STACK_GLOBAL, INST, EXT) or reaches through a resolver (`getattr`, `__import__`, `operator.attrgetter`, dotted names, monkey-patched attributes ...) a name on the denylist: code execution, process spawning (also through third-party shell runners such as IPython's `system`, `sh`, `plumbum`, `pexpect`), tampering with security tools (fickling's hooks, Keras safe mode), nested deserializers, name resolvers, debuggers and profilers (critical), file or network access and interpreter internals (high). Unpickling runs it. Evidence names the resolved callee, the opcode and byte offset, and the literal arguments. Also raised for an import found by a sweep of the rest of a stream whose analysis stopped early (a budget, a malformed opcode; evidence `found`, `stoppedAt`): a stop never hides what follows it.",
    references: [PICKLE_DOCS, "https://github.com/mmaitre314/picklescan/security/advisories"],
  },
  {
    id: "pickle/unknown-global",
    title: "Pickle references a global outside the allowlist",
    severity: "medium",
    description:
      "The pickle imports or calls a name that no enabled allowlist profile lists (deny by default). Importing a module runs its top-level code and calling an unknown callable can do anything; legitimate model files only reference tensor, array and estimator reconstruction helpers. Also raised when a name the profile allows only to be instantiated (NEWOBJ) is called. Extend the profiles through the policy when the name is trusted. Also raised for an import found by a sweep of the rest of a stream whose analysis stopped early (evidence `found`, `stoppedAt`).",
    references: [PICKLE_DOCS],
  },
  {
    id: "pickle/dynamic-call",
    title: "Pickle calls a value that cannot be resolved to a name",
    severity: "medium",
    description:
      "A REDUCE, NEWOBJ, INST/OBJ or BUILD `__setstate__` calls something that is not a named global: the result of another call, a persistent-id object, an unknown extension code or memo entry. What runs depends on values computed at load time, so the call cannot be shown to be safe.",
  },
  {
    id: "pickle/dynamic-import",
    title: "Pickle computes the name it imports",
    severity: "high",
    description:
      "STACK_GLOBAL, `getattr`, `__import__`, `importlib.import_module` or an `operator` getter receives a module or attribute name that is not a literal (built by a call, taken from an unknown memo entry). Legitimate pickles always name their globals literally; computed names are how scanners that match names are bypassed.",
  },
  {
    id: "pickle/monkeypatch",
    title: "Pickle modifies a module, class or special attribute",
    severity: "high",
    description:
      "BUILD (or SETITEM/APPENDS/`setattr`) is applied to an imported module, class or function, or sets special attributes such as `__setstate__` or `extend` on an object. This monkey-patches the running interpreter (later imports see the planted values) or redirects what the unpickler calls next; the later effects are followed and reported too. A plain literal (a docstring, a version string) stored in a BUILD dict state under a name that is not an object-protocol hook is not reported: it cannot be called (statsmodels results and matplotlib figures store such values).",
    references: ["https://github.com/protectai/modelscan/issues/85"],
  },
  {
    id: "pickle/protocol-method",
    title: "Pickle makes library code run on an instance it built",
    severity: "medium",
    description:
      "An instance of an allowed library class (made without `__init__` by NEWOBJ or `copyreg._reconstructor` and filled by BUILD, or made by a call) has its own methods run on pickled data at load: SETITEM(S), APPEND(S) and ADDITEMS call the class's `__setitem__`, `extend`/`append` (looked up through its `__getattribute__`/`__getattr__`) and `add`, when these are library code that no one vetted (pandas' `DataFrame.__setitem__` calls a callable key; high when a callable is among the values); and an allowed callable handed the instance (`list(x)`, `str(x)`, `set(x)`, `Counter(x)`, dict keys the unpickler hashes) runs its `__iter__`, `__str__`, `__hash__` ... whose library source opens files or URLs, imports or evaluates (gensim's `LineSentence.__iter__` opens `self.source`), at high severity. Methods of builtin types and the stdlib containers are not reported. The tables are `policy/protocol-methods.json` (generated from the installed libraries by `scripts/pickle/gen_protocols.py`) and `policy/protocol-calls.json`.",
    references: [PICKLE_DOCS],
  },
  {
    id: "pickle/ext-unregistered",
    title: "Pickle uses an extension code it does not register",
    severity: "medium",
    description:
      "EXT1/EXT2/EXT4 load a global through the copyreg extension registry by number. The stream does not register the code itself (a registration by `copyreg.add_extension` earlier in the stream is followed), so what it imports depends on the loading process; a stock CPython raises.",
  },
  {
    id: "pickle/persistent-id",
    title: "Unexpected persistent id",
    severity: "medium",
    description:
      "PERSID/BINPERSID hand a value to the loader's `persistent_load` hook. Plain `pickle.load` has none and raises; PyTorch's accepts only `('storage', type, key, location, numel)` tuples. Any other persistent id is resolved by loader code the scanner cannot see.",
  },
  {
    id: "pickle/nested-payload",
    title: "Embedded serialized data or code",
    severity: "info",
    description:
      "Bytes or text inside the pickle are, or are handed to, another deserializer or evaluator: `pickle.loads`, `torch.load`, `torch.storage._load_from_bytes`, `numpy.load`, `marshal.loads`, `eval`/`exec`/`compile`, also through base64/hex/zlib decoding. Each payload is analysed recursively (its findings are reported with a `nested` evidence path); this finding records what was found, and is raised to high when bytes handed to a deserializer could not be computed or analysed (the loader runs whatever they are).",
  },
  {
    id: "pickle/frame-mismatch",
    title: "C and Python unpicklers read the stream differently",
    severity: "medium",
    description:
      "The FRAME structure is read differently by CPython's C unpickler (used by `pickle.load` and `torch.load`) and its pure-Python unpickler (used by joblib): an opcode crosses a frame boundary, a frame starts before the previous one ends, or a frame is longer than the data. Writers never produce this; it exists to make scanners and loaders disagree. The analysis follows the C reading and keeps going.",
    references: ["https://peps.python.org/pep-3154/"],
  },
  {
    id: "pickle/malformed",
    title: "Pickle stream is broken",
    severity: "medium",
    invalidates: true,
    description:
      "The stream stops being a valid pickle where CPython would raise: truncated data or no STOP, an unknown opcode, stack underflow, a missing MARK or memo entry, a non-str STACK_GLOBAL operand, an unsupported protocol. Everything before the break was analysed and is reported (a payload placed before a broken tail still runs); the file is `invalid` because the rest was not.",
  },
  {
    id: "pickle/trailing-data",
    title: "Data after the last pickle",
    severity: "low",
    description:
      "Bytes follow the final STOP opcode and do not start another pickle. `pickle.load` ignores them, but other readers may not (a pickle followed by a zip is a polyglot), and they are a place to hide a payload. Data that starts with an opcode is read as the next pickle, as loaders that read several pickles from a file do (legacy `torch.load` reads five): what it would run before it breaks is reported, and a whole pickle that does not begin as pickle writers begin one (PROTO, or a protocol 0 opcode after a protocol 0 pickle) is reported at medium severity.",
  },
  {
    id: "pickle/torchscript-code",
    title: "TorchScript code",
    severity: "info",
    description:
      "A TorchScript archive's `code/` member: the operators and calls it uses are listed as evidence. TorchScript runs when the model is used, not while it is loaded, except `__setstate__` methods.",
  },
  {
    id: "pickle/torchscript-op",
    title: "TorchScript code uses a risky operator",
    severity: "high",
    description:
      "TorchScript code calls an operator that touches the file system (`torch.save`, `torch.load`, `torch.from_file`, `aten::save` ...), an operator from a non-standard namespace (a custom native library must be loaded for it), or defines `__setstate__`, which runs during `torch.jit.load`. The operator table of a TorchScript Lite archive (`bytecode.pkl`, run by the lite interpreter whatever the `code/` sources say) is judged the same way.",
  },
  {
    id: "numpy/malformed",
    title: "Malformed NumPy file",
    severity: "medium",
    invalidates: true,
    description:
      "The `.npy` header is not what `numpy.lib.format` accepts (magic, version, header length, a Python literal dict with exactly `descr`, `fortran_order` and `shape`), or the data is shorter than the header declares. The bytes after a header of sane length are still analysed as a pickle (`np.load(allow_pickle=True)` of a header numpy does take would unpickle them): what a valid pickle there does is reported at its own severity.",
  },
  {
    id: "numpy/object-array",
    title: "NumPy object array (pickled data)",
    severity: "info",
    description:
      "The array has an object dtype, so its data is a pickle that `numpy.load` runs when called with `allow_pickle=True`. The pickle is analysed; this finding records that the file cannot be loaded with `allow_pickle=False`.",
  },
  {
    id: "numpy/trailing-data",
    title: "Data after the NumPy array",
    severity: "low",
    description:
      "Bytes follow the array data. `numpy.load` ignores them; they are analysed as their own content, since they are a place to hide a payload.",
  },
  {
    id: "joblib/array-layout",
    title: "joblib inline array cannot be located",
    severity: "medium",
    invalidates: true,
    description:
      "joblib stores NumPy arrays inline, right after the pickled `NumpyArrayWrapper`; its dtype and shape say how many bytes to skip before the pickle continues. They could not be read, or the data is truncated or placed inside a FRAME, so the opcodes after it could not be analysed.",
  },
  {
    id: "pytorch/legacy-layout",
    title: "Legacy PyTorch file layout is inconsistent",
    severity: "medium",
    invalidates: true,
    description:
      "A legacy (pre-zip) `torch.save` file is five pickles (magic number, protocol version, system info, the object, the storage keys) followed by the raw storages. The magic number is wrong, a pickle is missing, or the storages do not match the sizes the pickles declare.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof pickleRules)[number]["id"], true> {}
}
