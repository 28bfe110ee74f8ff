// The playground's jobs by name: what its worker (web/worker.ts) serves, and what TrainRun's
// `where: 'page'` runs on the page instead.
import { benchJob } from './bench.js';
import { raceJob } from './race.js';
import { trainJob } from './train.js';
import { verifyJob } from './verify.js';

export const jobs = { train: trainJob, race: raceJob, verify: verifyJob, bench: benchJob };
export type JobName = keyof typeof jobs;
