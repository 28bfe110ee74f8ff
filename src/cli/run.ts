// Entry of the built CLI (dist/node/cli.js): runs main and exits with its code.
import { main } from './main.js';

main(process.argv.slice(2)).then((code) => process.exit(code));
