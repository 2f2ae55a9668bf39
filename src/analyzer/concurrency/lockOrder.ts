import type { Site } from '../graph';
import type { LinkedProgram } from '../link/linker';
import type { Stmt } from '../model';
import type { LockApi } from '../profile/profile';
import { shortName } from '../report/formats';
import { stableId } from './stableId';
import { FREE, HELD } from './lockState';
import type { LockStateAnalysis, ThreadContext } from './lockState';
import { describeLock, globalLockKey, modesConflict } from './lockOps';
import type { LockOps } from './lockOps';
import type { LockSets, OrderEdge } from './lockSets';
import { StatePaths } from './statePaths';
import { splitKm } from './lockSets';
import { pathFromAny } from './syncGraph';
import { edgeCallIndex, entryOf } from './programLookups';
import type { SyncGraph } from './syncGraph';
import type { Finding, LockMode, PathHop, ThreadTrace } from './types';

/** A thread context for lock order: the main thread (every entry point) or one thread root. */
export interface LockContext {
  id: string;
  root: number | null;
  starts: number[];
  reached: Uint8Array;
  /** Several threads run this root at once (created in a loop, or at several sites): it can race with itself. */
  multiInstance: boolean;
}

/** A global lock's per-context states (the GIL: held from every entry point). */
export interface GlobalLockStates { lock: LockApi; analysis: LockStateAnalysis; contexts: ThreadContext[] }

/** A path on which a context holds a global lock at a call, and the call on it that took the lock (null: held from the start). */
interface HeldWitness { start: number; path: number[]; taken: { function: string; site: Site } | null }

/** One order edge as it occurs in one context. */
interface Occurrence {
  edge: OrderEdge;
  ctx: LockContext;
  /** Locks (`key#mode`) held at the same time, locally or by the context: a shared one is a gate. */
  gates: string[];
}

const MAX_COMBINATIONS = 2000;
/** Longest lock cycle searched (Infer stops at two; rings of three or four threads are still plausible). */
const MAX_CYCLE_LOCKS = 4;
const MAX_CYCLE_SEARCH_STEPS = 200_000;

export function lockContexts(program: LinkedProgram, graph: SyncGraph): LockContext[] {
  const reach = (starts: number[]): Uint8Array => {
    const r = new Uint8Array(program.functions.length);
    const stack = [...starts];
    for (const s of starts) r[s] = 1;
    while (stack.length) {
      const f = stack.pop()!;
      for (const ei of graph.out[f]) {
        const t = program.edgeTo[ei];
        if (!r[t]) { r[t] = 1; stack.push(t); }
      }
    }
    return r;
  };
  const out: LockContext[] = [];
  const entries = program.functions.map((f, i) => (f.entry?.length ? i : -1)).filter((i) => i >= 0);
  if (entries.length) out.push({ id: 'entries', root: null, starts: entries, reached: reach(entries), multiInstance: false });
  program.functions.forEach((f, i) => {
    if (!f.threadRoot) return;
    out.push({ id: f.id, root: i, starts: [i], reached: reach([i]), multiInstance: f.threadRoot.length > 1 || f.threadRoot.some((t) => createdInLoop(program, t.site)) });
  });
  return out;
}

/** Whether a thread-creating call sits inside a loop of its function (a pool of identical threads). */
function createdInLoop(program: LinkedProgram, site: Site): boolean {
  const fn = program.functions.findIndex((f) => f.defined && f.file === site.file && (f.line ?? 0) <= site.line && site.line <= (f.endLine ?? 0));
  const facts = program.facts[fn];
  if (!facts) return false;
  const inLoop = (stmts: readonly Stmt[], loop: boolean): boolean => stmts.some((st) => {
    switch (st.s) {
      case 'call': return loop && facts.calls[st.call].site.line === site.line;
      case 'loop': return inLoop(st.cond, true) || inLoop(st.body, true);
      case 'if': return inLoop(st.cond, loop) || inLoop(st.then, loop) || inLoop(st.else, loop);
      case 'switch': return inLoop(st.cond, loop) || st.cases.some((c) => inLoop(c, loop));
      case 'return': return inLoop(st.value, loop);
      default: return false;
    }
  });
  return inLoop(facts.body, false);
}

/**
 * Lock-order deadlocks: "B taken while holding A" in one thread context and "A taken while
 * holding B" in another that can run at the same time, in modes that exclude each other, with
 * no common gate lock. Global locks take part like any lock; a lock the context holds from its
 * start (the GIL in every entry point) counts as held at every call made under it.
 */
