// The `miya` command. Exit codes: 0 done, 1 a run that failed, 2 bad input.
// `miya help [COMMAND]`, `miya COMMAND --help` and `miya --version` print to stdout and exit 0.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunError, SpecError } from '../errors.js';
import { COMMANDS, HelpRequested, setCommand, suggest } from './args.js';

/** Each command with its arguments and options in brief (each command's --help has them one per line). */
const SYNOPSIS = `synopsis:
  miya train SPEC.json [--backend cpu|webgpu|auto] [--steps N] [--json] [--tune [--tune-cache FILE|off]]
             [--checkpoint FILE [--checkpoint-every N]] [--resume FILE]
  miya predict CHECKPOINT INPUT.csv|INPUT.json [--backend cpu|webgpu|auto] [--window T] [--json]
  miya sample CHECKPOINT [--length N] [--temperature t] [--prime TEXT] [--seed s] [--backend cpu|webgpu|auto]
  miya export CHECKPOINT --pytorch DIR [--dtype float32|float64] [--force]
  miya import FILE.safetensors --out SPEC.json [--spec SPEC.json]
  miya explain SPEC.json [--backend cpu|webgpu|auto]
  miya verify [--backend webgpu|cpu|auto] [--random N] [--browser]
  miya bench [--suite matmul|tiles|mlp|rnn|lstm|gru|small|all] [--backends webgpu,cpu,tfjs-webgpu,tfjs-cpu] [--quick]
             [--json FILE] [--markdown FILE] [--svg FILE] [--reps N] [--profile]
             [--tune [--tune-cache FILE|off]]
  miya bench --soak N [--backends webgpu,cpu]`;

const commands: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  train: async () => (await import('./train.js')).trainCommand,
  predict: async () => (await import('./predict.js')).predictCommand,
  sample: async () => (await import('./sample.js')).sampleCommand,
  export: async () => (await import('./exportCmd.js')).exportCommand,
  import: async () => (await import('./importCmd.js')).importCommand,
  explain: async () => (await import('./explain.js')).explainCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  bench: async () => (await import('../../bench/cli.js')).benchCommand,
};

/** The list of commands, one line each, then the synopsis. */
export function usage(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length), 'help'.length);
  return [
    'usage: miya COMMAND [arguments] [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]?.summary ?? ''}`),
    `  ${'help'.padEnd(width)}  this list; miya help COMMAND (or miya COMMAND --help): a command's options, one per line`,
    '',
    'miya --version prints the version.',
    '',
    SYNOPSIS,
    '',
  ].join('\n');
}

/** The version in Miya's package.json (found above this module, in src/cli or in dist/node). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const { name, version: v } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (name === 'miya' && v) return v;
    }
    if (dirname(dir) === dir) throw new RunError("cannot find Miya's package.json to read its version");
    dir = dirname(dir);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    process.stderr.write(`miya: expected a command\n${usage()}`);
    return 2;
  }
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === '-V' || name === 'version') {
    process.stdout.write(`miya ${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    if (rest.length === 0) {
      process.stdout.write(usage());
      return 0;
    }
    if (rest.length > 1) {
      process.stderr.write(`miya help: arguments: unexpected extra argument "${rest[1]}"; miya help takes one COMMAND\n`);
      return 2;
    }
    return run(rest[0], ['--help'], 'help');
  }
  return run(name, rest);
}

async function run(name: string, rest: string[], via?: string): Promise<number> {
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    const near = suggest(name, Object.keys(commands));
    process.stderr.write(`miya${via ? ` ${via}` : ''}: unknown command "${name}"${near ? `; did you mean ${near}?` : ''} (miya help lists the commands)\n`);
    return 2;
  }
  setCommand(name);
  try {
    return await (await load())(rest);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      return 0;
    }
    if (e instanceof SpecError) {
      process.stderr.write(`miya ${name}: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof RunError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
    process.stderr.write(`miya ${name}: ${msg}\n`);
    if (process.env.MIYA_DEBUG && !(e instanceof RunError)) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  } finally {
    setCommand(undefined);
  }
}
