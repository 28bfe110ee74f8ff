// Entry of the built CLI (dist/node/cli.js): runs main and exits with its code, once stdout and
// stderr have handed everything to the OS (writes to a pipe are asynchronous in Node, and
// process.exit() does not wait for them: a large `--json` result was cut short).
import { main } from './main.js';

const flushed = (s: NodeJS.WriteStream) => new Promise<void>((done) => s.write('', () => done()));

main(process.argv.slice(2)).then(async (code) => {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
