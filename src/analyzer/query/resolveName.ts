import { LockpathError } from '../errors';
import type { LinkedProgram } from '../link/linker';

/**
 * Finds the function a user means by `name`, `name@file` or an id. Defined functions win over
 * external ones with the same name; genuine ambiguity is an error listing the candidates.
 */
export function resolveFunction(program: LinkedProgram, query: string): number {
  const exact = program.idToIndex.get(query);
  if (exact !== undefined) return exact;
  const [name, file] = query.includes('@') ? query.split('@', 2) : [query, undefined];
  const candidates = program.functions
    .map((f, i) => ({ f, i }))
    .filter(({ f }) => f.name === name && (!file || (f.file ?? '').endsWith(file)));
  const defined = candidates.filter(({ f }) => f.defined);
  const pool = defined.length ? defined : candidates;
  if (pool.length === 1) return pool[0].i;
  if (pool.length > 1) {
    throw new LockpathError(`function '${query}' is ambiguous: ${pool.map(({ f }) => f.id).join(', ')} (write name@file)`);
  }
  throw new LockpathError(`unknown function '${query}'${suggest(program.functions.map((f) => f.name), name)}`);
}

export function suggest(names: Iterable<string>, wanted: string): string {
  const scored: { n: string; d: number }[] = [];
  const seen = new Set<string>();
  const lower = wanted.toLowerCase();
  for (const n of names) {
    if (seen.has(n)) continue;
    seen.add(n);
    const ln = n.toLowerCase();
    // Substring matches count only when the shorter side is a real part of the other.
    const contains = (ln.includes(lower) && lower.length >= 4) || (lower.includes(ln) && ln.length >= Math.max(4, lower.length / 2));
    const d = contains ? 1 : editDistance(lower, ln, 4);
    if (d <= Math.max(2, Math.floor(wanted.length / 3))) scored.push({ n, d });
  }
  scored.sort((a, b) => a.d - b.d || a.n.length - b.n.length || (a.n < b.n ? -1 : 1));
  return scored.length ? ` (did you mean ${scored.slice(0, 3).map((s) => `'${s.n}'`).join(', ')}?)` : '';
}

/** Levenshtein distance, giving up (returning `limit + 1`) once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length];
}
