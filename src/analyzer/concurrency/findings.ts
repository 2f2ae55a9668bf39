import { stableId } from './stableId';
import type { Site } from '../graph';
import type { LinkedProgram } from '../link/linker';
import type { LockApi, Profile } from '../profile/profile';
import { awaitedName, describeOtherPools, describePoolCaveat, shortName } from '../report/formats';
import { FREE, HELD, LockStateAnalysis, describeMask } from './lockState';
import type { Mask, ThreadContext } from './lockState';
import { WaitFinder } from './waits';
import { Releasers } from './releasers';
import type { Release } from './releasers';
import { SyncGraph, pathFromAny } from './syncGraph';
import { StatePaths } from './statePaths';
import { deadEnds } from './deadEnds';
import { ObjectFlows } from './objectFlows';
import { PoolInstances, poolName } from './poolInstances';
import { entryOf } from './programLookups';
import { callersOf } from '../link/reach';
import { callsSequencedAfter } from './sequence';
import type { Stmt } from '../model';
import type { WaitSite } from './waits';
import type { AwaitedThread, BlockingSummary, Finding, FindingClass, FindingsSummary, LocksSummary, PathHop, PoolCaveat, SequencedAfter } from './types';
import { FINDING_CLASSES, findingSite } from './types';
import { LockOps, describeLock, globalLockKey } from './lockOps';
import { LockSets } from './lockSets';
import { LockOrderChecker, lockContexts } from './lockOrder';
import type { GlobalLockStates } from './lockOrder';
import { deferredReleaseFindings } from './deferredRelease';
import type { WaitKind } from '../profile/profile';

const isChannel = (k: WaitKind): boolean => k === 'channel-send' || k === 'channel-receive';

export interface ConcurrencyResult {
  findings: Finding[];
  summary: FindingsSummary;
  /** Functions that may block, keyed by function id. */
  mayBlock: Map<string, BlockingSummary>;
  /** Every thread context per lock: `entries` (main thread, entry points) or a thread root; entry mask per function. */
  contexts: { lock: string; id: string; root: number | null; reached: Uint8Array; heldEdges: (edge: number) => boolean }[];
}

/** Most findings one (entry, wait) pair may produce, one per distinct dispatch target. */
const MAX_BRANCHES = 20;
const MAX_REACHES = 25;

/** Phase timings on stderr under LOCKPATH_DEBUG (the pass's total is in the summary either way). */
function phaseTimer(): (label: string) => void {
  if (!process.env.LOCKPATH_DEBUG) return () => undefined;
  let last = performance.now();
  return (label) => {
    const now = performance.now();
    console.error(`lockpath: concurrency: ${label} ${Math.round(now - last)} ms`);
    last = now;
  };
}

export function analyzeConcurrency(program: LinkedProgram, profile: Profile): ConcurrencyResult {
  const started = performance.now();
  const phase = phaseTimer();
  // Before anything walks the calls: which of them lead only to a process exit (not followed).
  const dead = deadEnds(program, profile);
  const graph = new SyncGraph(program);
  const waitFinder = new WaitFinder(program, profile);
  const flows = new ObjectFlows(program, profile.threadCreators);
  const releasers = new Releasers(program, profile, waitFinder);
  const pools = new PoolInstances(program, flows);
  // A pipe or socket write is a wait only where another thread drains that channel.
  const waits = waitFinder.find().filter((w) => !isChannel(w.kind) || releasers.of(w).length > 0);
  phase('waits and releasers');
  const lockOpsStarted = performance.now();
  const lockOps = new LockOps(program, profile, (fn, call) => waitFinder.tryLockRetry(fn, call).blocks);
  const lockOpsMs = performance.now() - lockOpsStarted;
  const findings: Finding[] = [];
  let contexts = 0;
  const contextInfo: ConcurrencyResult['contexts'] = [];
  const globalStates: GlobalLockStates[] = [];
  const usedLocks = new Set(lockOps.functions.flatMap((f) => (lockOps.at[f] ?? []).flatMap((ops) => (ops ?? []).map((o) => o.key))));
  for (const lock of profile.locks) {
    // A lock nothing takes and no entry holds (the Python GIL in a tree without Python) has no states.
    if (!lock.heldByEntries && !usedLocks.has(globalLockKey(lock.lock))) continue;
    const analysis = new LockStateAnalysis(program, lock);
    const builder = new FindingBuilder(program, graph, analysis, releasers, waitFinder, lock, pools);
    phase('lock operations');
    const ctxs = builder.buildContexts();
    phase(`${lock.lock}: thread contexts`);
    contexts += ctxs.length;
    globalStates.push({ lock, analysis, contexts: ctxs });
    for (const c of ctxs) contextInfo.push({ lock: lock.lock, id: c.id, root: c.root, reached: c.reached, heldEdges: builder.heldEdgePredicate(c) });
    for (const ctx of ctxs) {
      for (const w of waits) findings.push(...builder.waitFindings(ctx, w));
      if (lock.requiredBy && ctx.root !== null) findings.push(...builder.requiredApiFindings(ctx));
    }
    phase(`${lock.lock}: findings`);
  }
  const locksStarted = performance.now();
  const lockSets = new LockSets(program, lockOps);
  const lockCtxs = lockContexts(program, graph);
  const orderChecker = new LockOrderChecker(program, graph, lockOps, lockSets, lockCtxs, globalStates);
  findings.push(...orderChecker.findings());
  findings.push(...deferredReleaseFindings(program, graph, lockOps, lockSets, lockCtxs, profile.deferredEntryKinds));
  const locks = { ...locksSummary(program, lockOps, lockSets), ...(orderChecker.truncated ? { cycleSearchTruncated: true } : {}), ms: Math.round(performance.now() - locksStarted + lockOpsMs) };
  phase('lock sets, lock order, deferred releases');
  const unique = dedupe(findings);
  unique.sort((a, b) => FINDING_CLASSES.indexOf(a.class) - FINDING_CLASSES.indexOf(b.class) || cmpSite(findingSite(a), findingSite(b)) || (a.entry.function < b.entry.function ? -1 : 1));
  const counts = Object.fromEntries(FINDING_CLASSES.map((c) => [c, 0])) as Record<FindingClass, number>;
  for (const f of unique) if (!f.suppressed) counts[f.class]++;
  const mayBlock = blockingSummaries(program, graph, waits);
  phase('sort, may-block summaries');
  return {
    findings: unique,
    summary: { counts, locks, suppressed: unique.filter((f) => f.suppressed).length, waits: waits.length, contexts, deadEnds: { calls: dead.calls, noReturnFunctions: dead.noReturnFunctions.length }, concurrencyMs: Math.round(performance.now() - started) },
    mayBlock,
    contexts: contextInfo,
  };
}

