import type { EntryPoint } from '../graph';
import type { FunctionFacts } from '../model';
import { SYNC_EDGE_KINDS } from '../graph';
import type { LinkedProgram } from '../link/linker';
import type { FindingEntry } from './types';
import { deadEnds } from './deadEnds';

// Small lookups on the linked program that every concurrency pass (waits, lock operations,
// lock order, deferred releases) shares.

/** A call's callee names: the functions its edges resolve to, then the name as written. */
export function calleeNames(program: LinkedProgram, fn: number, call: number): string[] {
  const names = (program.callEdges[fn]?.[call] ?? []).map((ei) => program.functions[program.edgeTo[ei]].name);
  const c = program.facts[fn]!.calls[call];
  if (c.callee.k === 'name') names.push(c.callee.name);
  return [...new Set(names)];
}

/** How a finding names where its thread starts: an entry point's registration, or a thread's creation. */
export function entryOf(program: LinkedProgram, start: number, threadRoot: boolean): FindingEntry {
  const f = program.functions[start];
  if (threadRoot || !f.entry?.length) {
    const t = f.threadRoot?.[0];
    return { function: f.id, kind: 'thread-root', api: t?.api ?? 'thread', site: t?.site ?? { file: f.file ?? '', line: f.line ?? 0, col: f.col ?? 0 } };
  }
  const e: EntryPoint = f.entry.find((x) => x.kind !== 'main') ?? f.entry[0];
  return { function: f.id, kind: e.kind, api: e.api, site: e.site, ...(e.name ? { name: e.name } : {}) };
}

/**
 * Whether a function increments shared state (`depth++` on a thread-local, `lh->lockCounter++`):
 * a lock wrapper that does counts its thread's holding, so it skips the lock only when the thread
 * holds it already (the lock-state and lock-set analyses both rely on this).
 */
export function countsDepth(program: LinkedProgram, fn: number): boolean {
  return (program.facts[fn]?.writes ?? []).some((w) => w.delta === 1 && w.loc.k !== 'local');
}

const followedCache = new WeakMap<LinkedProgram, boolean[]>();

/**
 * Per edge: whether the concurrency analysis follows it — a call on the caller's thread (direct,
 * macro, indirect; not a hand-off) that is not a dead end on the way to a process exit (deadEnds.ts).
 */
export function followedEdges(program: LinkedProgram): boolean[] {
  let followed = followedCache.get(program);
  if (!followed) {
    const dead = deadEnds(program).edges;
    followed = program.edges.map((e, i) => SYNC_EDGE_KINDS.includes(e.kind) && !dead[i]);
    followedCache.set(program, followed);
  }
  return followed;
}

const syncTargetsCache = new WeakMap<LinkedProgram, number[][][]>();

/**
 * Per function, per call: the functions the call runs on the caller's thread (direct, macro and
 * indirect edges; not hand-offs). Computed once per program: the per-lock state analyses and the
 * lock sets all walk it.
 */
export function syncCallTargets(program: LinkedProgram): readonly (readonly (readonly number[])[])[] {
  let targets = syncTargetsCache.get(program);
  if (!targets) {
    const sync = followedEdges(program);
    targets = program.callEdges.map((calls) => (calls ?? []).map((edges) => {
      const out: number[] = [];
      for (const ei of edges) if (sync[ei]) out.push(program.edgeTo[ei]);
      return out;
    }));
    syncTargetsCache.set(program, targets);
  }
  return targets;
}

const edgeCallCache = new WeakMap<LinkedProgram, Int32Array>();

/** Per edge, the index of the call (in its caller's facts) that produced it; -1 for edges no call made. */
export function edgeCallIndex(program: LinkedProgram): Int32Array {
  let index = edgeCallCache.get(program);
  if (!index) {
    index = new Int32Array(program.edges.length).fill(-1);
    const out = index;
    program.callEdges.forEach((calls) => (calls ?? []).forEach((edges, ci) => { for (const ei of edges) if (out[ei] < 0) out[ei] = ci; }));
    edgeCallCache.set(program, index);
  }
  return index;
}

