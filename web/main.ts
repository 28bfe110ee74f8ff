// The playground: five modes behind tabs. `window.playground` exposes each mode's run() so that
// the headless tests (tests/browser.test.ts) and `miya verify --browser` drive the page itself.
import './style.css';
import { showGpuStatus } from './backend.js';
import { setupBench } from './bench.js';
import { setupRace } from './race.js';
import { setupStory } from './story.js';
import { setupTrain } from './train.js';
import { setupVerify } from './verify.js';

const section = (id: string) => document.getElementById(id)!;

function show(mode: string): void {
  for (const s of document.querySelectorAll('.mode')) s.classList.toggle('active', s.id === mode);
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) b.classList.toggle('active', b.dataset.mode === mode);
  history.replaceState(null, '', `#${mode}`);
}

for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) b.onclick = () => show(b.dataset.mode!);
show(location.hash.slice(1) || 'story');

const playground = {
  show,
  gpu: showGpuStatus(document.getElementById('gpu-status')!),
  story: setupStory(section('story')),
  train: setupTrain(section('train')),
  race: setupRace(section('race')),
  verify: setupVerify(section('verify')),
  bench: setupBench(section('bench')),
};
(window as unknown as { playground: typeof playground }).playground = playground;