function locksSummary(program: LinkedProgram, ops: LockOps, sets: LockSets): Omit<LocksSummary, 'ms'> {
  const byKey = new Map<string, number>();
  const count = (key: string) => { if (!key.startsWith('P:')) byKey.set(key, (byKey.get(key) ?? 0) + 1); };
  for (const fn of ops.functions) for (const list of ops.at[fn] ?? []) for (const o of list ?? []) count(o.key);
  const wrappers = sets.wrappers();
  // A lock passed to a wrapper as a parameter is operated on at each of the wrapper's call sites.
  for (const w of wrappers) {
    if (!w.key.startsWith('P:')) continue;
    for (const ei of program.in[w.fn]) {
      const caller = program.edgeFrom[ei];
      const ci = (program.callEdges[caller] ?? []).findIndex((list) => list.includes(ei));
      if (ci >= 0) for (const k of ops.substitute(w.key, caller, ci)) count(k);
    }
  }
  return {
    locks: [...byKey].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([key, operations]) => ({ lock: describeLock(key).name, identity: describeLock(key).identity, operations })),
    wrappers: wrappers.map((w) => ({ function: program.functions[w.fn].id, lock: describeLock(w.key).name, role: w.role, ...(w.mode ? { mode: w.mode } : {}) })),
    orderEdges: sets.edges.length,
  };
}

/** A function may block if it contains a wait or synchronously calls one that may (reverse reachability). */
function blockingSummaries(program: LinkedProgram, graph: SyncGraph, waits: readonly WaitSite[]): Map<string, BlockingSummary> {
  const out = new Map<string, BlockingSummary>();
  const get = (fn: number): BlockingSummary => {
    const id = program.functions[fn].id;
    let s = out.get(id);
    if (!s) out.set(id, (s = { function: id, own: [], viaCallees: [] }));
    return s;
  };
  for (const w of waits) {
    get(w.fn).own.push({ site: w.site, kind: w.kind, expression: w.expression, bounded: w.bounded });
    const waitName = program.functions[w.fn].id;
    const seen = new Set([w.fn]);
    const queue: { fn: number; through: number }[] = [];
    for (const ei of graph.in[w.fn]) queue.push({ fn: program.edgeFrom[ei], through: w.fn });
    while (queue.length) {
      const { fn, through } = queue.shift()!;
      if (seen.has(fn)) continue;
      seen.add(fn);
      get(fn).viaCallees.push({ wait: waitName, site: w.site, through: program.functions[through].id });
      for (const ei of graph.in[fn]) queue.push({ fn: program.edgeFrom[ei], through: fn });
    }
  }
  return out;
}

function cmpSite(a: Site, b: Site): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col;
}

function dedupe(findings: Finding[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const f of findings) if (!byId.has(f.id)) byId.set(f.id, f);
  return [...byId.values()];
}

class FindingBuilder {
  private readonly rootReach = new Map<number, Set<number>>();
  private readonly takerPath = new Map<number, { path: number[]; end: number } | null>();
  /** Functions that can block taking the lock: they acquire it, or retry a try-lock until it succeeds. */
  private readonly lockTakers: Set<number>;
  /** Functions that only try the lock, giving up when it is held: evidence that a thread does not block on it. */
  private readonly lockTriers: Set<number>;
  private threadRoots: number[] = [];

  constructor(
    private readonly program: LinkedProgram,
    private readonly graph: SyncGraph,
    private readonly analysis: LockStateAnalysis,
    private readonly releasers: Releasers,
    private readonly waits: WaitFinder,
    private readonly lock: LockApi,
    private readonly pools: PoolInstances,
  ) {
    this.lockTakers = new Set();
    this.lockTriers = new Set();
    analysis.roles.forEach((calls, fn) => {
      if (calls.some((_r, ci) => this.blocksTaking(fn, ci))) this.lockTakers.add(fn);
      else if (calls.some((r) => r === 'try')) this.lockTriers.add(fn);
    });
  }

  buildContexts(): ThreadContext[] {
    const entries = this.program.functions.map((f, i) => (f.entry?.some((e) => e.kind !== 'main') ? i : -1)).filter((i) => i >= 0);
    this.threadRoots = this.program.functions.map((f, i) => (f.threadRoot ? i : -1)).filter((i) => i >= 0);
    const ctxs: ThreadContext[] = [];
    if (this.lock.heldByEntries && entries.length) ctxs.push(this.analysis.addContext('entries', null, entries, HELD));
    for (const r of this.threadRoots) ctxs.push(this.analysis.addContext(this.program.functions[r].id, r, [r], FREE));
    for (const r of this.threadRoots) this.rootReach.set(r, this.graph.reachable(r));
    return ctxs;
  }

  /** The lock state before a call in a context. */
  private callState(ctx: ThreadContext, fn: number, call: number): Mask {
    const m = ctx.reached[fn];
    return m ? this.analysis.states(fn, m).calls[call] : 0;
  }

