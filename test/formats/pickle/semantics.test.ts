/**
 * The engine's semantic tables (`policy/semantics.json`: what a callable's call yields) and the
 * denylist (`policy/denylist.json`: how dangerous a name is) agree:
 *
 * - every deserializer and every code evaluator is denied `critical` by the denylist alone, and
 *   stays denied under the default profiles of every context unless a profile allows it by exact
 *   name as a loader the engine reads nested ({@link ALLOWED_LOADERS});
 * - every resolver is denied `critical`, but the two that only look up names in a namespace another
 *   resolver returned ({@link RESOLVERS_JUDGED_BY_BASE});
 * - every `names` entry of the denylist's code-execution, deserializer, resolver and
 *   debugger-profiler categories has a model, or is in {@link UNMODELLED} with the reason.
 *   (`modules` entries cover whole modules and have no one semantics.)
 */
import { describe, expect, it } from "vitest";
import denylist from "../../../src/formats/pickle/policy/denylist.json" with { type: "json" };
import {
  DEFAULT_CONTEXT_PROFILES,
  PICKLE_CONTEXTS,
  type PickleContext,
  PicklePolicy,
  picklePolicy,
} from "../../../src/formats/pickle/policy/index.js";
import semantics from "../../../src/formats/pickle/policy/semantics.json" with { type: "json" };
import {
  CODE_EVALUATORS,
  DECODERS,
  DESERIALIZERS,
  isResolver,
  modelledNames,
  modelOf,
  resolverNames,
} from "../../../src/formats/pickle/pymodel.js";

/** The classes of a semantics.json table, without its `$comment`. */
function classes(table: object): [string, string[]][] {
  return Object.entries(table).filter(([k]) => !k.startsWith("$")) as [string, string[]][];
}

/** Every name of a semantics.json table. */
const namesOf = (table: object): string[] => classes(table).flatMap(([, names]) => names);

/** The denylist alone: a policy with no allowlist profile in force. */
const denylistOnly = (context: PickleContext = "pickle") => new PicklePolicy(context, { profiles: { [context]: [] } });

/**
 * Deserializers a default profile allows by exact name (an exact allow wins over the denylist):
 * each is a loader whose payload the engine reads nested, so allowing the call hides nothing.
 */
const ALLOWED_LOADERS: Readonly<Record<string, string>> = {
  "torch.storage._load_from_bytes":
    "torch profile: how torch pickles a storage (Storage.__reduce__); its bytes are read as a nested torch payload",
};

/** Resolvers the denylist does not deny: what they return is judged by the namespace they read. */
const RESOLVERS_JUDGED_BY_BASE: Readonly<Record<string, string>> = {
  "builtins.dict.get":
    "resolves a name only in a namespace another resolver returned (vars, globals, sys.modules, X.__dict__), which is denied itself; on a plain dict it is an item lookup",
  "builtins.dict.__getitem__": "as builtins.dict.get",
};

const MODULE = "a module or namespace, not one callable: denied as a whole";
const ELSEWHERE =
  "reads what it runs or loads from elsewhere (the terminal, a path, the network), not from an argument the stream builds: nothing nested to analyse";
const CALLS_ARGUMENT =
  "calls or builds from an object the stream passes it, which is reported on its own; no text or bytes payload";
const RESOLVES_NOTHING = "returns no object designated by a name (a bool, a list of str, None, or raises)";
const LITERALS = "ast.literal_eval: literals only, no code to analyse";
const NO_READER = "YAML: the engine has no reader for it as a nested payload; the call is critical on its own";
const TORCHSCRIPT =
  "a TorchScript zip (path or file object): there is no nested zip payload kind; TorchScript files are read as files";
/** Known semantics the engine does not model yet: the call is still reported at its denylist severity. */
const GAP = "not modelled yet (gap): the call is reported at its denylist severity, its argument is not analysed";

