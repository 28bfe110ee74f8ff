// The benchmark loop shared by `miya bench` and the playground's Bench tab: the chosen suite's
// cases on each contender in turn (validated, then timed), one line of text per result.
import { benchCases } from './cases.js';
import type { Contender } from './contender.js';
import { hostText, memoryText, timeText } from './report.js';
import { type BenchResult, runCase } from './run.js';

export const SUITES = ['matmul', 'tiles', 'mlp', 'rnn', 'lstm', 'gru', 'small', 'all'] as const;
/** Suites `all` leaves out: the tile-shape and split-K comparison (for tuning the kernels), and the recurrent stacks, which take a GPU call of their own (gpu-run.sh recurrent). */
const NOT_IN_ALL = ['tiles', 'lstm', 'gru'];
export const BACKENDS = ['webgpu', 'cpu', 'tfjs-webgpu', 'tfjs-cpu'] as const;

export interface BenchOptions {
  suite: string;
  quick: boolean;
  reps?: number;
}
export interface BenchRun {
  results: BenchResult[];
  devices: Record<string, string>;
}

/** One result as a line of the text report. */
export function resultLine(r: BenchResult): string {
  const mem = r.memory ? `\n  ${''.padEnd(35)} memory ${memoryText(r)}` : '';
  return `  ${r.suite.padEnd(6)} ${r.case.padEnd(28)} ${timeText(r).padStart(15)}  host ${hostText(r).padStart(9)}  ${r.gflops.toFixed(1).padStart(9)} GFLOP/s  (${r.validation})${mem}`;
}

/** `contenders` are made one at a time and disposed after their cases. */
export async function runBench(
  contenders: (() => Promise<Contender>)[],
  o: BenchOptions,
  log: (line: string) => void,
  onResult?: (r: BenchResult) => void,
): Promise<BenchRun> {
  const cases = benchCases(o.quick).filter((c) => (o.suite === 'all' ? !NOT_IN_ALL.includes(c.suite) : c.suite === o.suite));
  const results: BenchResult[] = [];
  const devices: Record<string, string> = {};
  for (const make of contenders) {
    const who = await make();
    devices[who.name] = who.device;
    log(`${who.name}: ${who.device}`);
    try {
      for (const c of cases) {
        // the CPU contenders take minutes on the large cases: they run them only in --quick sizes or when small
        if ('M' in c && (c.tile || c.singleBuffer || c.vec4 || c.splits || c.separateEpilogue !== undefined) && !who.miya) continue;
        if ('M' in c && c.tile && who.tiles && !who.tiles.includes(c.tile)) continue; // more workgroup memory than the device has
        if (!who.fast && c.suite !== 'small' && !o.quick && ('M' in c ? c.M * c.N * c.K > 2 ** 30 : c.flopsPerStep > 5e9)) continue;
        const r = await runCase(who, c, o.reps ?? (!who.fast || o.quick ? 1 : 5));
        results.push(r);
        log(resultLine(r));
        onResult?.(r);
      }
    } finally {
      who.dispose();
    }
  }
  return { results, devices };
}