  private waitState(ctx: ThreadContext, w: WaitSite): Mask {
    const m = ctx.reached[w.fn];
    if (!m) return 0;
    const st = this.analysis.states(w.fn, m);
    return w.loop ? st.loops.get(w.loop) ?? 0 : st.calls[w.call!];
  }

  private readonly heldEdges = new Map<ThreadContext, Uint8Array>();

  heldEdgePredicate(ctx: ThreadContext): (ei: number) => boolean {
    return this.heldEdge(ctx);
  }

  /** An edge along which the lock may be held at the call, in this context. */
  private readonly heldPredicates = new Map<ThreadContext, (ei: number) => boolean>();

  private heldEdge(ctx: ThreadContext): (ei: number) => boolean {
    const known = this.heldPredicates.get(ctx);
    if (known) return known;
    let held = this.heldEdges.get(ctx);
    if (!held) {
      held = new Uint8Array(this.program.edges.length);
      ctx.reached.forEach((mask, fn) => {
        if (!mask) return;
        const st = this.analysis.states(fn, mask);
        (this.program.callEdges[fn] ?? []).forEach((edges, c) => { if (st.calls[c] & HELD) for (const ei of edges) held![ei] = 1; });
      });
      this.heldEdges.set(ctx, held);
    }
    const h = held;
    const predicate = (ei: number) => h[ei] === 1;
    this.heldPredicates.set(ctx, predicate);
    return predicate;
  }

  waitFindings(ctx: ThreadContext, w: WaitSite): Finding[] {
    const state = this.waitState(ctx, w);
    if (!(state & HELD)) return [];
    const held = this.heldEdge(ctx);
    // A started thread that waits holding the lock Redis' main thread needs to run at all (the
    // GIL) may be waiting for the main thread itself: a command or callback that releases it.
    const main = ctx.root !== null && this.lock.heldByEntries ? this.mainThreadAwaited(w) : null;
    const awaited = main ? [...this.awaitedThreads(w), main] : this.awaitedThreads(w);
    // A channel no other thread drains is a file or a peer process: not a wait for a thread.
    if (isChannel(w.kind) && !awaited.length) return [];
    // Which entries reach the wait with the lock held, each with its path(s).
    const starts = ctx.root !== null ? [ctx.root] : this.entriesReaching(w.fn, held);
    const out: Finding[] = [];
    for (const start of starts) {
      let paths = this.feasiblePaths(this.branches(start, w.fn, held), start, w.fn, held);
      // A thread starts without the lock and may take it on the way (in the job that waits, say):
      // then the path to the wait is not held all along; follow the lock's state along it instead.
      if (!paths.length && ctx.root !== null) {
        const p = this.pathTakingLockOnTheWay(ctx, w);
        if (p) paths = [p];
      }
      if (!paths.length) continue;
      // One finding per entry and wait: the shortest path, and the other dispatch targets
      // (each setter behind FT.CONFIG, say) through which the entry also gets there.
      paths.sort((a, b) => a.length - b.length);
      // The awaited threads as seen from this path: the pool it waits on can rule some jobs out.
      const evidence = this.samePoolEvidence(awaited, paths[0]);
      const cls: FindingClass = w.bounded ? 'bounded' : evidence.some((a) => a.takesLock) ? 'deadlock-risk' : 'stall';
      const finding = this.finding(ctx, cls, start, paths[0], w, state, evidence, this.alongPath(ctx, paths[0], w));
      const alternatives = [...new Set(paths.slice(1).map((p) => p.map((ei) => this.program.edges[ei]).find((e) => e.kind === 'indirect')?.to).filter((x): x is string => !!x))];
      if (alternatives.length) finding.alsoThrough = alternatives;
      out.push(finding);
    }
    return out;
  }

  /**
   * The shortest path from a thread's root to wait `w` along which the lock's state, followed call
   * by call (each function entered in the state its caller passes), is held at the wait: a pool
   * thread that takes the GIL in a job and waits there. Null when no path holds it at the wait.
   */
  private pathTakingLockOnTheWay(ctx: ThreadContext, w: WaitSite): number[] | null {
    let search = this.statePaths.get(ctx);
    if (!search) this.statePaths.set(ctx, (search = new StatePaths(this.program, [this.analysis], [ctx.root!], [ctx.entryMask])));
    for (const bit of [FREE, HELD]) {
      const st = this.analysis.states(w.fn, bit);
      if (!((w.loop ? st.loops.get(w.loop) ?? 0 : st.calls[w.call!]) & HELD)) continue;
      const steps = search.pathTo(w.fn, [bit]);
      if (steps) return steps.slice(1).map((x) => x.edge);
    }
    return null;
  }

  private readonly statePaths = new Map<ThreadContext, StatePaths>();

  private readonly mainAwaitedCache = new Map<WaitSite, AwaitedThread | null>();

  /**
   * Redis' main thread as a thread `w` waits for: the entry point (command, callback) nearest to a
   * releaser of the wait. It runs entry points only holding the lock (the GIL), so a waiter that
   * holds it keeps the main thread from the release. Not for joins (the main thread is never
   * joined) nor for releases reached only through threads.
   */
  private mainThreadAwaited(w: WaitSite): AwaitedThread | null {
    if (this.mainAwaitedCache.has(w)) return this.mainAwaitedCache.get(w)!;
    let out: AwaitedThread | null = null;
    if (w.kind !== 'join') {
      this.entryPoints ??= this.program.functions.map((f, i) => (f.entry?.some((e) => e.kind !== 'main') ? i : -1)).filter((i) => i >= 0);
      let best: { release: Release; start: number; path: number[] } | null = null;
      for (const { release } of this.releasers.of(w)) {
        const found = pathFromAny(this.program, this.graph, this.entryPoints, release.fn);
        if (found && (!best || found.path.length < best.path.length)) best = { release, ...found };
      }
      if (best) {
        const entry = entryOf(this.program, best.start, false);
        const id = this.program.functions[best.start].id;
        out = {
          threadRoot: id,
          mainThread: true,
          releaser: { function: this.program.functions[best.release.fn].id, site: best.release.site, action: best.release.action },
          pathToReleaser: this.hops(best.path),
          takesLock: { function: id, site: entry.site, path: [] },
        };
      }
    }
    this.mainAwaitedCache.set(w, out);
    return out;
  }