/** Denylisted callables (`names` entries) without a model, and why. */
const UNMODELLED: Readonly<Record<string, string>> = {
  // code-execution
  "builtins.apply": CALLS_ARGUMENT,
  "builtins.input": ELSEWHERE,
  "builtins.help": ELSEWHERE,
  "builtins.__build_class__": CALLS_ARGUMENT,
  "builtins.type.__call__": CALLS_ARGUMENT,
  "sympy.sympify": `${GAP} (evaluates a string as a sympy expression with eval)`,
  "yaml.load": NO_READER,
  "yaml.unsafe_load": NO_READER,
  "yaml.full_load": NO_READER,
  "yaml.load_all": NO_READER,
  "yaml.unsafe_load_all": NO_READER,
  "numpy.lib.utils.safe_eval": LITERALS,
  "numpy.lib.npyio.safe_eval": LITERALS,
  "torch.jit.load": TORCHSCRIPT,
  "torch.jit._serialization.load": TORCHSCRIPT,
  "torch.hub.load": ELSEWHERE,
  "torch.hub.load_state_dict_from_url": ELSEWHERE,
  "torch.utils.bottleneck": MODULE,
  "torch.utils.collect_env": MODULE,
  "IPython.embed": ELSEWHERE,
  "IPython.start_ipython": ELSEWHERE,
  "IPython.start_kernel": ELSEWHERE,
  "Cython.inline": `${GAP} (compiles and runs its code text)`,
  "builtins.reload": ELSEWHERE,
  "sklearn.metrics._scorer._cached_call": `${GAP} (getattr(estimator, name)(*args) with a name from its arguments)`,
  "sklearn.metrics._plot.base._check_classifier_response_method": `${GAP} (getattr(estimator, name) with a name from its arguments)`,
  "logging.config.fileConfig": `${GAP} (evals the handler args of an INI text or file it is given)`,
  "logging.config.dictConfig": `${GAP} (calls any '()' factory its dict names by dotted path)`,
  "logging.config.listen": `${GAP} (serves configs from a socket to fileConfig)`,
  "typing.get_type_hints": `${GAP} (evals the string annotations of an object the stream builds)`,
  "typing._eval_type": `${GAP} (evals a ForwardRef's text)`,
  "typing.ForwardRef._evaluate": `${GAP} (evals its own text)`,
  "typing.evaluate_forward_ref": `${GAP} (evals a ForwardRef's text)`,
  "dataclasses._create_fn": `${GAP} (execs function source built from its string arguments)`,
  "dataclasses._FuncBuilder": `${GAP} (builds function source that is later exec'd)`,
  // deserializer
  "joblib.numpy_pickle.NumpyUnpickler": `${GAP} (an unpickler over a file object)`,
  "joblib.numpy_pickle_utils": MODULE,
  "numpy.lib.npyio.load": `${GAP} (numpy.load under its defining module)`,
  "numpy.lib.format.read_array": `${GAP} (reads an .npy array from a file object)`,
  "numpy.core.multiarray.loads": `${GAP} (old numpy's alias of pickle.loads)`,
  "pandas.io.pickle": MODULE,
  "tensorflow.keras.models.load_model": ELSEWHERE,
  "keras.models.load_model": ELSEWHERE,
  // resolver
  "builtins.delattr": RESOLVES_NOTHING,
  "builtins.hasattr": RESOLVES_NOTHING,
  "builtins.dir": RESOLVES_NOTHING,
  "builtins.object.__setattr__": `${GAP} (sets an attribute as builtins.setattr does, which is modelled)`,
  "builtins.object.__reduce_ex__": "returns the reduce tuple of an object the stream passes it; resolves no name",
  "builtins.type":
    "type(x) is the class of a value the stream built; type(name, bases, dict) makes a class: no name is resolved",
  "builtins.super": "a proxy of an object the stream passes it; resolves no name",
  "builtins.exit": RESOLVES_NOTHING,
  "builtins.quit": RESOLVES_NOTHING,
  "copyreg.dispatch_table": "a dict (the reducer registry), not a callable",
  "copyreg.pickle": "registers a reducer (a hook, reported critical) and returns None",
  "torch.classes": MODULE,
  "torch.ops": MODULE,
  "torch.library": MODULE,
  "torch._ops": MODULE,
  "torch._C._jit_set_profiling_executor": "a runtime switch returning a bool; resolves no name",
  // debugger-profiler
  "builtins.breakpoint": ELSEWHERE,
};

const CATEGORIES = ["code-execution", "deserializer", "resolver", "debugger-profiler"] as const;

