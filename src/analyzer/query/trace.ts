import type { Edge, EdgeKind, FunctionNode } from '../graph';
import { LockpathError } from '../errors';
import type { LinkedProgram } from '../link/linker';
import { resolveFunction, suggest } from './resolveName';

export const DEFAULT_TRACE_KINDS: readonly EdgeKind[] = ['direct', 'macro', 'indirect', 'handoff'];

export interface TraceRequest {
  from: string;
  to: string;
  /** Waypoints in order: function names, or names of macros some edge of the path expands. */
  via?: string[];
  maxPaths?: number;
  edgeKinds?: readonly EdgeKind[];
  /** Paths up to this many hops longer than the shortest are also reported. */
  slack?: number;
}

export interface TraceHop { edge: Edge; to: FunctionNode }

export interface TracePath { start: FunctionNode; hops: TraceHop[] }

export interface TraceResult {
  from: FunctionNode;
  to: FunctionNode;
  via: { name: string; kind: 'function' | 'macro' }[];
  paths: TracePath[];
}

type Waypoint = { kind: 'function'; index: number; name: string } | { kind: 'macro'; name: string };

/**
 * Paths from → (via…) → to, shortest first. The search runs on (function, waypoints passed)
 * states, so a macro waypoint is satisfied by an edge whose call is in that macro's expansion.
 */
export function trace(program: LinkedProgram, req: TraceRequest): TraceResult {
  const from = resolveFunction(program, req.from);
  const to = resolveFunction(program, req.to);
  const waypoints = (req.via ?? []).map((v) => waypoint(program, v));
  const kinds = new Set(req.edgeKinds ?? DEFAULT_TRACE_KINDS);
  const maxPaths = req.maxPaths ?? 5;
  const W = waypoints.length;
  const nFns = program.functions.length;
  const state = (fn: number, passed: number) => passed * nFns + fn;

  const advance = (passed: number, edge: Edge, target: number): number => {
    let p = passed;
    // A macro waypoint is passed by the edge itself; a function waypoint by arriving at it.
    while (p < W) {
      const w = waypoints[p];
      if (w.kind === 'macro' && edge.macro === w.name) p++;
      else if (w.kind === 'function' && w.index === target) p++;
      else break;
    }
    return p;
  };

  // Backward BFS over states gives each state's distance to the goal, for pruning.
  const goal = state(to, W);
  const dist = new Map<number, number>([[goal, 0]]);
  const queue = [goal];
  for (let qi = 0; qi < queue.length; qi++) {
    const s = queue[qi];
    const fn = s % nFns;
    const passed = Math.floor(s / nFns);
    for (const ei of program.in[fn]) {
      const e = program.edges[ei];
      if (!kinds.has(e.kind)) continue;
      const src = program.idToIndex.get(e.from)!;
      for (let p = 0; p <= passed; p++) {
        if (advance(p, e, fn) !== passed) continue;
        const ps = state(src, p);
        if (!dist.has(ps)) {
          dist.set(ps, dist.get(s)! + 1);
          queue.push(ps);
        }
      }
    }
  }
  let startPassed = 0;
  while (startPassed < W && waypoints[startPassed].kind === 'function' && (waypoints[startPassed] as { index: number }).index === from) startPassed++;
  const start = state(from, startPassed);
  const result: TraceResult = {
    from: program.functions[from],
    to: program.functions[to],
    via: waypoints.map((w) => ({ name: w.name, kind: w.kind })),
    paths: [],
  };
  const shortest = dist.get(start);
  if (shortest === undefined) return result;

  const found = new Set<string>();
  const slack = req.slack ?? 2;
  for (let budget = shortest; budget <= shortest + slack && result.paths.length < maxPaths; budget++) {
    const path: number[] = [];
    const onPath = new Set<number>([from]);
    const dfs = (s: number, remaining: number): void => {
      if (result.paths.length >= maxPaths) return;
      if (s === goal) {
        if (remaining === 0) {
          const key = path.join(',');
          if (!found.has(key)) {
            found.add(key);
            result.paths.push({
              start: program.functions[from],
              hops: path.map((ei) => ({ edge: program.edges[ei], to: program.functions[program.idToIndex.get(program.edges[ei].to)!] })),
            });
          }
        }
        return;
      }
      const fn = s % nFns;
      const passed = Math.floor(s / nFns);
      for (const ei of program.out[fn]) {
        const e = program.edges[ei];
        if (!kinds.has(e.kind)) continue;
        const target = program.idToIndex.get(e.to)!;
        if (onPath.has(target)) continue;
        const ns = state(target, advance(passed, e, target));
        const d = dist.get(ns);
        if (d === undefined || d > remaining - 1) continue;
        path.push(ei);
        onPath.add(target);
        dfs(ns, remaining - 1);
        onPath.delete(target);
        path.pop();
      }
    };
    dfs(start, budget);
  }
  return result;
}

function waypoint(program: LinkedProgram, name: string): Waypoint {
  const isFunction = program.functions.some((f) => f.name === name || f.id === name);
  if (isFunction) return { kind: 'function', index: resolveFunction(program, name), name };
  if (program.macroNames.has(name) || program.edges.some((e) => e.macro === name)) return { kind: 'macro', name };
  throw new LockpathError(`--via '${name}' is neither a function nor a macro${suggest([...program.functions.map((f) => f.name), ...program.macroNames], name)}`);
}