  private entryPoints: number[] | undefined;

  /** Entry points from which the waiting function is reached with the lock held. */
  private entriesReaching(fn: number, held: (ei: number) => boolean): number[] {
    return [...this.reachersOf(fn, held)].filter((f) => this.program.functions[f].entry?.some((e) => e.kind !== 'main')).sort((a, b) => a - b);
  }

  /**
   * Distinct paths worth a finding each: the direct one if the entry reaches the wait without an
   * indirect call, otherwise one per dispatch target (FT.CONFIG → each setter that blocks).
   */
  private branches(start: number, target: number, held: (ei: number) => boolean): number[][] {
    const direct = (ei: number) => held(ei) && this.program.edges[ei].kind !== 'indirect';
    const near = this.nearWithoutIndirect(start, held, direct);
    if (near.has(target)) {
      const p = this.graph.pathIn(this.directTree(start, held, direct), target);
      return p ? [p] : [];
    }
    const out: number[][] = [];
    const seenTargets = new Set<number>();
    const reachers = this.reachersOf(target, held);
    for (const ei of this.indirectOut(held, near)) {
      const t = this.program.edgeTo[ei];
      const f = this.program.edgeFrom[ei];
      {
        if (seenTargets.has(t)) continue;
        seenTargets.add(t);
        // Most dispatch targets never get to this wait: skip them without a search.
        if (!reachers.has(t)) continue;
        const tail = this.graph.shortestPath(t, (x) => x === target, held);
        if (!tail) continue;
        const head = this.graph.pathIn(this.directTree(start, held, direct), f);
        if (!head) continue;
        out.push([...head, ei, ...tail.path]);
        if (out.length >= MAX_BRANCHES) return out;
      }
    }
    return out;
  }

  /**
   * The paths that only call through a function's parameter what the call entering it passed
   * (`SyncGraph.feasible`); if none is, the shortest one that is, or nothing: an entry that calls
   * `run_guarded(free_step, …)` is not attributed the wait in `wait_step` another entry passes.
   */
  private feasiblePaths(paths: number[][], start: number, target: number, held: (ei: number) => boolean): number[][] {
    const ok = paths.filter((p) => this.graph.feasible(p));
    if (ok.length || !paths.length) return ok;
    const p = this.graph.shortestFeasible(start, (f) => f === target, held);
    return p ? [p.path] : [];
  }

  private readonly reachersCache = new Map<(ei: number) => boolean, Map<number, Set<number>>>();

  /** Functions that reach `fn` along edges where the lock is held (per context, per waiting function). */
  private reachersOf(fn: number, held: (ei: number) => boolean): Set<number> {
    let byFn = this.reachersCache.get(held);
    if (!byFn) this.reachersCache.set(held, (byFn = new Map()));
    let r = byFn.get(fn);
    if (!r) byFn.set(fn, (r = callersOf(this.program, [fn], held)));
    return r;
  }

  private readonly indirectCache = new Map<Set<number>, number[]>();

  /** Indirect calls made under the lock from what an entry reaches directly, in reach order. */
  private indirectOut(held: (ei: number) => boolean, near: Set<number>): number[] {
    let list = this.indirectCache.get(near);
    if (!list) {
      list = [];
      for (const f of near) for (const ei of this.graph.out[f]) if (this.program.edges[ei].kind === 'indirect' && held(ei)) list.push(ei);
      this.indirectCache.set(near, list);
    }
    return list;
  }

  private readonly treeCache = new Map<(ei: number) => boolean, Map<number, Int32Array>>();

  /** Shortest paths from an entry without indirect calls, under the lock: one search per entry and context. */
  private directTree(start: number, held: (ei: number) => boolean, direct: (ei: number) => boolean): Int32Array {
    let byStart = this.treeCache.get(held);
    if (!byStart) this.treeCache.set(held, (byStart = new Map()));
    let tree = byStart.get(start);
    if (!tree) byStart.set(start, (tree = this.graph.bfsParents(start, direct)));
    return tree;
  }

  private readonly nearCache = new Map<(ei: number) => boolean, Map<number, Set<number>>>();

  /** What an entry reaches under the lock without an indirect call; the same for every wait of a context. */
  private nearWithoutIndirect(start: number, held: (ei: number) => boolean, direct: (ei: number) => boolean): Set<number> {
    let byStart = this.nearCache.get(held);
    if (!byStart) this.nearCache.set(held, (byStart = new Map()));
    let near = byStart.get(start);
    if (!near) byStart.set(start, (near = this.graph.reachable(start, direct)));
    return near;
  }

  private readonly awaitedCache = new Map<WaitSite, AwaitedThread[]>();

  /** Who releases a wait does not depend on the waiting context: computed once per wait. */
  private awaitedThreads(w: WaitSite): AwaitedThread[] {
    let a = this.awaitedCache.get(w);
    if (!a) this.awaitedCache.set(w, (a = this.computeAwaitedThreads(w)));
    return a;
  }