export class LockOrderChecker {
  private readonly occurrences: Occurrence[] = [];
  /** The cycle search ran out of budget: some cycles may be missing. */
  truncated = false;

  constructor(
    private readonly program: LinkedProgram,
    private readonly graph: SyncGraph,
    private readonly ops: LockOps,
    private readonly sets: LockSets,
    private readonly contexts: LockContext[],
    private readonly globals: GlobalLockStates[],
  ) {
    for (const e of sets.edges) {
      for (const ctx of contexts) {
        if (!ctx.reached[e.fn]) continue;
        if (this.alreadyHeld(ctx, e.fn, e.call, e.to)) continue;
        if (this.onlyRestoresNothing(ctx, e)) continue;
        this.occurrences.push({ edge: e, ctx, gates: [...e.gates, ...this.globalGates(ctx, e.fn, e.call, [e.from, e.to])] });
      }
    }
    this.addContextHeldEdges();
  }

  /**
   * Whether the global lock `key`, taken at a call, is already held there on every path in this
   * context: taking it again cannot wait for another thread (for the GIL it never returns, see
   * lockState.ts), so it is no order step. RedisGraph takes the GIL under a run-time check that it
   * is not on Redis' main thread, which reaches the same code from commands holding the GIL.
   */
  private alreadyHeld(ctx: LockContext, fn: number, call: number, key: string): boolean {
    const g = this.globals.find((x) => globalLockKey(x.lock.lock) === key);
    const mask = g?.contexts.find((c) => c.id === ctx.id)?.reached[fn];
    return !!mask && g!.analysis.states(fn, mask).calls[call] === HELD;
  }

  /**
   * Whether every way the edge's call takes the global lock `e.to` goes through the restore of a
   * save that, in this context, released nothing (see `LockStateAnalysis.saveRestore`): RedisGears
   * drops the Python GIL through each plugin's save handler, takes the GIL, then calls the restore
   * handlers, which re-take the Python GIL only if the save dropped it. A thread that did not hold
   * it before the save does not take it after the GIL, so that is no "Python GIL under the GIL" step.
   */
  private onlyRestoresNothing(ctx: LockContext, e: OrderEdge): boolean {
    const h = this.globalStates(e.to, ctx);
    if (!h || this.ops.at[e.fn]?.[e.call]) return false;
    const target = `${e.to}#${e.toMode}`;
    let chains = 0;
    for (const ei of this.program.callEdges[e.fn]?.[e.call] ?? []) {
      const t = this.program.edgeTo[ei];
      if (!this.sets.acquisitions[t]?.has(target)) continue;
      const tail = this.sets.acquisitionPath(e.fn, e.call, t, target);
      if (!tail || !tail.hops.some((step) => this.restoreTakesNothing(h.lock, step.fn, step.call, h.ctx.reached[step.fn]))) return false;
      chains++;
    }
    return chains > 0;
  }

  /**
   * Whether call `call` of `fn`, entered with the lock in `entry`, is the restore of saves that
   * all ran without the lock (so released nothing): then the restore takes nothing back.
   */
  private restoreTakesNothing(g: GlobalLockStates, fn: number, call: number, entry: number): boolean {
    const a = g.analysis;
    if (!entry || a.pairing(fn, call) !== 'acquire' || a.saveRestore(fn, call, 'acquire') !== 'restore') return false;
    const before = a.states(fn, entry).calls;
    let saves = 0;
    for (let c = 0; c < call; c++) {
      if (a.pairing(fn, c) !== 'release' || a.saveRestore(fn, c, 'release') !== 'save') continue;
      if (before[c] & HELD) return false;
      saves++;
    }
    return saves > 0;
  }

  /** Global locks held on every path at a call in this context: gates. */
  private globalGates(ctx: LockContext, fn: number, call: number, exclude: string[]): string[] {
    const out: string[] = [];
    for (const g of this.globals) {
      const key = globalLockKey(g.lock.lock);
      if (exclude.includes(key)) continue;
      const gctx = g.contexts.find((c) => c.id === ctx.id);
      const mask = gctx?.reached[fn];
      if (mask && g.analysis.states(fn, mask).calls[call] === HELD) out.push(`${key}#exclusive`);
    }
    return out;
  }

