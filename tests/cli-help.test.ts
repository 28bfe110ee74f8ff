// The command line's help, version and argument errors, through the built CLI as a user runs it:
// `miya help [COMMAND]`, `miya COMMAND --help|-h`, `miya --version`; an extra positional argument
// is refused by name and a misspelled option gets a suggestion (exit 2, one line).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { suggest } from '../src/cli/args.js';
import { editDistance } from '../src/spec/check.js';

const root = join(import.meta.dirname, '..');
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const COMMANDS = ['train', 'predict', 'export', 'import', 'explain', 'verify', 'bench'];

/** The option lines of a command's help: [flag as written, its description]. */
function optionLines(help: string): [string, string][] {
  const lines = help.split('\n');
  const from = lines.indexOf('options:');
  expect(from, help).toBeGreaterThan(0);
  return lines
    .slice(from + 1)
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^ {2}(-\S.*?) {2,}(\S.*)$/.exec(l);
      expect(m, `an option line: ${JSON.stringify(l)}`).not.toBeNull();
      return [m![1], m![2]];
    });
}

test('miya --version prints the version in package.json', () => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const flag of ['--version', '-v']) {
    const r = miya(flag);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `miya ${version}\n`, '']);
  }
});

test('miya help lists every command with a one-line description; with no command at all it is an error (exit 2)', () => {
  const r = miya('help');
  expect(r.status, r.stderr).toBe(0);
  for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^ {2}${c} +\\S.{20,}$`, 'm'));
  expect(miya('--help').stdout).toBe(r.stdout);
  const none = miya();
  expect(none.status).toBe(2);
  expect(none.stderr).toMatch(/^miya: expected a command\n/);
});

test.each(COMMANDS)('miya help %s = miya COMMAND --help = -h: its usage and one line, described, for each option', (c) => {
  const r = miya('help', c);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^usage: miya ${c}\\b`));
  expect(miya(c, '--help').stdout).toBe(r.stdout);
  expect(miya(c, '-h').stdout).toBe(r.stdout);
  const opts = optionLines(r.stdout);
  for (const [flag, what] of opts) {
    expect(what, flag).not.toBe('(no description)');
    expect(what.length, flag).toBeGreaterThan(8);
  }
  expect(opts.map(([f]) => f)).toContain('-h, --help');
});

test("train --help names each of train's options, with its value and default", () => {
  const flags = optionLines(miya('train', '--help').stdout).map(([f, what]) => `${f} :: ${what}`);
  for (const want of [
    '--backend cpu|webgpu|auto :: .*\\(default auto\\)',
    '--steps N',
    '--json',
    '--checkpoint FILE',
    '--checkpoint-every N :: .*default 100',
    '--resume FILE',
    '--tune ::',
    '--tune-cache FILE\\|off',
  ]) {
    expect(
      flags.some((f) => new RegExp(`^${want}`).test(f)),
      `${want} in\n${flags.join('\n')}`,
    ).toBe(true);
  }
});

test('--help wins over everything else on the line: nothing is read or run', () => {
  const r = miya('train', 'no-such-spec.json', '--steps', '0', '--help');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^usage: miya train/);
  expect(r.stderr).toBe('');
});

test.each([
  [
    'train a.json b.json',
    ['train', 'examples/single-neuron-sgd.json', 'b.json'],
    /^miya train: arguments: unexpected extra argument "b\.json"; miya train takes \[SPEC\.json\] and options\n$/,
  ],
  ['predict with three files', ['predict', 'a.safetensors', 'in.csv', 'out.csv'], /unexpected extra argument "out\.csv"; miya predict takes CHECKPOINT INPUT/],
  ['verify with an argument', ['verify', 'all'], /unexpected extra argument "all"; miya verify takes no arguments, only options\n$/],
  [
    '--chekpoint',
    ['train', 'examples/single-neuron-sgd.json', '--chekpoint', 'x.safetensors'],
    /^miya train: arguments: Unknown option '--chekpoint'; did you mean --checkpoint\?\n$/,
  ],
  ['-chekpoint (one dash)', ['train', 'examples/single-neuron-sgd.json', '-chekpoint', 'x'], /Unknown option '-chekpoint'; did you mean --checkpoint\?\n$/],
  [
    '--checkpoint-evry=5',
    ['train', 'examples/single-neuron-sgd.json', '--checkpoint-evry=5'],
    /Unknown option '--checkpoint-evry'; did you mean --checkpoint-every\?\n$/,
  ],
  ['--backnd on predict', ['predict', 'a', 'b', '--backnd', 'cpu'], /^miya predict: arguments: Unknown option '--backnd'; did you mean --backend\?\n$/],
  ['an unknown option far from any', ['train', 'examples/single-neuron-sgd.json', '--fast'], /^miya train: arguments: Unknown option '--fast'\n$/],
  ['a misspelled command', ['trian', 'x.json'], /^miya: unknown command "trian"; did you mean train\? \(miya help lists the commands\)\n$/],
  ['help of no such command', ['help', 'nope'], /^miya help: unknown command "nope" \(miya help lists the commands\)\n$/],
])('%s: exit 2, one line naming it, nothing on stdout', (_, args, message) => {
  const r = miya(...args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
});

test('suggestions: the nearest option within a third of its length, or the one it begins', () => {
  expect(editDistance('chekpoint', 'checkpoint')).toBe(1);
  expect(editDistance('tnue', 'tune')).toBe(1); // a transposition is one edit
  expect(suggest('chekpoint', ['checkpoint', 'checkpoint-every', 'steps'])).toBe('checkpoint');
  expect(suggest('ste', ['steps', 'json'])).toBe('steps');
  expect(suggest('fast', ['steps', 'json', 'tune'])).toBeUndefined();
});