  private computeAwaitedThreads(w: WaitSite): AwaitedThread[] {
    // One entry per awaited thread: the release it may be kept from by the lock, if any.
    const byRoot = new Map<number, AwaitedThread>();
    /** Per root, the kept release's kind and the length of the path to it. */
    const kept = new Map<number, { update: boolean; steps: number }>();
    const fresh = this.freshlyStartedRoots(w);
    for (const { release, roots } of this.releasers.of(w)) {
      const candidates = roots ?? this.threadRoots.filter((r) => this.rootReach.get(r)!.has(release.fn));
      for (const r of candidates) {
        const prev = byRoot.get(r);
        // Threads the waiter has just started run from their first statement: if one of their
        // releases comes before they can take the lock, they get there (`alive++` at start, even
        // if `alive--` at exit comes after GIL-taking jobs). A release of the kept one's kind may
        // still be the nearer evidence (below).
        const before = kept.get(r);
        const sameKind = !!before && before.update === !!release.update;
        if ((fresh.has(r) ? prev && !prev.takesLock : prev?.takesLock) && !sameKind) continue;
        const toReleaser = this.graph.shortestFeasible(r, (f) => f === release.fn);
        // Reached only through a call of a parameter its own calls do not pass the releaser to.
        if (!toReleaser && !roots) continue;
        // The thread can only be kept from the releaser by the lock if it may take the lock
        // before getting there (in an earlier statement, or an earlier iteration of a loop).
        const releaseStep = toReleaser && toReleaser.path.length ? this.program.edges[toReleaser.path[0]].site : release.site;
        const taker = this.mayTakeLockBefore(r, releaseStep) ? this.pathToLockTakerAlong(r, toReleaser?.path ?? []) : null;
        // Releases come best first (counters that move before plain stores): a later one replaces
        // an earlier one when the lock may keep the thread from it, or, as evidence, when it is of
        // the same kind, as much kept from by the lock, and nearer the thread's start (the pool
        // thread's own `num_jobs_in_progress--` rather than a counter two calls down).
        const steps = toReleaser?.path.length ?? 0;
        const nearer = sameKind && !!prev?.takesLock === !!taker && steps < before!.steps;
        if ((fresh.has(r) ? prev && !prev.takesLock : prev?.takesLock) && !nearer) continue;
        if (prev && !fresh.has(r) && !taker && !nearer) continue;
        kept.set(r, { update: !!release.update, steps });
        byRoot.set(r, {
          threadRoot: this.program.functions[r].id,
          releaser: { function: this.program.functions[release.fn].id, site: release.site, action: release.action },
          pathToReleaser: toReleaser ? this.hops(toReleaser.path) : [],
          takesLock: taker ? this.takesLockAt(taker.end, taker.path) : null,
        });
        if (!taker) {
          const tries = this.triesLockOnly(r);
          if (tries) byRoot.get(r)!.triesLock = tries;
        }
      }
    }
    return [...byRoot.values()];
  }

  private lockReachers: Set<number> | undefined;
  private creators: Map<number, Set<number>> | undefined;

  /**
   * Thread roots the waiting function starts in a statement before the wait, itself or through a
   * helper that creates them (`thread_init(pool)` in a loop): the wait is, at least partly, for new
   * threads. Deeper chains are not followed: a lazily (re)starting pool somewhere below is not
   * evidence that this wait is for threads started here.
   */
  private freshlyStartedRoots(w: WaitSite): Set<number> {
    this.creators ??= this.threadCreators();
    const out = new Set<number>();
    const facts = this.program.facts[w.fn];
    if (!facts) return out;
    for (const [root, creatorFns] of this.creators) {
      const startsHere = creatorFns.has(w.fn);
      const before = facts.calls.some((c, ci) => c.site.line < w.site.line
        && ((startsHere && (this.program.callEdges[w.fn]?.[ci] ?? []).some((ei) => this.program.edges[ei].kind === 'handoff' && this.program.edgeTo[ei] === root))
          || this.analysis.targets(w.fn, ci).some((t) => creatorFns.has(t))));
      if (before) out.add(root);
    }
    return out;
  }

  /** For each thread root, the functions that start it (where its thread-creation hand-off edge is). */
  private threadCreators(): Map<number, Set<number>> {
    const out = new Map<number, Set<number>>();
    this.program.edges.forEach((e, ei) => {
      if (e.kind !== 'handoff') return;
      const to = this.program.edgeTo[ei];
      if (!this.program.functions[to].threadRoot?.some((t) => t.site.file === e.site.file && t.site.line === e.site.line)) return;
      let set = out.get(to);
      if (!set) out.set(to, (set = new Set()));
      set.add(this.program.edgeFrom[ei]);
    });
    return out;
  }

  private mayTakeLockBefore(root: number, site: Site): boolean {
    this.lockReachers ??= this.functionsReachingLockTakers();
    const facts = this.program.facts[root];
    if (!facts || site.file !== facts.site.file) return true;
    const reaching = (ci: number) => this.analysis.targets(root, ci).some((t) => this.lockReachers!.has(t)) || this.analysis.roles[root][ci] === 'release' || this.blocksTaking(root, ci);
    let preceded = false;
    const visit = (stmts: readonly Stmt[], inLoops: { from: number; to: number; lock: boolean }[]): void => {
      for (const st of stmts) {
        if (st.s === 'call') {
          if (reaching(st.call) && this.program.facts[root]!.calls[st.call].site.line < site.line) preceded = true;
        } else if (st.s === 'loop') {
          const lines: number[] = [st.line];
          let lock = false;
          const scan = (xs: readonly Stmt[]): void => {
            for (const x of xs) {
              if (x.s === 'call') { lines.push(facts.calls[x.call].site.line); if (reaching(x.call)) lock = true; }
              else if (x.s === 'loop') { lines.push(x.line); scan(x.cond); scan(x.body); }
              else if (x.s === 'if') { scan(x.cond); scan(x.then); scan(x.else); }
              else if (x.s === 'switch') { scan(x.cond); for (const c of x.cases) scan(c); }
              else if (x.s === 'return') scan(x.value);
            }
          };
          scan(st.cond);
          scan(st.body);
          const range = { from: st.line, to: Math.max(...lines), lock };
          if (lock && site.line >= range.from && site.line <= range.to) preceded = true;
          visit(st.cond, [...inLoops, range]);
          visit(st.body, [...inLoops, range]);
        } else if (st.s === 'if') { visit(st.cond, inLoops); visit(st.then, inLoops); visit(st.else, inLoops); }
        else if (st.s === 'switch') { visit(st.cond, inLoops); for (const c of st.cases) visit(c, inLoops); }
        else if (st.s === 'return') visit(st.value, inLoops);
      }
    };
    visit(facts.body, []);
    return preceded;
  }