  /** "B taken while a global lock is held since the context started" (the GIL in an entry point). */
  private addContextHeldEdges(): void {
    for (const g of this.globals) {
      const key = globalLockKey(g.lock.lock);
      for (const gctx of g.contexts) {
        const ctx = this.contexts.find((c) => c.id === gctx.id);
        if (!ctx) continue;
        for (const fn of this.ops.functions) {
          const mask = gctx.reached[fn];
          if (!mask) continue;
          const st = g.analysis.states(fn, mask);
          (this.ops.at[fn] ?? []).forEach((ops, c) => {
            if (!ops || !(st.calls[c] & HELD)) return;
            for (const o of ops) {
              if (o.op !== 'acquire' || o.key === key || o.key.startsWith('P:')) continue;
              // Taken in this very function after a local acquire: already a local edge.
              const local = this.sets.heldAtOps.get(fn)?.get(c) ?? [];
              if (local.some((k) => splitKm(k).key === key)) continue;
              // Only where some path of this context really holds it there (the evidence shows that path).
              if (!this.heldWitness(key, ctx, fn, c, this.globalStates(o.key, ctx) ? o.key : undefined)) continue;
              const edge: OrderEdge = { from: key, fromMode: 'exclusive', to: o.key, toMode: o.mode, fn, holdCall: -1, call: c, gates: local.filter((k) => splitKm(k).key !== o.key) };
              this.occurrences.push({ edge, ctx, gates: [...edge.gates, ...this.globalGates(ctx, fn, c, [key, o.key])] });
            }
          });
        }
      }
    }
  }

  findings(): Finding[] {
    const byEdge = new Map<string, Occurrence[]>();
    const successors = new Map<string, Set<string>>();
    for (const o of this.occurrences) {
      const k = `${o.edge.from}\u0000${o.edge.to}`;
      const list = byEdge.get(k);
      if (list) list.push(o);
      else byEdge.set(k, [o]);
      let next = successors.get(o.edge.from);
      if (!next) successors.set(o.edge.from, (next = new Set()));
      next.add(o.edge.to);
    }
    const rank = (o: Occurrence) => (o.ctx.root === null ? 0 : 1);
    for (const list of byEdge.values()) list.sort((x, y) => rank(x) - rank(y));
    const out: Finding[] = [];
    // Every simple cycle once: from its smallest lock, through larger ones only. A dense lock graph
    // could make this explode, so the search has a budget; running out is reported in the summary.
    let steps = 0;
    for (const start of [...successors.keys()].sort()) {
      const stack = [start];
      const visit = (node: string): void => {
        for (const next of [...(successors.get(node) ?? [])].sort()) {
          if (++steps > MAX_CYCLE_SEARCH_STEPS) { this.truncated = true; return; }
          if (next === start) {
            if (stack.length >= 2) {
              const chosen = this.deadlockingThreads(stack.map((k, i) => byEdge.get(`${k}\u0000${stack[(i + 1) % stack.length]}`)!));
              if (chosen) {
                // The main thread's side first: it is where users look (and where the GIL is held).
                const first = Math.max(0, chosen.findIndex((o) => rank(o) === 0));
                const f = this.finding([...chosen.slice(first), ...chosen.slice(0, first)]);
                if (f) out.push(f);
              }
            }
            continue;
          }
          if (next < start || stack.includes(next) || stack.length >= MAX_CYCLE_LOCKS) continue;
          stack.push(next);
          visit(next);
          stack.pop();
        }
      };
      visit(start);
    }
    return out;
  }

  /**
   * One occurrence per edge of a lock cycle such that the threads can all run at once, each one's
   * request conflicts with the next one's hold (not both readers), and no two share a gate lock.
   */
  private deadlockingThreads(edges: Occurrence[][]): Occurrence[] | null {
    let budget = MAX_COMBINATIONS;
    const chosen: Occurrence[] = [];
    const pick = (i: number): boolean => {
      if (i === edges.length) {
        // The last thread requests what the first one holds.
        return modesConflict(chosen[i - 1].edge.toMode, chosen[0].edge.fromMode);
      }
      for (const o of edges[i]) {
        if (--budget < 0) return false;
        if (i > 0 && !modesConflict(chosen[i - 1].edge.toMode, o.edge.fromMode)) continue;
        if (chosen.some((c) => !this.concurrent(c.ctx, o.ctx) || this.sharedGate(c.gates, o.gates))) continue;
        chosen.push(o);
        if (pick(i + 1)) return true;
        chosen.pop();
      }
      return false;
    };
    return pick(0) ? chosen : null;
  }

  private concurrent(a: LockContext, b: LockContext): boolean {
    if (a !== b) return true;
    return a.root !== null && a.multiInstance;
  }

  private sharedGate(a: string[], b: string[]): boolean {
    for (const ga of a) {
      const x = splitKm(ga);
      for (const gb of b) {
        const y = splitKm(gb);
        if (x.key === y.key && modesConflict(x.mode, y.mode)) return true;
      }
    }
    return false;
  }

