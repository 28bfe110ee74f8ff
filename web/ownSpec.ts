// A user's own run spec in the Train tab: the JSON file and the CSV or text file it names, chosen
// together from the user's disk. The page reads only what was chosen, so a file the spec names must
// be among the files (matched by file name).
import { SpecError } from '../src/index.js';

export interface OwnSpec {
  name: string;
  spec: unknown;
  files: Record<string, string>;
}

/** The chosen files as a spec (the one .json file) and its data files (the rest, by name). */
export async function readChosenFiles(list: FileList | File[]): Promise<OwnSpec> {
  const chosen = Array.from(list);
  const json = chosen.filter((f) => f.name.toLowerCase().endsWith('.json'));
  if (json.length !== 1) throw new SpecError('the files chosen', `expected one .json file (the run spec), got ${json.length}`);
  const files: Record<string, string> = {};
  for (const f of chosen) if (f !== json[0]) files[f.name] = await f.text();
  let spec: unknown;
  try {
    spec = JSON.parse(await json[0].text());
  } catch (e) {
    throw new SpecError(json[0].name, `invalid JSON (${(e as Error).message})`);
  }
  return { name: json[0].name.replace(/\.json$/i, ''), spec, files };
}

/** Reads a data file the spec names (at JSON path `key`: data.csv, data.text) from the files chosen beside it. */
export function chosenFileReader(files: Record<string, string>, key = 'data.csv'): (path: string) => Promise<string> {
  return async (path) => {
    const text = files[path] ?? files[path.split(/[\\/]/).pop()!];
    if (text === undefined) throw new SpecError(key, `${path} is not among the files chosen with the spec: choose it too`);
    return text;
  };
}