  private functionsReachingLockTakers(): Set<number> {
    return callersOf(this.program, this.lockTakers);
  }

  private pathToLockTaker(root: number): { path: number[]; end: number } | null {
    if (!this.takerPath.has(root)) this.takerPath.set(root, this.graph.shortestFeasible(root, (f) => this.lockTakers.has(f)));
    return this.takerPath.get(root)!;
  }

  /**
   * The evidence that the thread may take the lock: preferably through the work it does on its
   * way to the releaser (a pool thread's path through the very job that releases the wait), which
   * holds whichever other jobs share its thread function; else the shortest path from its root.
   * The releaser itself is left out: what it runs after releasing does not keep the wait.
   */
  private pathToLockTakerAlong(root: number, toReleaser: readonly number[]): { path: number[]; end: number } | null {
    for (let k = toReleaser.length - 1; k >= 1; k--) {
      const via = this.graph.idx(this.program.edges[toReleaser[k - 1]].to);
      const rest = this.graph.shortestFeasible(via, (f) => this.lockTakers.has(f));
      const path = rest ? [...toReleaser.slice(0, k), ...rest.path] : null;
      if (path && this.graph.feasible(path)) return { path, end: rest!.end };
    }
    return this.pathToLockTaker(root);
  }

  /**
   * The awaited threads with their lock-taking evidence chosen, where it can be, among jobs handed
   * to a pool this path works on (see poolInstances.ts); unchanged when the evidence already runs
   * through the job that releases the wait. When no such job takes the lock, the evidence keeps a
   * job of another pool with a caveat, since pools of one implementation share a thread function;
   * but when every global involved is known to hold a pool of its own, the waited-on pool's threads
   * never run the other pools' jobs: the thread does not count as taking the lock, and the evidence
   * set aside is kept in `lockInOtherPools`.
   */
  private samePoolEvidence(awaited: AwaitedThread[], path: readonly number[]): AwaitedThread[] {
    if (!awaited.some((a) => a.takesLock)) return awaited;
    // Only globals that some job is known to be handed to name pools.
    const wanted = new Set([...this.pools.pathPools(path)].filter((g) => this.pools.isPool(g)));
    if (!wanted.size) return awaited;
    return awaited.map((a) => {
      if (!a.takesLock || a.mainThread) return a;
      const first = a.takesLock.path[0];
      const viaReleasingJob = first && a.pathToReleaser[0] && first.to === a.pathToReleaser[0].to && first.site.line === a.pathToReleaser[0].site.line;
      if (viaReleasingJob) return a;
      const root = this.graph.idx(a.threadRoot);
      const cacheKey = `${root}|${[...wanted].sort().join(',')}`;
      let search = this.samePoolTaker.get(cacheKey);
      if (search === undefined) this.samePoolTaker.set(cacheKey, (search = this.takerInPools(root, wanted)));
      const { taker, otherJobs } = search;
      const takesLock = taker && taker.path.length ? this.takesLockAt(taker.end, taker.path) : a.takesLock;
      const caveat = this.poolCaveat(takesLock.path, wanted);
      if (!taker && caveat && caveat.pools.length && otherJobs.size && this.pools.confinedApart(wanted, otherJobs)) {
        const { takesLock: setAside, ...rest } = a;
        const waitedPoolReaches = [...new Set([...wanted].flatMap((key) => this.pools.reaches(key)))].sort();
        return { ...rest, takesLock: null, lockInOtherPools: { ...caveat, function: setAside.function, site: setAside.site, path: setAside.path, waitedPoolReaches } };
      }
      return takesLock === a.takesLock && !caveat ? a : { ...a, takesLock: caveat ? { ...takesLock, poolCaveat: caveat } : takesLock };
    });
  }

  /** The first job on a lock-taking path, when it is not known to be handed to a waited-on pool. */
  private poolCaveat(path: readonly PathHop[], wanted: ReadonlySet<string>): PoolCaveat | undefined {
    for (const hop of path) {
      const job = this.graph.idx(hop.to);
      if (hop.kind !== 'indirect' || !this.pools.isJob(job)) continue;
      const pools = [...this.pools.jobPools(job)];
      if (pools.some((p) => wanted.has(p))) return undefined;
      return { job: hop.to, pools: pools.map(poolName), waitedPools: [...wanted].map(poolName) };
    }
    return undefined;
  }

  private readonly samePoolTaker = new Map<string, { taker: { path: number[]; end: number } | null; otherJobs: Set<number> }>();