  private finding(cycle: Occurrence[]): Finding | null {
    const traces: ThreadTrace[] = [];
    for (const o of cycle) {
      const t = this.trace(o);
      if (!t) return null;
      traces.push(t);
    }
    const who = (t: ThreadTrace) => (t.context === 'entries' ? `the main thread (${shortName(t.entry.function)}, ${t.entry.kind})` : `thread ${shortName(t.context)}`);
    const mode = (m: LockMode) => (m === 'exclusive' ? '' : ` (${m})`);
    const sides = traces.map((t) => `${who(t)} holds ${t.holds.lock}${mode(t.holds.mode)} and takes ${t.acquires.lock}${mode(t.acquires.mode)} in ${shortName(t.acquires.function)}`);
    const locks = cycle.map((o) => o.edge.from);
    const identities = locks.map((k) => `${describeLock(k).name} is ${describeLock(k).identity}`).join('; ');
    const message = cycle.length === 2
      ? `lock-order inversion: ${sides[0]}, while ${sides[1]}; each can wait for the other forever. Lock identity: ${identities}`
      : `lock-order cycle of ${cycle.length} locks: ${sides.join('; ')}; each waits for the next forever. Lock identity: ${identities}`;
    const first = locks.indexOf([...locks].sort()[0]);
    const canonical = [...locks.slice(first), ...locks.slice(0, first)];
    return {
      id: stableId(['lock-order', ...canonical, ...cycle.map((o) => this.program.functions[o.edge.fn].name).sort()]),
      class: 'lock-order',
      lock: locks.map((k) => describeLock(k).name).join(', '),
      message,
      yielding: false,
      entry: traces[0].entry,
      path: traces[0].path,
      awaited: [],
      sequencedAfter: [],
      threads: traces,
    };
  }

  /**
   * A path from the context's start to `fn` along which the global lock `key` really is held at
   * call `call` — and, given `freeKey` (a global lock the call takes), along which that one is not
   * already held there: taking a lock one holds is no order step — and where `key` was taken on
   * that path (null: held since the context started, the GIL in an entry point). The context's
   * lock states merge every way into a function, so "may be held" at a call can come from one
   * caller while the shortest path comes through another that never took it; this search follows
   * the locks' states per path (function × state of each on entry), so the evidence names a path
   * that holds the lock and the call that took it. Null when no path does (the merged states
   * over-approximated): then there is no such occurrence.
   */
  private heldWitness(key: string, ctx: LockContext, fn: number, call: number, freeKey?: string): HeldWitness | null {
    const g = this.globalStates(key, ctx);
    if (!g || !g.ctx.reached[fn]) return null;
    const h = freeKey !== undefined ? this.globalStates(freeKey, ctx) : null;
    const search = this.statePaths(g, h);
    for (const bit of [FREE, HELD]) {
      if (!(g.lock.analysis.states(fn, bit).calls[call] & HELD)) continue;
      for (const hBit of h ? [FREE, HELD] : [null]) {
        if (h && !(h.lock.analysis.states(fn, hBit!).calls[call] & FREE)) continue;
        const steps = search.pathTo(fn, hBit === null ? [bit] : [bit, hBit]);
        if (!steps) continue;
        const path = steps.slice(1).map((st) => st.edge);
        // The last function on the path entered without the lock took it before the call that led on.
        const last = steps.map((st) => st.bits[0]).lastIndexOf(FREE);
        if (last < 0) return { start: steps[0].fn, path, taken: null };
        const before = last === steps.length - 1 ? call : this.callIndexOf(steps[last + 1].edge);
        const taken = this.takingCall(g.lock, steps[last].fn, before);
        if (taken) return { start: steps[0].fn, path, taken };
      }
    }
    return null;
  }

  private globalStates(key: string, ctx: LockContext): { lock: GlobalLockStates; ctx: ThreadContext } | null {
    const lock = this.globals.find((x) => globalLockKey(x.lock.lock) === key);
    const gctx = lock?.contexts.find((c) => c.id === ctx.id);
    return lock && gctx ? { lock, ctx: gctx } : null;
  }

