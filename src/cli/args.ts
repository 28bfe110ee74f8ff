// Command-line parsing (node:util parseArgs) with errors in the house style, and each command's
// help. The help of a command is made from the options its own parse() call accepts (so it cannot
// leave one out) and the one-line descriptions below; `--help`/`-h` anywhere among a command's
// arguments (before `--`) prints it. A misspelled option gets a suggestion, and positional
// arguments past those a command takes are refused by name.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SpecError } from '../errors.js';
import { editDistance } from '../spec/check.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandHelp {
  /** One line, for `miya help`. */
  summary: string;
  /** The positional arguments, in order; `[NAME]` for an optional one. No more are accepted. */
  positionals: string[];
  /** Each option's value (`N`, `FILE`; none for a flag) and what it does, in one line. */
  options: Record<string, { arg?: string; help: string }>;
}

/** (The default, from the command's parse options, is added to the line by commandHelp.) */
const backend = (what: string) => ({
  arg: 'cpu|webgpu|auto',
  help: `${what}: webgpu (any adapter, SwiftShader too), cpu (the float64 reference), auto (a hardware GPU, else cpu)`,
});
const tune = {
  tune: { help: "time each matrix product's bit-identical variants on this GPU first and keep the fastest" },
  'tune-cache': { arg: 'FILE|off', help: 'where --tune keeps its choices per GPU (default ~/.cache/miya/tuning.json; off: nowhere)' },
};

export const COMMANDS: Record<string, CommandHelp> = {
  train: {
    summary: 'train the network a run spec describes, with progress, checkpoints and resume',
    positionals: ['[SPEC.json]'],
    options: {
      backend: backend('where to train'),
      steps: { arg: 'N', help: "train N steps instead of the spec's steps or epochs" },
      json: { help: 'print one JSON object {backend, device, losses, params, grads[, test]} instead of progress' },
      checkpoint: { arg: 'FILE', help: 'save a checkpoint every --checkpoint-every steps, after the last one, and on Ctrl-C' },
      'checkpoint-every': { arg: 'N', help: 'steps between checkpoints (default 100)' },
      resume: { arg: 'FILE', help: 'continue from a checkpoint; SPEC.json may be left out (the checkpoint carries its spec)' },
      ...tune,
    },
  },
  predict: {
    summary: "apply a checkpoint's model to new inputs (CSV or JSON) and print its predictions",
    positionals: ['CHECKPOINT', 'INPUT.csv|INPUT.json'],
    options: {
      backend: backend('where to run the model'),
      window: { arg: 'T', help: "an RNN reads windows of T consecutive CSV rows (default: the spec's data.window)" },
      json: { help: 'print {backend, device, outputs, predictions[, classes]} instead of CSV' },
    },
  },
  sample: {
    summary: "generate text from a character model's checkpoint (one trained on data.text)",
    positionals: ['CHECKPOINT'],
    options: {
      length: { arg: 'N', help: 'characters to generate after the prime (default 200)' },
      temperature: { arg: 't', help: 'divides the logits before the softmax (default 1): lower is surer, higher wilder; 0 takes the likeliest character' },
      prime: {
        arg: 'TEXT',
        help: 'the text to continue (default a newline, or the first character of the vocabulary); every character must be in the vocabulary',
      },
      seed: { arg: 's', help: 'the seed of the draws (default 0): the same seed, the same text' },
      backend: backend('where to run the model'),
    },
  },
  export: {
    summary: 'write a checkpoint as model.safetensors + miya_model.py for PyTorch, and train.py to continue the run there',
    positionals: ['CHECKPOINT'],
    options: {
      pytorch: { arg: 'DIR', help: 'the directory to write model.safetensors, miya_model.py and train.py (with train_state.safetensors) into' },
      dtype: { arg: 'float32|float64', help: "the tensors' type (default float32; float64 keeps a cpu checkpoint's values exactly)" },
      force: { help: 'replace a miya_model.py or train.py there that differs from the one Miya writes (edits in it are lost)' },
    },
  },
  import: {
    summary: 'read a PyTorch state dict (safetensors) back as a run spec carrying its weights',
    positionals: ['FILE.safetensors'],
    options: {
      out: { arg: 'SPEC.json', help: 'the run spec to write' },
      spec: { arg: 'SPEC.json', help: "take the model's shape, loss, optimizer and data from this spec (default: the file's metadata)" },
    },
  },
  explain: {
    summary: 'tell one training step as a story, every number, the CPU reference and the device side by side',
    positionals: ['SPEC.json'],
    options: { backend: backend('the device to set beside the reference') },
  },
  verify: {
    summary: 'check the worked examples, every kernel (each matmul variant), random networks and gradients against the reference',
    positionals: [],
    options: {
      backend: backend('the backend to check'),
      random: { arg: 'N', help: 'random networks to check (default 20)' },
      browser: { help: "run the same checks in headless Chromium, on the browser's WebGPU" },
    },
  },
  bench: {
    summary: 'time matmuls and training steps against TF.js, or soak-test a long run',
    positionals: [],
    options: {
      suite: { arg: 'matmul|tiles|mlp|rnn|lstm|gru|small|all', help: 'which cases to time (default all: every suite but tiles, lstm and gru)' },
      backends: { arg: 'LIST', help: 'comma-separated, of webgpu, cpu, tfjs-webgpu, tfjs-cpu (default webgpu,cpu)' },
      quick: { help: 'smaller sizes and fewer repetitions' },
      json: { arg: 'FILE', help: 'write the results as JSON' },
      markdown: { arg: 'FILE', help: 'write the results table as Markdown' },
      svg: { arg: 'FILE', help: 'write the results as an SVG chart' },
      reps: { arg: 'N', help: 'timed repetitions of each case' },
      profile: { help: "time one webgpu step's recording, its stages and each kernel" },
      soak: { arg: 'N', help: 'train N steps, reporting live buffers and memory every 1,000' },
      ...tune,
    },
  },
};