  /**
   * The shortest path from `root` to a lock taker that enters no job handed only to pools outside
   * `wanted`, and the jobs the search left out that lead to the lock.
   */
  private takerInPools(root: number, wanted: ReadonlySet<string>): { taker: { path: number[]; end: number } | null; otherJobs: Set<number> } {
    const otherJobs = new Set<number>();
    const inWantedPool = (ei: number): boolean => {
      if (this.program.edges[ei].kind !== 'indirect') return true;
      // Jobs handed to no named pool may run anywhere; those handed only to other pools are skipped.
      const job = this.program.edgeTo[ei];
      const pools = this.pools.jobPools(job);
      if (!pools.size) return true;
      for (const pool of pools) if (wanted.has(pool)) return true;
      // Jobs whose pools matter: the left-out ones that lead to the lock.
      this.lockReachers ??= this.functionsReachingLockTakers();
      if (this.lockReachers.has(job)) otherJobs.add(job);
      return false;
    };
    return { taker: this.graph.shortestFeasible(root, (f) => this.lockTakers.has(f), inWantedPool), otherJobs };
  }

  /** Whether a call can block taking the lock: an acquire, or a try-lock retried until it succeeds. */
  private blocksTaking(fn: number, call: number): boolean {
    const role = this.analysis.roles[fn]?.[call];
    return role === 'acquire' || (role === 'try' && this.waits.tryLockRetry(fn, call).blocks);
  }

  /** Where a lock taker (`lockTakers`) blocks on the lock, with the retry loop when it spins on a try-lock. */
  private takesLockAt(fn: number, path: number[]): NonNullable<AwaitedThread['takesLock']> {
    const ci = this.analysis.roles[fn].findIndex((_r, i) => this.blocksTaking(fn, i));
    const site = this.program.facts[fn]!.calls[ci].site;
    if (this.analysis.roles[fn][ci] !== 'try') return { function: this.program.functions[fn].id, site, path: this.hops(path) };
    const use = this.waits.tryLockRetry(fn, ci);
    return { function: this.program.functions[fn].id, site, path: this.hops(path), tryLock: { loop: use.loop!, why: use.why } };
  }

  /** A thread that never blocks on the lock but tries it: where, and why the try gives up. */
  private triesLockOnly(root: number): AwaitedThread['triesLock'] {
    if (!this.lockTriers.size) return undefined;
    const found = this.graph.shortestFeasible(root, (f) => this.lockTriers.has(f));
    if (!found) return undefined;
    const ci = this.analysis.roles[found.end].findIndex((r) => r === 'try');
    const use = this.waits.tryLockRetry(found.end, ci);
    return { function: this.program.functions[found.end].id, site: this.program.facts[found.end]!.calls[ci].site, path: this.hops(found.path), why: use.why };
  }

  /**
   * @param along the lock state at each call of the path, followed along this path alone
   * (`alongPath`); else each function's state joined over every way the context reaches it.
   */
  private hops(path: number[], ctx?: ThreadContext, along?: Mask[]): PathHop[] {
    return path.map((ei, i) => {
      const e = this.program.edges[ei];
      const hop: PathHop = { ...e };
      if (along) hop.lockState = describeMask(along[i]);
      else if (ctx) {
        const from = this.graph.idx(e.from);
        const ci = this.graph.edgeCallIndex()[ei];
        if (ci >= 0) hop.lockState = describeMask(this.callState(ctx, from, ci));
      }
      return hop;
    });
  }

  /**
   * The lock state at each call of `path` and at the wait, entering each function in the state
   * the previous call passes it. A function's own states join every way the context reaches it
   * (a pool helper also called where a command has released the GIL), so this is what holds on
   * the path the finding shows. Null when it does not hold the lock there (the path is then not
   * the evidence the joined states saw), or the path leaves the walked calls.
   */
  private alongPath(ctx: ThreadContext, path: readonly number[], w: WaitSite): { hops: Mask[]; wait: Mask } | null {
    const hops = this.statesAlong(ctx, path);
    if (!hops) return null;
    const st = this.analysis.states(w.fn, hops.length ? hops[hops.length - 1] : ctx.entryMask);
    const wait = w.loop ? st.loops.get(w.loop) ?? 0 : st.calls[w.call!];
    return wait & HELD ? { hops, wait } : null;
  }

  /** The lock state at each call of a path from the context's start, followed along that path alone. */
  private statesAlong(ctx: ThreadContext, path: readonly number[]): Mask[] | null {
    let m: Mask = ctx.entryMask;
    const hops: Mask[] = [];
    for (const ei of path) {
      const ci = this.graph.edgeCallIndex()[ei];
      if (ci < 0) return null;
      m = this.analysis.states(this.program.edgeFrom[ei], m).calls[ci];
      if (!m) return null;
      hops.push(m);
    }
    return hops;
  }

  private finding(ctx: ThreadContext, cls: FindingClass, start: number, path: number[], w: WaitSite, joined: Mask, awaited: AwaitedThread[], along: { hops: Mask[]; wait: Mask } | null): Finding {
    const state = along?.wait ?? joined;
    const entry = entryOf(this.program, start, ctx.root !== null);
    const waitFn = this.program.functions[w.fn];
    const id = stableId([cls, this.lock.lock, this.program.functions[start].name, waitFn.name, w.kind, w.expression]);
    const entryName = shortName(entry.function);
    const lockWord = `the ${this.lock.lock}`;
    // Evidence without a pool caveat first: it is the one that holds for the waited-on pool.
    const taker = awaited.find((a) => a.takesLock && !a.takesLock.poolCaveat) ?? awaited.find((a) => a.takesLock);
    const caveat = taker?.takesLock?.poolCaveat;
    const otherPools = awaited.find((a) => a.lockInOtherPools)?.lockInOtherPools;
    const message = cls === 'deadlock-risk'
      ? `${entryName} (${entry.kind}) holds ${lockWord} and waits in ${waitFn.name} (${w.expression}) for ${taker!.mainThread ? `Redis' main thread, which runs ${shortName(taker!.threadRoot)} only holding ${lockWord}` : `thread ${shortName(taker!.threadRoot)}, which can block taking ${lockWord} in ${shortName(taker!.takesLock!.function)}${taker!.takesLock!.tryLock ? ' (a try-lock retried until it succeeds)' : ''}`}${caveat ? ` (${describePoolCaveat(caveat, lockWord)})` : ''}${w.yielding ? '; the wait yields, but yielding does not hand the lock to threads waiting for it' : ''}`
      : cls === 'stall'
        ? `${entryName} (${entry.kind}) holds ${lockWord} while it waits without a timeout in ${waitFn.name} (${w.expression})${awaited.length ? ` for ${awaited.map((a) => awaitedName(a)).join(', ')}` : '; no releasing thread was found'}${otherPools ? ` (${describeOtherPools(otherPools, lockWord)})` : ''}`
        : `${entryName} (${entry.kind}) holds ${lockWord} while it waits, with a bound, in ${waitFn.name} (${w.expression})`;
    return {
      id,
      class: cls,
      lock: this.lock.lock,
      message: state === HELD ? message : `${message} (the ${this.lock.lock} may be held on some paths)`,
      yielding: w.yielding,
      entry,
      path: this.hops(path, ctx, along?.hops),
      wait: { function: waitFn.id, site: w.site, kind: w.kind, expression: w.expression, bounded: w.bounded, yielding: w.yielding, evidence: w.evidence },
      awaited,
      sequencedAfter: this.sequencedAfter(path, w),
    };
  }