  /** Paths of the context following `g`'s state (and `h`'s), computed once per pair of locks and context. */
  private statePaths(g: { lock: GlobalLockStates; ctx: ThreadContext }, h: { lock: GlobalLockStates; ctx: ThreadContext } | null): StatePaths {
    const cacheKey = `${globalLockKey(g.lock.lock.lock)}\u0000${h ? globalLockKey(h.lock.lock.lock) : ''}\u0000${g.ctx.id}`;
    let search = this.searches.get(cacheKey);
    if (!search) {
      const starts = g.ctx.root !== null ? [g.ctx.root] : this.contexts.find((c) => c.id === g.ctx.id)?.starts ?? [];
      // A restore of `h` whose saves released nothing on this path takes nothing: not a way to a take of `h`.
      const skip = h ? (fn: number, call: number, bits: readonly number[]) => this.restoreTakesNothing(h.lock, fn, call, bits[1]) : undefined;
      search = new StatePaths(this.program, h ? [g.lock.analysis, h.lock.analysis] : [g.lock.analysis], starts, h ? [g.ctx.entryMask, h.ctx.entryMask] : [g.ctx.entryMask], skip);
      this.searches.set(cacheKey, search);
    }
    return search;
  }

  private readonly searches = new Map<string, StatePaths>();

  /**
   * The call of `fn` (entered without the lock) that took it before call `before`: the nearest
   * one before, else one later in the function (reached again through a loop: a job that may
   * return holding it).
   */
  private takingCall(g: GlobalLockStates, fn: number, before: number): { function: string; site: Site } | null {
    const calls = g.analysis.states(fn, FREE).calls;
    const takes: number[] = [];
    for (let c = 0; c < calls.length; c++) if (calls[c] & FREE && g.analysis.apply(fn, c, FREE) & HELD) takes.push(c);
    const c = [...takes].reverse().find((x) => x < before) ?? takes[0];
    return c === undefined ? null : { function: this.program.functions[fn].id, site: this.program.facts[fn]!.calls[c].site };
  }

  private callIndexOf(ei: number): number {
    return (this.callIndex ??= edgeCallIndex(this.program))[ei];
  }

  private callIndex: Int32Array | undefined;

  /** One thread's side: from its start to where it holds the first lock and takes the second. */
  private trace(o: Occurrence): ThreadTrace | null {
    const e = o.edge;
    const witness = e.holdCall < 0 ? this.heldWitness(e.from, o.ctx, e.fn, e.call, this.globalStates(e.to, o.ctx) ? e.to : undefined) : null;
    const head = witness ?? pathFromAny(this.program, this.graph, o.ctx.starts, e.fn);
    if (!head) return null;
    const f = this.program.facts[e.fn]!;
    const ops = this.ops.at[e.fn]?.[e.call];
    let tail: { hops: { edge: number }[]; fn: number; call: number } | null;
    if (ops) {
      tail = { hops: [], fn: e.fn, call: e.call };
    } else {
      tail = null;
      const target = `${e.to}#${e.toMode}`;
      const targets = (this.program.callEdges[e.fn]?.[e.call] ?? []).map((ei) => this.program.edgeTo[ei]);
      // A callee that takes the lock itself first; one that takes a lock its caller passes only
      // after (of `lock_fns.lock(&l)`'s targets, the one acquiring `d->wrapped` is the evidence for
      // `debug_lock.wrapped`, not the POSIX one that takes its parameter).
      for (const t of targets) {
        if (!this.sets.acquisitions[t]?.has(target)) continue;
        tail = this.sets.acquisitionPath(e.fn, e.call, t, target);
        if (tail) break;
      }
      for (const t of tail ? [] : targets) {
        const viaParam = [...(this.sets.acquisitions[t]?.keys() ?? [])].find((k) => k.startsWith('P:') && k.endsWith(`#${e.toMode}`));
        if (!viaParam) continue;
        tail = this.sets.acquisitionPath(e.fn, e.call, t, viaParam);
        if (tail) break;
      }
      if (!tail) return null;
    }
    const start = head.start;
    const entry = entryOf(this.program, start, o.ctx.root !== null);
    const heldSince = e.holdCall >= 0 ? { function: this.program.functions[e.fn].id, site: f.calls[e.holdCall].site }
      : witness?.taken ?? { function: this.program.functions[start].id, site: entry.site };
    const acqFacts = this.program.facts[tail.fn]!;
    return {
      context: o.ctx.id,
      entry,
      path: [...head.path, ...tail.hops.map((h) => h.edge)].map((ei) => ({ ...this.program.edges[ei] }) as PathHop),
      holds: { lock: describeLock(e.from).name, mode: e.fromMode, ...heldSince },
      acquires: { lock: describeLock(e.to).name, mode: e.toMode, function: this.program.functions[tail.fn].id, site: acqFacts.calls[tail.call].site },
    };
  }

}
