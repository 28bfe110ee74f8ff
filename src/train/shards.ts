// Data larger than one device buffer (or than memory): the samples are cut into K shards of
// nearly equal size (shard k is samples [⌊k·n/K⌋, ⌊(k+1)·n/K⌋)), and the device holds two of them
// at a time in one buffer of two slots: the shard being trained on and the next one, uploaded as
// soon as the one before is done with. A batch is a run of positions in the epoch's sequence, as
// without shards, so one may straddle two consecutive shards: both are resident, and one gather
// reads them through a per-batch index list of slot-relative indices (written before the step).
// ARCHITECTURE.md "Data larger than one buffer" has the design.
//
// The epoch's sequence: without shuffle, samples 0…n−1 in order (so the batches, and the losses,
// are those of a run that holds every sample); with shuffle, a seeded permutation of the shards
// and a seeded shuffle within each shard, each drawn from the seed, the epoch and (within) the
// shard alone, so a resumed run takes the same batches. It is not PyTorch's permutation of the
// whole data set: a batch mixes at most two shards' samples.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Backend } from '../backend.js';
import type { Dataset, SampleSource } from '../data/dataset.js';
import { targetCols } from '../data/dataset.js';
import { SpecError } from '../errors.js';

/** Indices live on the device as f32 (exact below 2^24): two slots of at most 2^23 samples. */
const MAX_SLOT = 2 ** 23;

export interface ShardPlan {
  /** samples, shards */
  n: number;
  count: number;
  /** samples one device slot holds (the largest shard) */
  slot: number;
}

/** The first sample of shard k (k = count: n). */
export const shardStart = (p: ShardPlan, k: number): number => Math.floor((k * p.n) / p.count);

/**
 * How to cut a data set for a device whose data buffers hold at most `limitFloats` floats (and
 * its source's host bound), or undefined when it fits whole (and is in memory). `batch`: the
 * largest batch, which must lie within two consecutive shards, so within the smallest shard.
 */
export function planShards(d: Dataset, batch: number, limitFloats: number): ShardPlan | undefined {
  const xs = d.steps * d.features,
    ys = (d.targetSteps ?? 1) * targetCols(d),
    n = d.n;
  if (!d.source && n * xs <= limitFloats && n * ys <= limitFloats && n < 2 ** 24) return undefined;
  const perSample = Math.max(xs, ys);
  const floats = Math.min(limitFloats, d.source?.shardFloats ?? Infinity);
  const most = Math.min(MAX_SLOT, Math.floor(floats / (2 * perSample)));
  if (most < 1) throw new SpecError('data', `one sample is ${perSample} floats; two do not fit in a data buffer of ${floats} floats`);
  const count = Math.ceil(n / most),
    plan = { n, count, slot: Math.ceil(n / count) };
  const smallest = Math.floor(n / count);
  if (batch > smallest) {
    throw new SpecError(
      'batchSize',
      `expected at most ${smallest} samples: the data is cut into ${count} shards of ${smallest}–${plan.slot} samples to fit the device's buffers, and a batch may span at most two of them; got ${batch}`,
    );
  }
  return plan;
}

/** `batch`, or less where the data is cut into shards smaller than it (an evaluation's batches, which may be any size). */
export function batchWithinShards(d: Dataset, batch: number, limitFloats: number): number {
  const p = planShards(d, 1, limitFloats);
  return p ? Math.min(batch, Math.floor(p.n / p.count)) : batch;
}

/** A 32-bit seed from several integers (any size): a pure function, so orders repeat. */
function mix(...parts: number[]): number {
  let h = 0x2545f491;
  for (const v of parts) {
    // low and high 32 bits of each part, so that large seeds are not cut
    for (const w of [v % 2 ** 32, Math.floor(v / 2 ** 32)]) {
      h = Math.imul(h ^ (w | 0), 0x9e3779b1);
      h ^= h >>> 15;
    }
  }
  return h | 0;
}