  /** Calls on the entry path that come after the path's call in each function: they cannot run while the wait blocks. */
  private sequencedAfter(path: number[], w: WaitSite): SequencedAfter[] {
    const out: SequencedAfter[] = [];
    const steps: { fn: number; target: { call: number } | { loop: Stmt } | null }[] = path.map((ei) => {
      const fn = this.program.edgeFrom[ei];
      const ci = this.graph.edgeCallIndex()[ei];
      return { fn, target: ci >= 0 ? { call: ci } : null };
    });
    steps.push({ fn: w.fn, target: w.loop ? { loop: w.loop } : w.call !== undefined ? { call: w.call } : null });
    for (const { fn, target } of steps) {
      const facts = this.program.facts[fn];
      if (!facts || !target) continue;
      const after = callsSequencedAfter(facts.body, target) ?? [];
      for (const ci of [...new Set(after)].sort((a, b) => cmpSite(facts.calls[a].site, facts.calls[b].site))) {
        const call = facts.calls[ci];
        const targets = (this.program.callEdges[fn]?.[ci] ?? []).map((ei) => this.program.edges[ei]).filter((e) => e.kind !== 'registration').map((e) => this.graph.idx(e.to));
        const defined = targets.filter((t) => this.program.functions[t].defined);
        if (!defined.length) continue;
        out.push({
          function: this.program.functions[fn].id,
          site: call.site,
          text: call.text,
          ...(call.macro ? { macro: call.macro } : {}),
          reaches: this.reachesIncludingHandoffs(defined),
        });
      }
    }
    return out;
  }

  private reachesIncludingHandoffs(starts: number[]): string[] {
    const seen = new Set<number>(starts);
    const order = [...starts];
    for (let i = 0; i < order.length && order.length < MAX_REACHES; i++) {
      for (const ei of this.program.out[order[i]]) {
        const e = this.program.edges[ei];
        if (e.kind === 'registration') continue;
        const t = this.graph.idx(e.to);
        if (!seen.has(t) && this.program.functions[t].defined) { seen.add(t); order.push(t); }
      }
    }
    return order.slice(0, MAX_REACHES).map((t) => this.program.functions[t].id);
  }

  private definedNames: Set<string> | undefined;

  /** `RedisModule_*` calls that need the lock, made where this thread does not hold it. */
  requiredApiFindings(ctx: ThreadContext): Finding[] {
    const req = this.lock.requiredBy!;
    const exact = new Set([...req.safe, ...this.lock.acquire, ...this.lock.tryAcquire, ...this.lock.release].filter((n) => !n.endsWith('*')));
    const prefixes = req.safe.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));
    const isSafe = (n: string) => exact.has(n) || prefixes.some((p) => n.startsWith(p));
    // Only the host's API counts: a function the tree defines with the same prefix is module code.
    this.definedNames ??= new Set(this.program.functions.filter((f) => f.defined).map((f) => f.name));
    const defined = this.definedNames;
    const isHostApi = (n: string) => req.prefixes.some((p) => n.startsWith(p)) && !isSafe(n) && !defined.has(n);
    const out: Finding[] = [];
    ctx.reached.forEach((mask, fn) => {
      if (!mask) return;
      const facts = this.program.facts[fn];
      if (!facts) return;
      const st = this.analysis.states(fn, mask);
      facts.calls.forEach((call, ci) => {
        if (st.calls[ci] !== FREE || call.callee.k !== 'name' || !req.prefixes.some((p) => (call.callee as { name: string }).name.startsWith(p))) return;
        const api = this.waits.calleeNames(fn, ci).find(isHostApi);
        if (!api) return;
        // The context reaches fn along calls that pass what a parameter call runs: show such a path.
        const reach = (f: number) => f === fn;
        const p = (this.graph.shortestFeasible(ctx.root!, reach) ?? this.graph.shortestPath(ctx.root!, reach))?.path ?? null;
        const f = this.program.functions[fn];
        out.push({
          id: stableId(['gil-required-api', this.lock.lock, this.program.functions[ctx.root!].name, f.name, api]),
          class: 'gil-required-api',
          lock: this.lock.lock,
          message: `${f.name} calls ${api}, which needs the ${this.lock.lock}, on thread ${shortName(ctx.id)} without holding it`,
          yielding: false,
          entry: entryOf(this.program, ctx.root!, true),
          path: p ? this.hops(p, ctx, this.statesAlong(ctx, p) ?? undefined) : [],
          call: { function: f.id, site: call.site, api },
          awaited: [],
          sequencedAfter: [],
        });
      });
    });
    return out;
  }
}