describe("semantics.json", () => {
  it("is what the Python model uses", () => {
    expect(DESERIALIZERS).toEqual(
      Object.fromEntries(classes(semantics.deserializers).flatMap(([kind, names]) => names.map((n) => [n, kind]))),
    );
    expect([...CODE_EVALUATORS]).toEqual(semantics.codeEvaluators.names);
    expect(DECODERS).toEqual(
      Object.fromEntries(classes(semantics.decoders).flatMap(([t, names]) => names.map((n) => [n, t]))),
    );
    expect(resolverNames().sort()).toEqual(namesOf(semantics.resolvers).sort());
    const all = [
      ...namesOf(semantics.deserializers),
      ...semantics.codeEvaluators.names,
      ...namesOf(semantics.decoders),
      ...namesOf(semantics.resolvers),
      ...namesOf(semantics.models),
    ];
    expect(modelledNames().sort()).toEqual([...new Set(all)].sort());
    for (const n of all) expect(modelOf(n), n).toBeDefined();
  });

  it("puts each name in one class, but builtins.compile (a code evaluator with its own model)", () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    const tables: Record<string, object> = {
      deserializers: semantics.deserializers,
      codeEvaluators: semantics.codeEvaluators,
      decoders: semantics.decoders,
      resolvers: semantics.resolvers,
      models: semantics.models,
      bytesIO: semantics.bytesIO,
    };
    for (const [table, value] of Object.entries(tables)) {
      for (const [cls, names] of classes(value)) {
        for (const n of names) {
          if (seen.has(n)) twice.push(`${n}: ${seen.get(n)} and ${table}.${cls}`);
          seen.set(n, `${table}.${cls}`);
        }
      }
    }
    expect(twice).toEqual(["builtins.compile: codeEvaluators.names and models.compile"]);
    expect(isResolver("builtins.compile")).toBe(false);
  });

  it("gives every legacy torch storage an element type and size", () => {
    for (const [name, v] of classes(semantics.torchStorages)) {
      expect(name, name).toMatch(/Storage$/);
      expect(v).toEqual([expect.any(String), expect.any(Number)]);
    }
  });
});

describe("semantics.json and the denylist agree", () => {
  const bare = denylistOnly();

  it("denies every deserializer critical, as a deserializer or as code execution", () => {
    for (const name of Object.keys(DESERIALIZERS)) {
      const c = bare.classify(name);
      expect({ name, status: c.status, severity: c.severity }).toEqual({
        name,
        status: "denied",
        severity: "critical",
      });
      expect(["deserializer", "code-execution"], name).toContain(c.category);
    }
    // marshal payloads are code objects
    for (const name of semantics.deserializers.marshal) expect(bare.classify(name).category).toBe("code-execution");
  });

  it("denies every code evaluator critical", () => {
    for (const name of CODE_EVALUATORS) {
      const c = bare.classify(name);
      expect({ name, status: c.status, severity: c.severity }).toEqual({
        name,
        status: "denied",
        severity: "critical",
      });
      expect(["code-execution", "debugger-profiler"], name).toContain(c.category);
    }
  });

  it("denies every resolver critical, but those judged by the namespace they read", () => {
    for (const name of resolverNames()) {
      const c = bare.classify(name);
      if (name in RESOLVERS_JUDGED_BY_BASE) {
        expect(c.status, name).toBe("unknown");
        continue;
      }
      expect({ name, status: c.status, severity: c.severity }).toEqual({
        name,
        status: "denied",
        severity: "critical",
      });
      expect(["resolver", "code-execution"], name).toContain(c.category);
    }
    for (const name of Object.keys(RESOLVERS_JUDGED_BY_BASE)) expect(isResolver(name), name).toBe(true);
  });

  it("keeps them denied under the default profiles of every context, but the loaders read nested", () => {
    expect([...PICKLE_CONTEXTS].sort()).toEqual(Object.keys(DEFAULT_CONTEXT_PROFILES).sort());
    const allowed = new Set<string>();
    for (const context of PICKLE_CONTEXTS) {
      const p = picklePolicy(context);
      for (const name of [...Object.keys(DESERIALIZERS), ...CODE_EVALUATORS, ...resolverNames()]) {
        const c = p.classify(name);
        if (c.status === "allowed") allowed.add(name);
        else if (!(name in RESOLVERS_JUDGED_BY_BASE))
          expect(`${context} ${name} ${c.status}`).toBe(`${context} ${name} denied`);
      }
    }
    expect([...allowed].sort()).toEqual(Object.keys(ALLOWED_LOADERS).sort());
    for (const name of allowed) expect(["pickle", "torch", "joblib", "numpy"]).toContain(DESERIALIZERS[name]);
  });

  it("models every denylisted callable of those categories, or says why not", () => {
    const missing: string[] = [];
    const listed = new Set<string>();
    for (const category of CATEGORIES) {
      for (const name of denylist.categories[category].names) {
        listed.add(name);
        if (modelOf(name) === undefined && !(name in UNMODELLED)) missing.push(`${category}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
    // an exception is for a denylisted name that has no model, and has a reason
    for (const [name, why] of Object.entries(UNMODELLED)) {
      expect(listed.has(name), `${name} is not a denylist name of ${CATEGORIES.join(", ")}`).toBe(true);
      expect(modelOf(name), `${name} is modelled now: remove its exception`).toBeUndefined();
      expect(why.length).toBeGreaterThan(10);
    }
  });
});
