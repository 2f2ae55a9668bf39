// Which thread each drawn function runs on: the main thread (entry points, holding the GIL) or a
// thread root's thread. The server's analysis says so when it sends `contexts`; otherwise the view
// derives it from what it draws (entry points, thread roots, hand-off edges).
import type { Edge, FunctionNode } from '../analyzer/graph';
import { SYNC_EDGE_KINDS } from '../analyzer/graph';
import type { ContextsJson } from './protocol';

export const MAIN_CONTEXT = 'entries';

/** Context ids per function id, `entries` first, then thread roots by name. */
export function functionContexts(functions: FunctionNode[], edges: Edge[], given?: ContextsJson): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  const add = (id: string, ctx: string) => {
    let s = out.get(id);
    if (!s) out.set(id, (s = new Set()));
    const had = s.has(ctx);
    s.add(ctx);
    return !had;
  };
  if (given) {
    for (const f of functions) for (const c of given[f.id] ?? []) add(f.id, c.context);
  } else {
    const seeds: [string, string][] = [];
    for (const f of functions) {
      if (f.entry?.length) seeds.push([f.id, MAIN_CONTEXT]);
      if (f.threadRoot?.length) seeds.push([f.id, f.id]);
    }
    for (const e of edges) {
      if (e.kind === 'handoff') seeds.push([e.to, e.threadRoot ?? e.to]);
      if (e.kind === 'registration') seeds.push([e.to, MAIN_CONTEXT]);
    }
    const sync = new Set<string>(SYNC_EDGE_KINDS);
    const callees = new Map<string, string[]>();
    for (const e of edges) if (sync.has(e.kind)) (callees.get(e.from) ?? callees.set(e.from, []).get(e.from)!).push(e.to);
    const queue = seeds.filter(([id, ctx]) => add(id, ctx));
    for (let i = 0; i < queue.length; i++) {
      const [id, ctx] = queue[i];
      for (const to of callees.get(id) ?? []) if (add(to, ctx)) queue.push([to, ctx]);
    }
  }
  const order = (a: string, b: string) => (a === MAIN_CONTEXT ? -1 : b === MAIN_CONTEXT ? 1 : a.localeCompare(b));
  return new Map([...out].map(([id, s]) => [id, [...s].sort(order)]));
}

/** A stable colour slot per context: 0 for the main thread, 1… for thread roots (cycling after 5). */
export function contextSlots(contexts: Iterable<string[]>): Map<string, number> {
  const threads = new Set<string>();
  for (const list of contexts) for (const c of list) if (c !== MAIN_CONTEXT) threads.add(c);
  const slots = new Map<string, number>([[MAIN_CONTEXT, 0]]);
  [...threads].sort().forEach((t, i) => slots.set(t, 1 + (i % 5)));
  return slots;
}
