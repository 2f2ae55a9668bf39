import { SYNC_EDGE_KINDS } from '../graph';
import type { LinkedProgram } from '../link/linker';

/** Synchronous call edges as adjacency lists, and shortest paths over them. */
export class SyncGraph {
  readonly out: number[][];
  readonly in: number[][];

  constructor(private readonly program: LinkedProgram) {
    this.out = program.functions.map(() => []);
    this.in = program.functions.map(() => []);
    program.edges.forEach((e, i) => {
      if (!SYNC_EDGE_KINDS.includes(e.kind)) return;
      this.out[program.edgeFrom[i]].push(i);
      this.in[program.edgeTo[i]].push(i);
    });
  }

  idx(id: string): number {
    return this.program.idToIndex.get(id)!;
  }

  /** Shortest path (edge indices) from `from` to any function satisfying `goal`, through edges `allow` accepts. */
  shortestPath(from: number, goal: (fn: number) => boolean, allow: (edge: number) => boolean = () => true, outEdges: number[][] = this.out): { path: number[]; end: number } | null {
    if (goal(from)) return { path: [], end: from };
    const parent = new Map<number, number>([[from, -1]]);
    const queue = [from];
    for (let qi = 0; qi < queue.length; qi++) {
      const f = queue[qi];
      for (const ei of outEdges[f]) {
        if (!allow(ei)) continue;
        const t = this.program.edgeTo[ei];
        if (parent.has(t)) continue;
        parent.set(t, ei);
        if (goal(t)) {
          const path: number[] = [];
          for (let cur = t; parent.get(cur)! >= 0; cur = this.program.edgeFrom[parent.get(cur)!]) path.unshift(parent.get(cur)!);
          return { path, end: t };
        }
        queue.push(t);
      }
    }
    return null;
  }

  reachable(from: number, allow: (edge: number) => boolean = () => true): Set<number> {
    const seen = new Set([from]);
    const stack = [from];
    while (stack.length) {
      const f = stack.pop()!;
      for (const ei of this.out[f]) {
        if (!allow(ei)) continue;
        const t = this.program.edgeTo[ei];
        if (!seen.has(t)) { seen.add(t); stack.push(t); }
      }
    }
    return seen;
  }
}

/** Shortest synchronous path from any of `starts` to `target` (edge indices), preferring earlier starts on ties. */
export function pathFromAny(program: LinkedProgram, graph: SyncGraph, starts: readonly number[], target: number, allow: (edge: number) => boolean = () => true): { start: number; path: number[] } | null {
  const parent = new Map<number, number>();
  const queue: number[] = [];
  for (const s of starts) if (!parent.has(s)) { parent.set(s, -1); queue.push(s); }
  for (let qi = 0; qi < queue.length; qi++) {
    const f = queue[qi];
    if (f === target) {
      const path: number[] = [];
      let cur = f;
      while (parent.get(cur)! >= 0) { const ei = parent.get(cur)!; path.unshift(ei); cur = program.edgeFrom[ei]; }
      return { start: cur, path };
    }
    for (const ei of graph.out[f]) {
      if (!allow(ei)) continue;
      const t = program.edgeTo[ei];
      if (!parent.has(t)) { parent.set(t, ei); queue.push(t); }
    }
  }
  return null;
}
