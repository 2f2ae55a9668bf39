// An edit that only moves code (typing inside a comment, re-indenting, adding a blank line) leaves a
// file's facts equal up to positions. Then the linked program and the concurrency result are
// still right except for the positions they copied from that file: shifting those in place costs a
// few milliseconds, where re-linking and re-running the concurrency pass cost hundreds.
import type { FileFacts } from '../model';

/** Fields holding a line (alone or with `col`) in facts and in everything derived from them. */
const LINE_KEYS = new Set(['line', 'endLine', 'bodyStartLine']);

/** Old → new positions of one file, when its old and new facts differ only in positions. */
export class PositionMap {
  readonly lines = new Map<number, number>();
  readonly points = new Map<string, { line: number; col: number }>();

  /** Whether anything moves at all. */
  get moves(): boolean {
    for (const [a, b] of this.lines) if (a !== b) return true;
    for (const [k, p] of this.points) if (k !== `${p.line}:${p.col}`) return true;
    return false;
  }

  line(old: number): number | undefined {
    return this.lines.get(old);
  }

  point(line: number, col: number): { line: number; col: number } | undefined {
    return this.points.get(`${line}:${col}`);
  }
}

/**
 * Compares two FileFacts field by field. Returns the position map when everything but line/col
 * fields is equal and the map is consistent (each old line and point has one image) and keeps
 * order (so "before/after on the same line" comparisons the analysis makes still hold); null
 * otherwise — the caller then re-links.
 */
export function positionOnlyChange(oldFacts: FileFacts, newFacts: FileFacts): PositionMap | null {
  const map = new PositionMap();
  if (!sameShape(oldFacts, newFacts, map)) return null;
  if (!monotone([...map.lines].map(([a, b]) => [[a], [b]]))) return null;
  const points = [...map.points].map(([k, p]) => [k.split(':').map(Number), [p.line, p.col]]);
  if (!monotone(points)) return null;
  // A point's line must move with its line: line-only values (statement lines) and points are
  // shifted by different maps and must agree.
  for (const [k, p] of map.points) if (map.lines.get(Number(k.split(':')[0])) !== p.line) return null;
  return map;
}

function sameShape(a: unknown, b: unknown, map: PositionMap): boolean {
  // Shared objects are still walked: their positions belong in the map (as identities).
  if (a === b && (typeof a !== 'object' || a === null)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameShape(a[i], b[i], map)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const k of keys) {
    if (!(k in rb)) return false;
    const va = ra[k];
    const vb = rb[k];
    if ((LINE_KEYS.has(k) || k === 'col') && typeof va === 'number' && typeof vb === 'number') {
      if (k !== 'col' && !record(map.lines, va, vb)) return false;
      continue;
    }
    if (!sameShape(va, vb, map)) return false;
  }
  if (typeof ra.line === 'number' && typeof ra.col === 'number') {
    const key = `${ra.line}:${ra.col}`;
    const prev = map.points.get(key);
    const next = { line: rb.line as number, col: rb.col as number };
    if (prev && (prev.line !== next.line || prev.col !== next.col)) return false;
    map.points.set(key, next);
  }
  return true;
}

function record(m: Map<number, number>, from: number, to: number): boolean {
  const prev = m.get(from);
  if (prev !== undefined) return prev === to;
  m.set(from, to);
  return true;
}

/** Sorted by old key, the new keys must be strictly increasing (lexicographically). */
function monotone(pairs: number[][][]): boolean {
  const cmp = (x: number[], y: number[]) => x[0] - y[0] || (x[1] ?? 0) - (y[1] ?? 0);
  pairs.sort((p, q) => cmp(p[0], q[0]));
  for (let i = 1; i < pairs.length; i++) if (cmp(pairs[i - 1][1], pairs[i][1]) >= 0) return false;
  return true;
}

/** Copies b's position fields into a (same shape, as checked by positionOnlyChange). */
export function copyPositions(a: unknown, b: unknown): void {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return;
  if (Array.isArray(a)) {
    for (let i = 0; i < a.length; i++) copyPositions(a[i], (b as unknown[])[i]);
    return;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of Object.keys(ra)) {
    if ((LINE_KEYS.has(k) || k === 'col') && typeof ra[k] === 'number') ra[k] = rb[k];
    else copyPositions(ra[k], rb[k]);
  }
}

interface Pending { apply(): void }

/**
 * Shifts every position of `file` reachable from `roots` (sites, function nodes, and
 * `file:line[:col]` references inside evidence strings). Checks first that every such position is
 * in the map, and changes nothing (returns false) if one is not: a derived position the facts do
 * not explain means the caller must recompute instead.
 */
export function shiftDerived(roots: unknown[], file: string, map: PositionMap): boolean {
  const pending: Pending[] = [];
  const seen = new Set<object>();
  const ref = new RegExp(`(^|[^\\w./-])${escapeRe(file)}:(\\d+)(?::(\\d+))?`, 'g');
  const rewrite = (s: string): string | null => {
    let ok = true;
    const out = s.replace(ref, (_m, pre: string, l: string, c: string | undefined) => {
      if (c !== undefined) {
        const p = map.point(Number(l), Number(c));
        if (!p) { ok = false; return _m; }
        return `${pre}${file}:${p.line}:${p.col}`;
      }
      const nl = map.line(Number(l));
      if (nl === undefined) { ok = false; return _m; }
      return `${pre}${file}:${nl}`;
    });
    return ok ? out : null;
  };
  const visit = (o: unknown): boolean => {
    if (typeof o !== 'object' || o === null || seen.has(o) || ArrayBuffer.isView(o)) return true;
    seen.add(o);
    if (Array.isArray(o)) {
      for (const x of o) if (!visit(x)) return false;
      return true;
    }
    if (o instanceof Map || o instanceof Set) {
      for (const x of o.values()) if (!visit(x)) return false;
      return true;
    }
    const r = o as Record<string, unknown>;
    if (r.file === file) {
      const updates: [string, number][] = [];
      if (typeof r.line === 'number' && typeof r.col === 'number') {
        const p = map.point(r.line, r.col);
        if (!p) return false;
        updates.push(['line', p.line], ['col', p.col]);
      } else if (typeof r.line === 'number') {
        const l = map.line(r.line);
        if (l === undefined) return false;
        updates.push(['line', l]);
      }
      for (const k of ['endLine', 'bodyStartLine']) {
        if (typeof r[k] !== 'number') continue;
        const l = map.line(r[k] as number);
        if (l === undefined) return false;
        updates.push([k, l]);
      }
      if (updates.length) pending.push({ apply: () => { for (const [k, v] of updates) r[k] = v; } });
    }
    for (const k of Object.keys(r)) {
      const v = r[k];
      if (typeof v === 'string') {
        if (!v.includes(file)) continue;
        const next = rewrite(v);
        if (next === null) return false;
        if (next !== v) pending.push({ apply: () => { r[k] = next; } });
      } else if (!visit(v)) return false;
    }
    return true;
  };
  for (const root of roots) if (!visit(root)) return false;
  for (const p of pending) p.apply();
  return true;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