/** 0…n−1, or its seeded Fisher–Yates shuffle. */
function shuffled(n: number, rngSeed: number | undefined): Float64Array<ArrayBuffer> {
  const order = Float64Array.from({ length: n }, (_, i) => i);
  if (rngSeed === undefined) return order;
  const rng = xoroshiro128plus(rngSeed);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** The epoch's order of shards: 0…K−1, or a permutation drawn from the seed and the epoch alone. */
export function shardSequence(p: ShardPlan, shuffle: boolean, seed: number, epoch: number): Float64Array<ArrayBuffer> {
  return shuffled(p.count, shuffle ? mix(seed, epoch, 0x5ead) : undefined);
}

/** Shard k's samples in the epoch's order, as indices within the shard: drawn from the seed, the epoch and k alone. */
export function withinShard(p: ShardPlan, k: number, shuffle: boolean, seed: number, epoch: number): Float64Array {
  return shuffled(shardStart(p, k + 1) - shardStart(p, k), shuffle ? mix(seed, epoch, k, 0x1a5d) : undefined);
}

/** The whole epoch's sample order (host-side; for tests and small data). */
export function shardedEpochOrder(p: ShardPlan, shuffle: boolean, seed: number, epoch: number): Float64Array {
  const out = new Float64Array(p.n);
  let at = 0;
  for (const k of shardSequence(p, shuffle, seed, epoch)) {
    const base = shardStart(p, k);
    for (const j of withinShard(p, k, shuffle, seed, epoch)) out[at++] = base + j;
  }
  return out;
}

/** Samples [from, from + count) of an in-memory data set. */
export function memorySource(d: Dataset): SampleSource {
  const xs = d.steps * d.features,
    ys = (d.targetSteps ?? 1) * targetCols(d);
  return { read: async (from, count) => ({ x: d.x.subarray(from * xs, (from + count) * xs), y: d.y.subarray(from * ys, (from + count) * ys) }) };
}

interface Resident {
  shard: number;
  order: Float64Array;
}

/**
 * Keeps the shards a batch needs on the device and writes its index list. `feed(b, epoch)` must
 * be awaited before the step on batch b of that epoch is recorded (Trainer does).
 */
export class ShardFeeder<B> {
  private readonly source: SampleSource;
  private readonly xs: number;
  private readonly ys: number;
  /** what each device slot holds: a shard and its order this epoch */
  private slots: (Resident | undefined)[] = [undefined, undefined];
  private epoch = -1;
  private sequence = new Float64Array(0);
  /** the position in the epoch's sequence where each entry of `sequence` begins (count + 1 entries) */
  private begins = new Float64Array(0);
  /** a shard being read ahead from the source */
  private ahead?: { shard: number; data: Promise<{ x: Float64Array; y: Float64Array }> };
  private fed?: { start: number; size: number; epoch: number };
  private readonly idx: Float64Array<ArrayBuffer>;

  constructor(
    private be: Backend<B>,
    readonly plan: ShardPlan,
    data: Dataset,
    private bufs: { x: B; y: B; order: B },
    private shuffle: boolean,
    private seed: number,
    maxBatch: number,
  ) {
    this.source = data.source ?? memorySource(data);
    this.xs = data.steps * data.features;
    this.ys = (data.targetSteps ?? 1) * targetCols(data);
    this.idx = new Float64Array(maxBatch);
  }

  /** Whether the index list on the device is batch b's (Session checks before a gather). */
  ready(start: number, size: number): boolean {
    return this.fed?.start === start && this.fed.size === size;
  }

  private setEpoch(epoch: number): void {
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.sequence = shardSequence(this.plan, this.shuffle, this.seed, epoch);
    this.begins = new Float64Array(this.plan.count + 1);
    for (let q = 0; q < this.plan.count; q++) {
      const k = this.sequence[q];
      this.begins[q + 1] = this.begins[q] + shardStart(this.plan, k + 1) - shardStart(this.plan, k);
    }
    // the shards stay where they are; their orders are this epoch's
    for (const r of this.slots) if (r) r.order = withinShard(this.plan, r.shard, this.shuffle, this.seed, epoch);
  }

  /** The entry of the epoch's sequence that holds position `pos`. */
  private entryAt(pos: number): number {
    let lo = 0,
      hi = this.plan.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.begins[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private read(k: number): Promise<{ x: Float64Array; y: Float64Array }> {
    if (this.ahead?.shard === k) {
      const d = this.ahead.data;
      this.ahead = undefined;
      return d;
    }
    const from = shardStart(this.plan, k);
    return this.source.read(from, shardStart(this.plan, k + 1) - from);
  }

  private readAhead(k: number | undefined): void {
    if (k === undefined || this.ahead?.shard === k || this.slots.some((r) => r?.shard === k)) return;
    const from = shardStart(this.plan, k);
    const data = this.source.read(from, shardStart(this.plan, k + 1) - from);
    data.catch(() => {}); // awaited when the shard is needed; its error is reported then
    this.ahead = { shard: k, data };
  }

  /** Puts shard k in a slot other than `keep`'s, unless it is resident already. */
  private async place(k: number, keep: number | undefined): Promise<void> {
    if (this.slots.some((r) => r?.shard === k)) return;
    const s = this.slots[0] === undefined || this.slots[0].shard !== keep ? 0 : 1;
    const { x, y } = await this.read(k);
    const count = shardStart(this.plan, k + 1) - shardStart(this.plan, k);
    if (x.length !== count * this.xs || y.length !== count * this.ys)
      throw new Error(`shard ${k}: the source gave ${x.length / this.xs} samples, expected ${count}`);
    // queued after the steps already submitted: those still read the slot's previous shard
    this.be.write(this.bufs.x, x, s * this.plan.slot * this.xs);
    this.be.write(this.bufs.y, y, s * this.plan.slot * this.ys);
    this.slots[s] = { shard: k, order: withinShard(this.plan, k, this.shuffle, this.seed, this.epoch) };
  }

  /** Makes batch b (positions [start, start + size) of epoch `epoch`) ready to gather. */
  async feed(b: { start: number; size: number }, epoch: number): Promise<void> {
    this.setEpoch(epoch);
    const q = this.entryAt(b.start),
      last = this.entryAt(b.start + b.size - 1);
    const here = this.sequence[q],
      next = q + 1 < this.plan.count ? this.sequence[q + 1] : undefined;
    await this.place(here, next);
    if (next !== undefined) await this.place(next, here);
    // while the device trains on these two, the one after them is read from the source
    this.readAhead(q + 2 < this.plan.count ? this.sequence[q + 2] : undefined);
    for (let r = 0; r < b.size; r++) {
      const pos = b.start + r,
        e = pos < this.begins[q + 1] ? q : last;
      const s = this.slots[0]?.shard === this.sequence[e] ? 0 : 1;
      this.idx[r] = s * this.plan.slot + this.slots[s]!.order[pos - this.begins[e]];
    }
    this.be.write(this.bufs.order, this.idx.subarray(0, b.size));
    this.fed = { start: b.start, size: b.size, epoch };
  }
}