const parameterCallsCache = new WeakMap<LinkedProgram, (Map<number, number> | undefined)[]>();

/**
 * Per function: its calls through one of its own parameters (`step(arg)`, `(*f)(L, ud)`), as call
 * index → parameter index. A parameter the function assigns is left out: it may hold anything.
 */
export function parameterCalls(program: LinkedProgram): readonly (ReadonlyMap<number, number> | undefined)[] {
  let out = parameterCallsCache.get(program);
  if (!out) {
    out = program.facts.map((facts) => {
      if (!facts) return undefined;
      let calls: Map<number, number> | undefined;
      facts.calls.forEach((c, ci) => {
        if (c.callee.k !== 'ptr' || c.callee.loc.k !== 'local') return;
        const name = c.callee.loc.name;
        const param = facts.params.findIndex((p) => p.name === name);
        if (param < 0) return;
        const assigned = facts.flows.some((f) => f.to.k === 'local' && f.to.name === name) || facts.writes.some((w) => w.loc.k === 'local' && w.loc.name === name);
        if (!assigned) (calls ??= new Map()).set(ci, param);
      });
      return calls;
    });
    parameterCallsCache.set(program, out);
  }
  return out;
}

/** A key for a function entered with its parameter calls bound as `bound` (searches visit each once). */
export function boundKey(fn: number, bound: ReadonlyMap<number, ReadonlySet<number>> | null): string {
  return bound ? `${fn}|${[...bound].map(([c, fs]) => `${c}:${[...fs].sort((a, b) => a - b).join(',')}`).join(';')}` : String(fn);
}

const definitionIndexCache = new WeakMap<LinkedProgram, Map<FunctionFacts, number>>();

/** The index of a defined function in the program, from its facts (as the symbol table gives them). */
export function functionIndexOf(program: LinkedProgram, facts: FunctionFacts): number | undefined {
  let byFacts = definitionIndexCache.get(program);
  if (!byFacts) {
    byFacts = new Map();
    program.facts.forEach((f, i) => { if (f) byFacts!.set(f, i); });
    definitionIndexCache.set(program, byFacts);
  }
  return byFacts.get(facts);
}

/**
 * What a call passes to a callee that calls its parameters: per parameter call of `callee` (its
 * call index), the functions the argument names (`run_guarded(free_step, p)` → {free_step}).
 * Null when the callee calls no parameter, or no argument of such a parameter is a plain list of
 * function names (then any function that reaches the parameter may run, as the points-to says).
 */
export function boundParameterCalls(program: LinkedProgram, caller: number, call: number, callee: number): Map<number, Set<number>> | null {
  const paramCalls = parameterCalls(program)[callee];
  const site = program.facts[caller]?.calls[call];
  if (!paramCalls || !site) return null;
  const file = program.functions[caller].file ?? '';
  let out: Map<number, Set<number>> | null = null;
  for (const [ci, param] of paramCalls) {
    const vals = site.args[param];
    if (!vals?.length || vals.some((v) => v.k !== 'ident')) continue;
    const passed = new Set<number>();
    let named = true;
    for (const v of vals) {
      if (v.k !== 'ident') continue;
      const defs = program.symbols.functionsNamed(v.name, file);
      for (const def of defs) {
        const idx = functionIndexOf(program, def.facts);
        if (idx !== undefined) passed.add(idx);
      }
      // A function outside the tree (only declared) is its external node; any other name (a
      // variable holding a pointer) could hold anything.
      const external = defs.length ? undefined : program.idToIndex.get(program.symbols.globalNamed(v.name, file) ? '' : v.name);
      if (external !== undefined && !program.functions[external].defined) passed.add(external);
      else if (!defs.length) named = false;
    }
    if (named && passed.size) (out ??= new Map()).set(ci, passed);
  }
  return out;
}
