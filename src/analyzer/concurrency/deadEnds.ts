import type { LinkedProgram } from '../link/linker';
import { linkProfile } from '../link/linker';
import type { Stmt } from '../model';

/**
 * Calls made on the way to an abnormal end of the process, which the concurrency analysis does
 * not follow.
 *
 * A call is a dead end when the process cannot get past it: its callees never return (`abort`,
 * an assertion failure, the profile's `noReturn` list; `exit(1)` with a failure status; defined
 * functions whose every path ends in one), or every path from it ends in such a call before the
 * function returns — `serverPanic(msg)` (`_serverPanic(…), __builtin_unreachable()`),
 * `log_fatal(…); abort();`. `exit(0)` may be a normal shutdown: its joins still count. What such a call runs
 * is a crash report: the locks it takes and the waits it makes happen while the process dies,
 * and following them joins every crash handler to every path that can fail an assertion (in
 * Redis' own tree, every lock-order finding went through the OOM handler's crash report). The
 * call graph (`trace`, `graph`, the call hierarchy) keeps these edges; only lock states,
 * contexts, waits and lock order leave them out.
 */
export interface DeadEnds {
  /** Per edge: 1 when it leaves a dead-end call. */
  edges: Uint8Array;
  /** Calls that are dead ends (for the summary). */
  calls: number;
  /** Defined functions found never to return. */
  noReturnFunctions: number[];
}

const cache = new WeakMap<LinkedProgram, DeadEnds>();

/** What never returns: the profile's `noReturn` and `exits` lists. */
export interface NoReturnApis { noReturn: readonly string[]; exits: readonly string[] }

/** The program's dead ends, computed once (with `apis`, else those of the profile it was linked with). */
export function deadEnds(program: LinkedProgram, apis?: NoReturnApis): DeadEnds {
  let d = cache.get(program);
  if (!d) cache.set(program, (d = computeDeadEnds(program, apis ?? linkProfile(program) ?? { noReturn: [], exits: [] })));
  return d;
}

/** `exit(1)`, `_exit(EXIT_FAILURE)`: a status that says the program failed. */
const FAILURE_STATUS = /^\(*\s*(?:-?[1-9]\d*|0x0*[1-9a-f][0-9a-f]*|EXIT_FAILURE)\s*\)*$/i;

export function computeDeadEnds(program: LinkedProgram, apis: NoReturnApis): DeadEnds {
  const names = new Set(apis.noReturn);
  const exits = new Set(apis.exits);
  const n = program.functions.length;
  const dies = new Uint8Array(n);
  program.functions.forEach((f, i) => { if (!program.facts[i] && names.has(f.name)) dies[i] = 1; });

  const callDies = (fn: number, call: number): boolean => {
    const c = program.facts[fn]!.calls[call];
    const callee = c?.callee;
    if (callee?.k === 'name' && names.has(callee.name)) return true;
    if (callee?.k === 'name' && exits.has(callee.name)) return FAILURE_STATUS.test(c.argTexts[0] ?? '');
    const edges = program.callEdges[fn]?.[call] ?? [];
    let any = false;
    for (const ei of edges) {
      if (!dies[program.edgeTo[ei]]) return false;
      any = true;
    }
    return any;
  };

  /** Whether the point before `stmts` inevitably reaches a call that never returns, given `k` for the point after; notes doomed calls. */
  const walk = (fn: number, stmts: readonly Stmt[], k: boolean, doomed: number[] | null): boolean => {
    for (let i = stmts.length - 1; i >= 0; i--) k = step(fn, stmts[i], k, doomed);
    return k;
  };
  const step = (fn: number, st: Stmt, k: boolean, doomed: number[] | null): boolean => {
    switch (st.s) {
      case 'call':
        if (k && doomed) doomed.push(st.call);
        return k || callDies(fn, st.call);
      case 'if': {
        const then = walk(fn, st.then, k, doomed);
        const otherwise = walk(fn, st.else, k, doomed);
        return walk(fn, st.cond, then && otherwise, doomed);
      }
      case 'return':
        // Returning is surviving (the caller decides what happens next).
        return walk(fn, st.value, false, doomed);
      case 'loop': {
        // What runs after an iteration or after the loop is not followed: only a condition that
        // always dies (or a do-body) dooms the loop as a whole.
        const body = walk(fn, st.body, false, doomed);
        const cond = walk(fn, st.cond, false, doomed);
        return st.kind === 'do' ? body : cond;
      }
      case 'switch':
        for (const c of st.cases) walk(fn, c, false, doomed);
        return walk(fn, st.cond, false, doomed);
      case 'label':
        return k;
      default:
        // break, continue, goto: they leave for somewhere this walk does not follow.
        return false;
    }
  };

  // Only a function with a call into something that never returns can have dead ends, or die
  // itself: start from the callers of the known ones and grow through callers of new ones.
  const mayDie = new Set<number>();
  const queue: number[] = [];
  const consider = (fn: number) => {
    if (program.facts[fn] && !mayDie.has(fn)) { mayDie.add(fn); queue.push(fn); }
  };
  program.facts.forEach((f, fn) => {
    if (f?.calls.some((c) => c.callee.k === 'name' && (names.has(c.callee.name) || exits.has(c.callee.name)))) consider(fn);
  });
  dies.forEach((d, f) => { if (d) for (const ei of program.in[f] ?? []) consider(program.edgeFrom[ei]); });
  while (queue.length) {
    const fn = queue.pop()!;
    if (dies[fn] || !walk(fn, program.facts[fn]!.body, false, null)) continue;
    dies[fn] = 1;
    for (const ei of program.in[fn] ?? []) {
      const caller = program.edgeFrom[ei];
      if (mayDie.has(caller)) queue.push(caller);
      else consider(caller);
    }
  }

  const edges = new Uint8Array(program.edges.length);
  let calls = 0;
  for (const fn of mayDie) {
    const doomed: number[] = [];
    walk(fn, program.facts[fn]!.body, false, doomed);
    const facts = program.facts[fn]!;
    for (let c = 0; c < facts.calls.length; c++) if (callDies(fn, c)) doomed.push(c);
    for (const c of new Set(doomed)) {
      const out = program.callEdges[fn]?.[c] ?? [];
      if (out.length) calls++;
      for (const ei of out) edges[ei] = 1;
    }
  }
  const noReturnFunctions: number[] = [];
  dies.forEach((d, f) => { if (d && program.facts[f]) noReturnFunctions.push(f); });
  return { edges, calls, noReturnFunctions };
}
