// The browser build's stand-in for regularFile.ts (tools/browserTwins.ts swaps it in): a page has
// no file system, so CSV files come through fetch or the reader the caller passes (data/csv.ts),
// and this is never reached there; it names no Node module.
import type * as Node from './regularFile.js';

export type Naming = Node.Naming;

export const openRegular: typeof Node.openRegular = async (_path, n) => {
  throw new Error(`${n.at}: reading a file from disk needs Node; in a browser pass the file's text (loadDataset's readText)`);
};

export const readRegularText: typeof Node.readRegularText = async (_path, n) => {
  throw new Error(`${n.at}: reading a file from disk needs Node; in a browser pass the file's text (loadDataset's readText)`);
};
