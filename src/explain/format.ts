// Number formatting for stories and tables.

/** Up to 6 significant digits, no trailing zeros, − for minus. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 1e-4 && a < 1e7 ? String(Number(v.toPrecision(6))) : v.toExponential(4);
  return s.replace(/-/g, '−');
}

export function fmtList(v: ArrayLike<number>, max = 8): string {
  const items = Array.from(v).slice(0, max).map(fmt);
  return `[${items.join(', ')}${v.length > max ? `, … (${v.length} values)` : ''}]`;
}

/** A matrix row by row (first rows only when large). */
export function fmtMatrix(v: ArrayLike<number>, cols: number, maxRows = 4): string {
  const rows = Math.ceil(v.length / cols);
  if (rows <= 1) return fmtList(v);
  const out: string[] = [];
  for (let r = 0; r < Math.min(rows, maxRows); r++) out.push(fmtList(Array.from(v).slice(r * cols, (r + 1) * cols)));
  if (rows > maxRows) out.push(`… (${rows} rows)`);
  return `[${out.join(', ')}]`;
}

/**
 * A loss (or the like) on one line of CLI output: 4 decimals in the everyday range, else 3
 * significant digits (3.75e+118, 1.23e-7), not toFixed's 17-digit 3.7544759086054005e+118.
 */
export function fmtShort(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a === 0 || (a >= 1e-4 && a < 1e6) ? v.toFixed(4) : v.toPrecision(3);
}

/** "1 step", "2 steps" (and "0 steps"). */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
}

/**
 * "an" before a word that is read starting with a vowel sound, else "a": an RNN, an MLP (letters
 * read aloud: ar, em), an 8-4 MLP, an 11-…; a 784-128-10 MLP, a sigmoid.
 */
export function article(word: string): 'a' | 'an' {
  const acronym = /^[A-Z]{2,}\b/.test(word);
  if (acronym) return /^[AEFHILMNORSX]/.test(word) ? 'an' : 'a';
  if (/^\d/.test(word)) return /^(8|11(?!\d)|18(?!\d)|11\d{3}(?!\d)|18\d{3}(?!\d))/.test(word) ? 'an' : 'a';
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
