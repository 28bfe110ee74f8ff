// Tuning (opt-in, as PyTorch's cudnn.benchmark): each distinct product a training step runs is
// timed on this device in every bit-neutral variant (tile shape, one or two workgroup buffers,
// scalar or vec4 reads of the operands, the epilogue at the product's end or in a pass of its
// own) and the fastest is kept for the rest of the process, and with a store for later runs on
// this GPU (tuneCache.ts). None of these changes the order of any sum, so a tuned run ends with
// the bits an untuned one ends with; split-K, which does change it, stays a function of the shape.
import { hasEpilogue, type MatmulParams, type MatmulPlan, type MatmulTile, vec4Aligned } from '../kernels.js';
import { matmul, type MatmulArgs } from '../matmul.js';
import type { WebGpuBackend } from './backend.js';
import type { GpuBuf } from './runner.js';
import { matmulPlan, matmulTile, tileShape } from './kernels.js';
import type { TuneStore } from '../tuneStore.js';
import { loadChoices, saveChoices, tuneDeviceKey } from './tuneCache.js';

/** The variant of a product a tuning chose. */
export interface TunedChoice {
  tile: MatmulTile;
  singleBuffer: boolean;
  separateEpilogue: boolean;
  vec4: boolean;
}
/** A choice with what it was timed at: ms per launch, and the shape's own choice's. */
export interface TimedChoice extends TunedChoice {
  ms: number;
  untunedMs: number;
}

export interface TunedProduct {
  product: string;
  choice: TimedChoice;
}

/** A product in words, and the key its tuned choice is kept under: shape, transpositions, epilogue. */
export function productKey(p: MatmulParams): string {
  const ep = [p.hasBias && '+bias', p.hasAdd && '+add', p.writeAct && `→${p.act}`, p.mulDeriv && `⊙${p.act}′`].filter(Boolean).join('');
  return `${p.M}×${p.N} from ${p.K}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}${ep ? ' ' + ep : ''}`;
}

/** The plan for a product: its shape's, with a tuned choice's tile, buffering and epilogue placement when there is one. */
export function tunedPlan(p: MatmulParams, tuned?: TunedChoice): MatmulPlan {
  const plan = matmulPlan(p);
  return tuned ? { ...plan, tile: tuned.tile, singleBuffer: tuned.singleBuffer, separateEpilogue: tuned.separateEpilogue, vec4: tuned.vec4 } : plan;
}

function candidates(p: MatmulParams, tiles: readonly MatmulTile[]): TunedChoice[] {
  const out: TunedChoice[] = [];
  // vec4 reads where the shape allows them (a call whose offsets do not falls back to scalar
  // reads), with two workgroup buffers only: they are about global loads, not workgroup memory
  const vec4s = vec4Aligned({ ...p, offA: 0, offB: 0, aFromAct: false, aFromZ: false }) ? [false, true] : [false];
  for (const tile of tiles) {
    const { TM, TN } = tileShape(tile);
    // a tile more than twice the output both ways would leave most of its threads idle
    if (p.M * 2 < TM && p.N * 2 < TN && tile !== 'small') continue;
    for (const [singleBuffer, vec4] of [[true, false], ...vec4s.map((v) => [false, v])]) {
      for (const separateEpilogue of hasEpilogue(p) ? [false, true] : [false]) out.push({ tile, singleBuffer, separateEpilogue, vec4 });
    }
  }
  return out;
}

const filled = (be: WebGpuBackend, n: number, label: string, seed: number): GpuBuf => {
  const b = be.buffer(Math.max(1, n), label);
  be.write(
    b,
    Float64Array.from({ length: Math.max(1, n) }, (_v, i) => Math.sin(seed + i * 0.37) * 0.5),
  );
  return b;
};

/** Milliseconds per launch of `run` (which records without submitting): launches recorded, submitted and waited for once, the median of 3. */
async function timeLaunches(be: WebGpuBackend, run: () => void): Promise<number> {
  run();
  await be.sync();
  let t = performance.now();
  run();
  await be.sync();
  const once = Math.max(performance.now() - t, 1e-3);
  const n = Math.max(1, Math.min(200, Math.round(10 / once))); // ~10 ms a repetition
  const reps: number[] = [];
  for (let r = 0; r < 3; r++) {
    t = performance.now();
    for (let i = 0; i < n; i++) run();
    await be.sync();
    reps.push((performance.now() - t) / n);
  }
  return reps.sort((a, b) => a - b)[1];
}

