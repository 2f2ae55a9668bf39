import type { LinkedProgram } from '../link/linker';
import { boundKey, boundParameterCalls, edgeCallIndex, followedEdges, parameterCalls } from './programLookups';

/** Synchronous call edges as adjacency lists, and shortest paths over them. */
export class SyncGraph {
  readonly out: number[][];
  readonly in: number[][];

  constructor(private readonly program: LinkedProgram) {
    const n = program.functions.length;
    this.seenGen = new Uint32Array(n);
    this.parentEdge = new Int32Array(n);
    this.queue = new Int32Array(n);
    this.out = program.functions.map(() => []);
    this.in = program.functions.map(() => []);
    const followed = followedEdges(program);
    program.edges.forEach((_, i) => {
      if (!followed[i]) return;
      this.out[program.edgeFrom[i]].push(i);
      this.in[program.edgeTo[i]].push(i);
    });
  }

  idx(id: string): number {
    return this.program.idToIndex.get(id)!;
  }

  // BFS scratch reused across searches: a generation stamp marks what this search has visited, so
  // thousands of path queries per analysis allocate nothing per visited function.
  private readonly seenGen: Uint32Array;
  private readonly parentEdge: Int32Array;
  private readonly queue: Int32Array;
  private generation = 0;

  /** Shortest path (edge indices) from `from` to any function satisfying `goal`, through edges `allow` accepts. */
  shortestPath(from: number, goal: (fn: number) => boolean, allow: (edge: number) => boolean = () => true, outEdges: number[][] = this.out): { path: number[]; end: number } | null {
    if (goal(from)) return { path: [], end: from };
    const gen = ++this.generation;
    const { seenGen, parentEdge, queue } = this;
    const edgeTo = this.program.edgeTo;
    seenGen[from] = gen;
    parentEdge[from] = -1;
    queue[0] = from;
    let tail = 1;
    for (let qi = 0; qi < tail; qi++) {
      const edges = outEdges[queue[qi]];
      for (let k = 0; k < edges.length; k++) {
        const ei = edges[k];
        const t = edgeTo[ei];
        if (seenGen[t] === gen || !allow(ei)) continue;
        seenGen[t] = gen;
        parentEdge[t] = ei;
        if (goal(t)) {
          const path: number[] = [];
          for (let cur = t; parentEdge[cur] >= 0; cur = this.program.edgeFrom[parentEdge[cur]]) path.push(parentEdge[cur]);
          return { path: path.reverse(), end: t };
        }
        queue[tail++] = t;
      }
    }
    return null;
  }

  /** Breadth-first parents from `from` (edge index; -1 at the start, -2 unreached): every shortest path from it at once. */
  bfsParents(from: number, allow: (edge: number) => boolean): Int32Array {
    const parent = new Int32Array(this.program.functions.length).fill(-2);
    const edgeTo = this.program.edgeTo;
    parent[from] = -1;
    const queue = this.queue;
    queue[0] = from;
    let tail = 1;
    for (let qi = 0; qi < tail; qi++) {
      const edges = this.out[queue[qi]];
      for (let k = 0; k < edges.length; k++) {
        const ei = edges[k];
        const t = edgeTo[ei];
        if (parent[t] !== -2 || !allow(ei)) continue;
        parent[t] = ei;
        queue[tail++] = t;
      }
    }
    return parent;
  }

  /** The path to `to` in a `bfsParents` tree, or null when it was not reached. */
  pathIn(parent: Int32Array, to: number): number[] | null {
    if (parent[to] === -2) return null;
    const path: number[] = [];
    for (let cur = to; parent[cur] >= 0; cur = this.program.edgeFrom[parent[cur]]) path.push(parent[cur]);
    return path.reverse();
  }

  /** For each edge, the index of the call in its caller that produced it (-1 for edges without one). */
  edgeCallIndex(): Int32Array {
    return edgeCallIndex(this.program);
  }

  /**
   * Whether a path (edge indices) only takes a call through a function's own parameter
   * (`step(arg)` in `run_guarded`) to a function the call that entered it passed there. The first
   * hop's function was entered from outside the path: anything may have been passed.
   */
  feasible(path: readonly number[]): boolean {
    const calls = edgeCallIndex(this.program);
    const paramCalls = parameterCalls(this.program);
    for (let i = 1; i < path.length; i++) {
      const ei = path[i];
      const fn = this.program.edgeFrom[ei];
      if (!paramCalls[fn]?.has(calls[ei])) continue;
      const prev = path[i - 1];
      const passed = boundParameterCalls(this.program, this.program.edgeFrom[prev], calls[prev], fn)?.get(calls[ei]);
      if (passed && !passed.has(this.program.edgeTo[ei])) return false;
    }
    return true;
  }

  /**
   * `shortestPath`, but only along paths that are `feasible`: when the plain shortest path is not,
   * a search over (function, what its parameter calls are bound to).
   */
  shortestFeasible(from: number, goal: (fn: number) => boolean, allow: (edge: number) => boolean = () => true): { path: number[]; end: number } | null {
    const plain = this.shortestPath(from, goal, allow);
    return !plain || this.feasible(plain.path) ? plain : this.feasibleSearch(from, goal, allow);
  }

  private feasibleSearch(from: number, goal: (fn: number) => boolean, allow: (edge: number) => boolean): { path: number[]; end: number } | null {
    const calls = edgeCallIndex(this.program);
    const paramCalls = parameterCalls(this.program);
    interface State { fn: number; bound: Map<number, Set<number>> | null; edge: number; parent: State | null }
    // Most functions call no parameter: one flag each; the rest are keyed by what is bound.
    const seenPlain = new Uint8Array(this.program.functions.length);
    const seenBound = new Set<string>();
    seenPlain[from] = 1;
    const queue: State[] = [{ fn: from, bound: null, edge: -1, parent: null }];
    for (let qi = 0; qi < queue.length; qi++) {
      const st = queue[qi];
      if (goal(st.fn)) {
        const path: number[] = [];
        for (let cur: State | null = st; cur && cur.edge >= 0; cur = cur.parent) path.push(cur.edge);
        return { path: path.reverse(), end: st.fn };
      }
      for (const ei of this.out[st.fn]) {
        if (!allow(ei)) continue;
        const t = this.program.edgeTo[ei];
        const only = st.bound?.get(calls[ei]);
        if (only && !only.has(t)) continue;
        const bound = paramCalls[t] ? boundParameterCalls(this.program, st.fn, calls[ei], t) : null;
        if (bound) {
          const key = boundKey(t, bound);
          if (seenBound.has(key)) continue;
          seenBound.add(key);
        } else {
          if (seenPlain[t]) continue;
          seenPlain[t] = 1;
        }
        queue.push({ fn: t, bound, edge: ei, parent: st });
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
