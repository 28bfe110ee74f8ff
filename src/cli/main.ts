// The `miya` command. Exit codes: 0 done, 1 a run that failed, 2 bad input.
import { RunError, SpecError } from '../errors.js';

const USAGE = `usage:
  miya train SPEC.json [--backend cpu|webgpu|auto] [--steps N] [--json] [--tune [--tune-cache FILE|off]]
             [--checkpoint FILE [--checkpoint-every N]] [--resume FILE]
  miya predict CHECKPOINT INPUT.csv|INPUT.json [--backend cpu|webgpu|auto] [--window T] [--json]
  miya export CHECKPOINT --pytorch DIR
  miya import FILE.safetensors --out SPEC.json [--spec SPEC.json]
  miya explain SPEC.json [--backend cpu|webgpu|auto]
  miya verify [--backend webgpu|cpu] [--random N] [--browser]
  miya bench [--suite matmul|tiles|mlp|rnn|small|all] [--backends webgpu,cpu,tfjs-webgpu,tfjs-cpu] [--quick]
             [--json FILE] [--markdown FILE] [--svg FILE] [--reps N] [--profile]
             [--tune [--tune-cache FILE|off]]
  miya bench --soak N [--backends webgpu,cpu]`;

const commands: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  train: async () => (await import('./train.js')).trainCommand,
  explain: async () => (await import('./explain.js')).explainCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  predict: async () => (await import('./predict.js')).predictCommand,
  export: async () => (await import('./exportCmd.js')).exportCommand,
  import: async () => (await import('./importCmd.js')).importCommand,
  bench: async () => (await import('../../bench/cli.js')).benchCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`miya: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    if (e instanceof SpecError) {
      process.stderr.write(`miya ${name}: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof RunError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
    process.stderr.write(`miya ${name}: ${msg}\n`);
    if (process.env.MIYA_DEBUG && !(e instanceof RunError)) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
