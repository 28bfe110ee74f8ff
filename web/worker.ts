// The playground's worker: Train, Race, Verify and Bench run here (web/jobs/), so the page stays
// interactive while the CPU backend computes or WebGPU steps are recorded. One worker serves them
// all, one WebGPU device among them (web/backend.ts), started by the page on its first job (run.ts).
import { serveJobs } from '../src/worker/jobs.js';
import { jobs } from './jobs/index.js';

serveJobs(jobs);