/** `--help` or `-h` was given: `text` is the command's help (main prints it and exits 0). */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help');
    this.name = 'HelpRequested';
  }
}

/** The command being run (main sets it), whose help and positional arguments parse() uses. */
let current: string | undefined;
export function setCommand(name: string | undefined): void {
  current = name;
}

/** The help of command `name`, given the options its parse() accepts. */
export function commandHelp(name: string, options: Options): string {
  const h = COMMANDS[name];
  const rows = Object.entries(options).map(([key, o]) => {
    const d = h?.options[key];
    const arg = o.type === 'string' ? ` ${d?.arg ?? 'VALUE'}` : '';
    const dflt = typeof o.default === 'string' && !/\(default/.test(d?.help ?? '') ? ` (default ${o.default})` : '';
    return [`--${key}${arg}`, `${d?.help ?? '(no description)'}${dflt}`];
  });
  rows.push(['-h, --help', 'print this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [
    `usage: miya ${name}${h?.positionals.length ? ` ${h.positionals.join(' ')}` : ''} [options]`,
    '',
    `${h?.summary ?? ''}`,
    '',
    'options:',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`),
    '',
  ].join('\n');
}

/** The candidate `word` was most likely meant to be: the only one it begins, else the nearest within a third of its length. */
export function suggest(word: string, candidates: string[]): string | undefined {
  const starts = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  if (starts.length === 1) return starts[0];
  let best: string | undefined,
    bestD = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return best;
}

export function parse<T extends Options>(argv: string[], options: T) {
  const end = argv.indexOf('--');
  const own = end < 0 ? argv : argv.slice(0, end);
  if (current !== undefined && own.some((a) => a === '--help' || a === '-h')) throw new HelpRequested(commandHelp(current, options));
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const message = (e as Error).message.replace(/\. To specify.*$/s, '');
    const unknown = (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /^Unknown option '([^']*)'/.exec(message)?.[1];
    if (unknown) {
      // `-chekpoint` is read as the short options -c, -h, …: parseArgs names '-c'; the argument as typed is what to match and name
      const typed = unknown.startsWith('--') ? unknown : (own.find((a) => /^-[^-]/.test(a) && a.startsWith(unknown)) ?? unknown);
      const near = suggest(typed.replace(/^-+/, '').replace(/=.*$/, ''), Object.keys(options));
      throw new SpecError('arguments', `Unknown option '${typed.replace(/=.*$/, '')}'${near ? `; did you mean --${near}?` : ''}`);
    }
    throw new SpecError('arguments', message);
  }
  const allowed = current === undefined ? undefined : COMMANDS[current]?.positionals;
  if (allowed && parsed.positionals.length > allowed.length) {
    const extra = parsed.positionals[allowed.length];
    const takes = allowed.length === 0 ? 'no arguments, only options' : `${allowed.join(' ')} and options`;
    throw new SpecError('arguments', `unexpected extra argument "${extra}"; miya ${current} takes ${takes}`);
  }
  return parsed;
}

export function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new SpecError(name, `expected an integer ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}
