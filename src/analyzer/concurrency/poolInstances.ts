import type { LinkedProgram } from '../link/linker';
import type { FunctionFacts, Val } from '../model';
import { ObjectFlows } from './objectFlows';
import { edgeCallIndex } from './programLookups';

// Which pool (queue, loop) a job is handed to, named by the global variable that holds it.
//
// Every pool of one implementation runs the same thread function, so thread roots alone cannot
// tell RediSearch's worker pool from its GC pool: the GC pool's `taskCallback` "is run by
// thread_do" as much as a query job is. The analysis treats them as one thread, but when it names
// the job through which an awaited pool thread takes a lock, it prefers a job handed to the same
// pool as the one the waiting path works on: `set_workers` resizes `_workers_thpool`, so the
// evidence is a query job queued there, not a GC job; and when no job of that pool takes the
// lock, the finding carries a caveat saying so.
//
// The class of a finding depends on it in one case only, where the instances are certain: when
// the waited-on pool's threads can reach the lock only through jobs handed to other pools, and
// none of those jobs can be handed to the waited-on pool's object (`confinedApart`), the threads
// serving that pool never run them, and the wait is a stall (findings.ts, `samePoolEvidence`).
//
// A call's pool is a global passed next to the function pointer (`thpool_add_work(gc_pool, job,
// arg)`). When the pointer is passed on to a parameter (`workers_add_work(job, arg)`, which calls
// `thpool_add_work(_workers_thpool, fn, arg)`), the callee's calls that pass that parameter on
// are followed; when the pool is itself a parameter (`run(fn, arg, poolType)`), the callers'
// arguments are. Both a few levels deep, the latter memoised per (function, parameter).

const FOLLOW_DEPTH = 3;

/** Functions outside the tree whose results are new objects: `malloc`, `RedisModule_Alloc`, `uv_loop_new`, `strdup`… */
const ALLOCATOR_NAME = /alloc|_new$|^new_|create|dup$/i;