/** Times every candidate of one product on fresh buffers; returns them fastest first with their ms. */
async function timeProduct(be: WebGpuBackend, p: MatmulParams): Promise<[TunedChoice | undefined, number][]> {
  const { M, N, K } = p;
  const bufs = {
    a: filled(be, M * K, 'tune.a', 1),
    b: filled(be, K * N, 'tune.b', 2),
    z: filled(be, M * N, 'tune.z', 3),
    act: filled(be, M * N, 'tune.act', 4),
    bias: filled(be, N, 'tune.bias', 5),
    add: filled(be, M * N, 'tune.add', 6),
    d: filled(be, M * N, 'tune.d', 7),
  };
  const v = (buf: GpuBuf, rows: number, cols: number) => ({ buf, off: 0, rows, cols });
  const args: MatmulArgs<GpuBuf> = {
    z: v(bufs.z, M, N),
    a: p.transA ? v(bufs.a, K, M) : v(bufs.a, M, K),
    b: p.transB ? v(bufs.b, N, K) : v(bufs.b, K, N),
    transA: p.transA,
    transB: p.transB,
    ...(p.hasBias ? { bias: v(bufs.bias, 1, N) } : {}),
    ...(p.hasAdd ? { add: v(bufs.add, M, N) } : {}),
    ...(p.writeAct ? { activation: p.act, act: v(bufs.act, M, N) } : {}),
    ...(p.mulDeriv ? { through: { act: p.act, z: v(bufs.d, M, N), a: v(bufs.d, M, N) } } : {}),
  };
  const splits = matmulPlan(p).splits;
  try {
    const timed: [TunedChoice | undefined, number][] = [[undefined, await timeLaunches(be, () => matmul(be, args))]];
    for (const c of candidates(p, be.matmulTiles())) timed.push([c, await timeLaunches(be, () => matmul(be, { ...args, ...c, splits }))]);
    return timed.sort((x, y) => x[1] - y[1]);
  } finally {
    for (const b of Object.values(bufs)) be.free(b);
  }
}

/**
 * Tunes the products in `products` (as a step plans them: see Session.productsOfStep) that have no
 * choice yet, and keeps each choice in the backend; `log` is told each one as it is made.
 */
export async function tuneProducts(be: WebGpuBackend, products: MatmulParams[], log?: (t: TunedProduct) => void): Promise<TunedProduct[]> {
  const out: TunedProduct[] = [];
  const seen = new Set<string>();
  for (const p of products) {
    const key = productKey(p);
    if (seen.has(key) || be.tuned.has(key)) continue;
    seen.add(key);
    const timed = await timeProduct(be, p);
    const untunedMs = timed.find(([c]) => !c)![1];
    // the fastest candidate; the shape's own choice where that is fastest
    const [best, ms] = timed[0];
    const own = matmulPlan(p);
    const choice = best ?? { tile: matmulTile(p), singleBuffer: false, separateEpilogue: own.separateEpilogue && hasEpilogue(p), vec4: !!own.vec4 };
    const t = { product: key, choice: { ...choice, ms, untunedMs } };
    be.tuned.set(key, t.choice);
    out.push(t);
    log?.(t);
  }
  return out;
}

/** A tuned choice in words, e.g. "big tile, 2 buffers, vec4 reads, epilogue apart". */
export function choiceText(c: TunedChoice): string {
  return `${c.tile} tile, ${c.singleBuffer ? '1 buffer' : '2 buffers'}, ${c.vec4 ? 'vec4 reads, ' : ''}epilogue ${c.separateEpilogue ? 'apart' : 'fused'}`;
}

/**
 * Tunes the products as tuneProducts does, and with a store uses the choices kept there for this
 * GPU and these kernels (saying so, in the order the step runs them) and adds what it times now.
 * Returns how many products were timed.
 */
export async function tuneWithStore(be: WebGpuBackend, products: MatmulParams[], log?: (line: string) => void, store?: TuneStore): Promise<number> {
  const say = (product: string, c: TimedChoice, from = '') =>
    log?.(`tuned ${product}: ${choiceText(c)}, ${c.ms.toFixed(3)} ms (untuned ${c.untunedMs.toFixed(3)} ms)${from}`);
  const device = store && (await tuneDeviceKey(be.adapterInfo));
  if (store && device) {
    const { choices, dropped } = await loadChoices(store, device, be.matmulTiles());
    if (dropped.length)
      log?.(
        `tune: ${store.where}: left out ${dropped.length} entr${dropped.length === 1 ? 'y' : 'ies'} for this GPU that it cannot use (${dropped.join('; ')}); timing ${dropped.length === 1 ? 'it' : 'them'} again`,
      );
    const fresh = new Map([...choices].filter(([product]) => !be.tuned.has(product)));
    for (const [product, c] of fresh) be.tuned.set(product, c);
    for (const product of new Set(products.map(productKey))) {
      const c = fresh.get(product);
      if (c) say(product, c, `, from an earlier run (${store.where})`);
    }
  }
  const done = await tuneProducts(be, products, (t) => say(t.product, t.choice));
  if (store && device && done.length) {
    // a cache that cannot be written costs the next run its timing, not this run its training
    try {
      const kept = await saveChoices(store, device, be.matmulTiles(), new Map(done.map((t) => [t.product, t.choice])));
      log?.(`tune: ${kept} choice${kept === 1 ? '' : 's'} for this GPU kept in ${store.where}`);
    } catch (e) {
      log?.(`tune: could not keep the choices in ${store.where} (${(e as Error).message}); they hold for this run only`);
    }
  }
  return done.length;
}
