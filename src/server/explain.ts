import type { ProjectSession } from '../analyzer/session';
import type { Finding } from '../analyzer/concurrency/types';
import { callersOf } from '../analyzer/link/reach';
import { shortName } from '../analyzer/report/formats';

// What the editor says about a function: which thread contexts run it, whether the GIL is held
// there and from which entry points, and which findings go through it. Shared by hover and CodeLens.

export interface FunctionContext { lock: string; context: string; state: 'held' | 'may-be-held' | 'not-held' }

const cache = new WeakMap<ProjectSession, { revision: number; entries: Map<number, number[]> }>();

export function contextsOf(session: ProjectSession, fn: number): FunctionContext[] {
  const out: FunctionContext[] = [];
  for (const c of session.concurrency.contexts) {
    const m = c.reached[fn];
    if (!m) continue;
    out.push({ lock: c.lock, context: c.root === null ? 'main thread (entry points)' : `thread ${shortName(c.id)}`, state: m === 1 ? 'held' : m & 1 ? 'may-be-held' : 'not-held' });
  }
  return out;
}

/** Entry points from which `fn` is reached with the lock of the `entries` context held. */
export function entriesHolding(session: ProjectSession, fn: number, lock = 'GIL'): number[] {
  let c = cache.get(session);
  if (!c || c.revision !== session.revision) cache.set(session, (c = { revision: session.revision, entries: new Map() }));
  const key = fn;
  const hit = c.entries.get(key);
  if (hit) return hit;
  const ctx = session.concurrency.contexts.find((x) => x.lock === lock && x.root === null);
  const p = session.analysis.program;
  if (!ctx || !(ctx.reached[fn] & 1)) {
    c.entries.set(key, []);
    return [];
  }
  const seen = callersOf(p, [fn], ctx.heldEdges);
  const entries = [...seen].filter((f) => p.functions[f].entry?.some((e) => e.kind !== 'main')).sort((a, b) => a - b);
  c.entries.set(key, entries);
  return entries;
}

/** Unsuppressed findings whose lock-holding path runs through the function (or waits in it, or, in a lock-order cycle, takes a lock in it). */
export function findingsThrough(session: ProjectSession, fnId: string): Finding[] {
  return session.findings.filter((f) => !f.suppressed && (f.entry.function === fnId || f.path.some((h) => h.to === fnId) || f.wait?.function === fnId || f.call?.function === fnId
    || (f.threads ?? []).some((t) => t.entry.function === fnId || t.holds.function === fnId || t.acquires.function === fnId || t.path.some((h) => h.to === fnId))));
}

/** Call sites (file and line) a finding's evidence points at: every hop, the wait or call, and each lock-order thread's locks. */
export function findingSites(f: Finding): { file: string; line: number; to: string; what: string }[] {
  const out: { file: string; line: number; to: string; what: string }[] = [];
  for (const h of f.path) out.push({ file: h.site.file, line: h.site.line, to: h.to, what: 'path' });
  if (f.wait) out.push({ file: f.wait.site.file, line: f.wait.site.line, to: f.wait.function, what: 'wait' });
  if (f.call) out.push({ file: f.call.site.file, line: f.call.site.line, to: f.call.function, what: 'call' });
  for (const t of f.threads ?? []) {
    for (const h of t.path) out.push({ file: h.site.file, line: h.site.line, to: h.to, what: 'path' });
    out.push({ file: t.acquires.site.file, line: t.acquires.site.line, to: t.acquires.function, what: `takes ${t.acquires.lock} holding ${t.holds.lock}` });
  }
  return out;
}

export function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${/[^aeiou]y$/.test(word) ? `${word.slice(0, -1)}ies` : `${word}s`}`;
}