/** A pool's storage key as people write it: `G:src/gc.c:gcThreadpool_g` → `gcThreadpool_g`. */
export function poolName(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

export class PoolInstances {
  private readonly jobCache = new Map<number, ReadonlySet<string>>();
  private knownPools: Set<string> | undefined;

  constructor(private readonly program: LinkedProgram, private readonly flows: ObjectFlows = new ObjectFlows(program)) {}

  /** Whether some job is known to be handed to the global `key`. */
  isPool(key: string): boolean {
    if (!this.knownPools) {
      this.knownPools = new Set();
      this.program.edges.forEach((e, ei) => {
        if (e.kind === 'handoff') for (const p of this.jobPools(this.program.edgeTo[ei])) this.knownPools!.add(p);
      });
    }
    return this.knownPools.has(key);
  }

  /** Whether `fn` is handed to another thread somewhere (a hand-off edge leads to it). */
  isJob(fn: number): boolean {
    const id = this.program.functions[fn].id;
    return (this.program.in[fn] ?? []).some((ei) => this.program.edges[ei].kind === 'handoff' && this.program.edges[ei].to === id);
  }

  private storesByKey: Map<string, { fn: number; vals: readonly Val[] }[]> | undefined;
  private readonly constructorCache = new Map<number, boolean>();
  private factsIndex: Map<FunctionFacts, number> | undefined;

  /**
   * Whether none of `jobs` can be handed to the pool object any of the globals `waited` holds:
   * each of them holds only new objects (`freshOnly`), its object is copied nowhere the analysis
   * cannot follow (objectFlows.ts), and no call on the way from a job's hand-off into the queue
   * passes, beside the job, a value that may hold that object. Pools copied under another name
   * (`query_pool = zip_pool`, fixture pool_alias_bad) fail; pools named by integer ids work when
   * the waited-on pool is a pointer of its own (handle_pool_jobs_stall_bad), not when it is an id
   * itself (FP_pool_handle_ids).
   */
  confinedApart(waited: Iterable<string>, jobs: Iterable<number>): boolean {
    const jobList = [...jobs];
    for (const key of waited) {
      if (!this.freshOnly(key) || this.flows.reachOf(key).leaks.length) return false;
      for (const job of jobList) if (this.mayBeHandedTo(job, key)) return false;
    }
    return true;
  }

  /** Where the object the global `key` holds may be copied to, as people name places: `p in pool_submit`. */
  reaches(key: string): string[] {
    const out = new Set<string>();
    for (const holder of this.flows.reachOf(key).holders) {
      if (holder === key) continue;
      if (holder.startsWith('G:')) out.add(poolName(holder));
      else if (holder.startsWith('L')) {
        const colon = holder.indexOf(':');
        out.add(`${holder.slice(colon + 1)} in ${this.program.functions[Number(holder.slice(1, colon))].name}`);
      } else if (holder.startsWith('F:')) {
        const [type, field] = [holder.slice(2, holder.lastIndexOf('.')), holder.slice(holder.lastIndexOf('.') + 1)];
        out.add(type === '?' ? `field ${field}` : `field ${field} of ${type}`);
      } else out.add(`the return value of ${this.program.functions[Number(holder.slice(1))].name}`);
    }
    return [...out].sort();
  }

  private readonly handedTo = new Map<string, boolean>();

  /** Whether `job` may be handed to the object the global `key` holds (see `confinedApart`). */
  private mayBeHandedTo(job: number, key: string): boolean {
    const memo = `${job}|${key}`;
    let may = this.handedTo.get(memo);
    if (may === undefined) {
      const { holders } = this.flows.reachOf(key);
      may = this.handOffCalls(job).some(({ fn, ci, argIndex }) => this.routeMayPass(fn, ci, argIndex, holders, 0));
      this.handedTo.set(memo, may);
    }
    return may;
  }

  /**
   * Whether every value stored to the global `key` is the result of a direct call to a function
   * of the tree that returns a new object (a constructor such as `thpool_create`), never another
   * variable's value, a parameter or the result of a function outside the tree.
   */
  private freshOnly(key: string): boolean {
    if (!this.storesByKey) this.storesByKey = this.storesToGlobals();
    const stores = this.storesByKey.get(key);
    if (!stores?.length) return false;
    for (const { fn, vals } of stores) {
      if (!vals.length) return false;
      for (const v of vals) if (v.k !== 'ret' || !this.constructsPool(fn, v.fn)) return false;
    }
    return true;
  }

  /**
   * Whether call `ci` of `fn`, which carries a job pointer in argument `argIndex`, or a call it
   * passes that pointer on to, also passes a value from `holders`. A route still going on after
   * FOLLOW_DEPTH calls may pass one.
   */
  private routeMayPass(fn: number, ci: number, argIndex: number, holders: ReadonlySet<string>, depth: number): boolean {
    const call = this.program.facts[fn]!.calls[ci];
    for (let i = 0; i < call.args.length; i++) {
      if (i !== argIndex && call.args[i].some((v) => this.flows.sourceKeys(v, fn).some((k) => holders.has(k)))) return true;
    }
    for (const ei of this.program.callEdges[fn]?.[ci] ?? []) {
      const callee = this.program.edgeTo[ei];
      const facts = this.program.facts[callee];
      const param = facts?.params[argIndex]?.name;
      if (!facts || !param) continue;
      for (let ii = 0; ii < facts.calls.length; ii++) {
        const k = facts.calls[ii].args.findIndex((vals) => vals.some((v) => v.k === 'read' && v.loc.k === 'local' && v.loc.name === param));
        if (k < 0) continue;
        if (depth >= FOLLOW_DEPTH || this.routeMayPass(callee, ii, k, holders, depth + 1)) return true;
      }
    }
    return false;
  }

  /** Every value stored to a global inside a function body, by the global's storage key. */
  private storesToGlobals(): Map<string, { fn: number; vals: readonly Val[] }[]> {
    const out = new Map<string, { fn: number; vals: readonly Val[] }[]>();
    this.program.facts.forEach((facts, fn) => {
      for (const flow of facts?.flows ?? []) {
        if (flow.to.k !== 'global') continue;
        const key = this.program.locationKey(flow.to, fn);
        if (!key) continue;
        let list = out.get(key);
        if (!list) out.set(key, (list = []));
        list.push({ fn, vals: flow.from });
      }
    });
    return out;
  }

  /** Whether `name`, called from `fn`, is a defined function that returns a new object (see `returnsNew`). */
  private constructsPool(fn: number, name: string): boolean {
    const ctor = this.definitionOf(fn, name);
    return ctor !== undefined && this.returnsNew(ctor, 0);
  }

  private definitionOf(fn: number, name: string): number | undefined {
    const defs = this.program.symbols.functionsNamed(name, this.program.functions[fn].file ?? '');
    if (defs.length !== 1) return undefined;
    if (!this.factsIndex) {
      this.factsIndex = new Map();
      this.program.facts.forEach((f, i) => { if (f) this.factsIndex!.set(f, i); });
    }
    return this.factsIndex.get(defs[0].facts);
  }

  /**
   * Whether every value `fn` returns is new: a call's result (an allocator outside the tree, by
   * name, or a function of the tree that itself returns new objects), directly or through a local
   * that only ever holds such results and is stored nowhere else; never a global, a parameter or
   * another variable's value (a getter). `thpool_create` (`p = rm_malloc(...); ...; return p;`)
   * qualifies; `get_pool` (`return g_pool;`) does not. Answers are memoised whatever the depth
   * they were found at: a constructor nested deeper than FOLLOW_DEPTH is conservatively not one.
   */
  private returnsNew(fn: number, depth: number): boolean {
    const known = this.constructorCache.get(fn);
    if (known !== undefined) return known;
    // Set before looking: a recursive constructor is not taken as proof of itself.
    this.constructorCache.set(fn, false);
    const facts = this.program.facts[fn];
    let ok = false;
    if (facts && depth <= FOLLOW_DEPTH) {
      const params = new Set(facts.params.map((p) => p.name));
      const sources = (loc: { k: string; name?: string }) => facts.flows.filter((f) => f.to.k === loc.k && (f.to as { name?: string }).name === loc.name).flatMap((f) => f.from);
      const isNew = (v: Val, viaLocal: boolean): boolean => {
        if (v.k === 'ret') {
          const callee = this.definitionOf(fn, v.fn);
          // Outside the tree, only an allocator's result is taken as new (`uv_default_loop()` is not).
          return callee === undefined ? ALLOCATOR_NAME.test(v.fn) : this.returnsNew(callee, depth + 1);
        }
        if (v.k === 'read' && v.loc.k === 'local' && !viaLocal && !params.has(v.loc.name)) {
          const name = v.loc.name;
          const held = sources(v.loc);
          // Stored anywhere besides being returned (a registry of pools, say), it may be reached another way.
          const kept = facts.flows.some((f) => f.to.k !== 'ret' && f.from.some((x) => x.k === 'read' && x.loc.k === 'local' && x.loc.name === name));
          return !kept && held.length > 0 && held.every((h) => isNew(h, true));
        }
        return false;
      };
      const returned = facts.flows.filter((f) => f.to.k === 'ret').flatMap((f) => f.from);
      ok = returned.length > 0 && returned.every((v) => isNew(v, false));
    }
    this.constructorCache.set(fn, ok);
    return ok;
  }

  /** Pools the job function `job` is handed to (empty when none is named by a global). */
  jobPools(job: number): ReadonlySet<string> {
    let pools = this.jobCache.get(job);
    if (!pools) {
      const found = new Set<string>();
      for (const { fn, ci, argIndex } of this.handOffCalls(job)) for (const p of this.poolsAt(fn, ci, argIndex, 0)) found.add(p);
      this.jobCache.set(job, (pools = found));
    }
    return pools;
  }

  /** The calls that hand `job` off: its address is argument `argIndex` of call `ci` of `fn`. */
  private handOffCalls(job: number): { fn: number; ci: number; argIndex: number }[] {
    const out: { fn: number; ci: number; argIndex: number }[] = [];
    const id = this.program.functions[job].id;
    for (const ei of this.program.in[job] ?? []) {
      const e = this.program.edges[ei];
      if (e.kind !== 'handoff' || e.to !== id) continue;
      const fn = this.program.edgeFrom[ei];
      (this.program.facts[fn]?.calls ?? []).forEach((call, ci) => {
        const argIndex = call.args.findIndex((vals) => vals.some((v) => v.k === 'ident' && v.site.line === e.site.line && v.site.col === e.site.col && v.site.file === e.site.file));
        if (argIndex >= 0) out.push({ fn, ci, argIndex });
      });
    }
    return out;
  }

  /** Globals passed as arguments at the calls an edge path makes. */
  pathPools(path: readonly number[]): Set<string> {
    const callIndexOf = edgeCallIndex(this.program);
    const out = new Set<string>();
    for (const ei of path) {
      const fn = this.program.edgeFrom[ei];
      const ci = callIndexOf[ei];
      const call = ci >= 0 ? this.program.facts[fn]?.calls[ci] : undefined;
      if (call) for (const vals of call.args) for (const key of this.globalKeys(vals, fn)) out.add(key);
    }
    return out;
  }

  /** Pools named at call `ci` of `fn`, whose argument `argIndex` carries the job pointer. */
  private poolsAt(fn: number, ci: number, argIndex: number, depth: number): Set<string> {
    const out = new Set<string>();
    const call = this.program.facts[fn]!.calls[ci];
    call.args.forEach((vals, i) => {
      if (i !== argIndex) for (const key of this.argumentGlobals(vals, fn, 0)) out.add(key);
    });
    if (out.size || depth >= FOLLOW_DEPTH) return out;
    // The pointer goes on to a parameter: follow it into the callees.
    for (const ei of this.program.callEdges[fn]?.[ci] ?? []) {
      const callee = this.program.edgeTo[ei];
      const facts = this.program.facts[callee];
      const param = facts?.params[argIndex]?.name;
      if (!facts || !param) continue;
      facts.calls.forEach((inner, ii) => {
        const k = inner.args.findIndex((vals) => vals.some((v) => v.k === 'read' && v.loc.k === 'local' && v.loc.name === param));
        if (k >= 0) for (const p of this.poolsAt(callee, ii, k, depth + 1)) out.add(p);
      });
    }
    return out;
  }

  /**
   * Globals an argument may carry: named in it, or, for a parameter of `fn` passed on
   * (`run(fn, arg, poolType)` → `add_work(pools[poolType], fn, arg)`), passed by `fn`'s callers.
   */
  private argumentGlobals(vals: readonly Val[], fn: number, depth: number): string[] {
    const out = this.globalKeys(vals, fn);
    if (out.length || depth >= FOLLOW_DEPTH) return out;
    const params = this.program.facts[fn]?.params ?? [];
    for (const v of vals) {
      if (v.k !== 'read' || v.loc.k !== 'local') continue;
      const name = v.loc.name;
      const index = params.findIndex((p) => p.name === name);
      if (index >= 0) out.push(...this.parameterGlobals(fn, index, depth));
    }
    return out;
  }

  /** Memo of `parameterGlobals`: a widely called wrapper is looked at once, whatever the depth. */
  private readonly paramCache = new Map<string, string[]>();

  /** Globals `fn`'s callers pass as its parameter `index` (directly, or through their own parameters). */
  private parameterGlobals(fn: number, index: number, depth: number): string[] {
    const key = `${fn}:${index}`;
    const known = this.paramCache.get(key);
    if (known) return known;
    // Set before recursing: a recursive caller chain sees an empty answer rather than looping.
    const out: string[] = [];
    this.paramCache.set(key, out);
    for (const ei of this.program.in[fn] ?? []) {
      const e = this.program.edges[ei];
      if (e.kind !== 'direct' && e.kind !== 'macro') continue;
      const caller = this.program.edgeFrom[ei];
      const ci = edgeCallIndex(this.program)[ei];
      const arg = ci >= 0 ? this.program.facts[caller]?.calls[ci]?.args[index] : undefined;
      if (arg) for (const g of this.argumentGlobals(arg, caller, depth + 1)) if (!out.includes(g)) out.push(g);
    }
    return out;
  }

  /** Storage keys of the global variables (not functions) among an argument's values. */
  private globalKeys(vals: readonly Val[], fn: number): string[] {
    const out: string[] = [];
    for (const v of vals) {
      if (v.k === 'ident' && this.program.symbols.globalNamed(v.name, this.program.functions[fn].file ?? '')) {
        const key = this.program.locationKey({ k: 'global', name: v.name }, fn);
        if (key) out.push(key);
      } else if (v.k === 'read' && v.loc.k === 'global' && v.loc.name) {
        const key = this.program.locationKey(v.loc, fn);
        if (key) out.push(key);
      }
    }
    return out;
  }
}
