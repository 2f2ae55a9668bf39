import type { Stmt } from '../model';
import type { LinkedProgram } from '../link/linker';
import { callersOf } from '../link/reach';
import { boundKey, boundParameterCalls, countsDepth, syncCallTargets } from './programLookups';
import { CorrelatedGuards, NO_ASSUMPTIONS, assumedBranch } from './guards';
import type { Assumption } from './guards';
import type { LockApi } from '../profile/profile';

/** Bit set: HELD = the lock may be held, FREE = it may not be; 0 = unreachable. */
export const HELD = 1;
export const FREE = 2;
export type Mask = number;

export type LockRole = 'acquire' | 'try' | 'release';

export interface SiteStates {
  /** Lock state before each call, by call index. */
  calls: Uint8Array;
  /** Lock state at the head of each loop. */
  loops: Map<Stmt, Mask>;
  exit: Mask;
}

export interface ThreadContext {
  /** `entries` (every entry point, starting with the lock held) or a thread root's id. */
  id: string;
  root: number | null;
  entryMask: Mask;
  /** Entry mask per function in this context (0 = not reached). */
  reached: Uint8Array;
}

const IDENTITY: [Mask, Mask] = [HELD, FREE];

/**
 * Tracks one lock through every function, in statement order, through branches, loops, early
 * returns and gotos, and across calls with per-function summaries (what the function does to the
 * lock, so acquire/release wrappers are discovered, not listed). Then propagates contexts: entry
 * points start holding the lock, thread roots start without it; hand-off and registration edges
 * do not carry the caller's state.
 */
export class LockStateAnalysis {
  readonly roles: (LockRole | null)[][];
  private readonly summaries: [Mask, Mask][];
  private readonly cache = new Map<number, SiteStates>();
  readonly contexts: ThreadContext[] = [];
  private readonly syncTargets: readonly (readonly (readonly number[])[])[];

  constructor(private readonly program: LinkedProgram, readonly lock: LockApi) {
    this.guards = CorrelatedGuards.of(program);
    const byName = new Map<string, LockRole>();
    for (const n of lock.acquire) byName.set(n, 'acquire');
    for (const n of lock.tryAcquire) byName.set(n, 'try');
    for (const n of lock.release) byName.set(n, 'release');
    this.syncTargets = syncCallTargets(program);
    this.roles = this.syncTargets.map((calls) => calls.map((targets) => {
      for (const t of targets) {
        const role = byName.get(program.functions[t].name);
        if (role) return role;
      }
      return null;
    }));
    this.summaries = program.functions.map(() => IDENTITY);
    this.computeSummaries();
  }

  /** Lock state at every call and loop of `fn` when entered in state `entry`. */
  states(fn: number, entry: Mask): SiteStates {
    const key = fn * 4 + entry;
    let s = this.cache.get(key);
    if (!s) {
      s = this.walkFunction(fn, entry);
      this.cache.set(key, s);
    }
    return s;
  }

  /** Sync callees of a call site. */
  targets(fn: number, call: number): readonly number[] {
    return this.syncTargets[fn]?.[call] ?? [];
  }

  /**
   * The functions a thread reaches, with the lock's states on entry. A function that calls its own
   * parameter (`run_guarded(step, arg)` → `step(arg)`) is followed once per set of functions its
   * callers pass there, and its parameter call reaches only those: otherwise every caller would
   * "reach" every function any caller passes (one level of call-site sensitivity; fixtures `param_call_context_ok`/`_bad`).
   */
  addContext(id: string, root: number | null, roots: number[], entryMask: Mask): ThreadContext {
    const reached = new Uint8Array(this.program.functions.length);
    // Per function, or per function and what its parameter calls are bound to: the masks followed.
    const followed = new Map<string, Mask>();
    const queue: { fn: number; mask: Mask; bound: Map<number, Set<number>> | null }[] = [];
    const visit = (fn: number, mask: Mask, bound: Map<number, Set<number>> | null) => {
      const key = boundKey(fn, bound);
      const before = followed.get(key) ?? 0;
      const next = before | mask;
      reached[fn] |= mask;
      if (next === before) return;
      followed.set(key, next);
      queue.push({ fn, mask: next, bound });
    };
    for (const r of roots) if (this.program.facts[r]) visit(r, entryMask, null);
    while (queue.length) {
      const { fn: f, mask, bound } = queue.pop()!;
      const st = this.states(f, mask);
      const calls = this.syncTargets[f] ?? [];
      for (let c = 0; c < calls.length; c++) {
        const m = st.calls[c];
        if (!m) continue;
        const only = bound?.get(c);
        for (const t of calls[c]) {
          if (!this.program.facts[t] || (only && !only.has(t))) continue;
          visit(t, m, boundParameterCalls(this.program, f, c, t));
        }
      }
    }
    const ctx: ThreadContext = { id, root, entryMask, reached };
    this.contexts.push(ctx);
    return ctx;
  }

  // ------------------------------------------------------------------ summaries

  /**
   * Whether `fn` is a counted acquire wrapper: it takes the lock itself (not a try-lock), never
   * releases it (not even through callees), and increments shared state (`lh->lockCounter++`,
   * `depth++` on a thread-local): the depth of its thread's holding. A restore
   * (`if (!s) return; PyEval_RestoreThread(s);`) counts nothing and may really not take it.
   */
  private countedAcquire(fn: number): boolean {
    const roles = this.roles[fn] ?? [];
    if (!roles.includes('acquire') || roles.includes('try') || this.wrapperKind(fn, MAX_WRAPPER_DEPTH) !== 'acquire') return false;
    return countsDepth(this.program, fn);
  }

  private computeSummaries(): void {
    // Only functions that can reach a lock operation can change the state; the rest are identity.
    const relevant = this.functionsReachingLockOps();
    const order = [...relevant];
    for (let round = 0; round < 12; round++) {
      let changed = false;
      for (const f of order) {
        const fromHeld = this.walkFunction(f, HELD).exit;
        let fromFree = this.walkFunction(f, FREE).exit;
        // A counted, re-entrant acquire wrapper (`if (depth == 0) lock(); depth++;`) skips the lock
        // only when its thread already holds it: entered without it, it returns holding it.
        if (fromFree === (HELD | FREE) && this.countedAcquire(f)) fromFree = HELD;
        const prev = this.summaries[f];
        // A function that never returns normally keeps the caller's state for what follows.
        const next: [Mask, Mask] = [fromHeld || HELD, fromFree || FREE];
        if (next[0] !== prev[0] || next[1] !== prev[1]) {
          this.summaries[f] = next;
          changed = true;
        }
      }
      if (!changed) break;
    }
    this.cache.clear();
  }

  private functionsReachingLockOps(): Set<number> {
    const seeds: number[] = [];
    this.roles.forEach((calls, f) => { if (calls.some(Boolean)) seeds.push(f); });
    return callersOf(this.program, seeds);
  }

  private transfer(fn: number, call: number, state: Mask): Mask {
    const role = this.roles[fn]?.[call];
    // Taking Redis' GIL while holding it on every path never returns (the GIL is not recursive):
    // the path is one that a run-time check rules out (`if (!on_main_thread) lock()`, entered from
    // a command), so it goes no further.
    if (role === 'acquire') return state === HELD && this.lock.heldByEntries ? 0 : HELD;
    if (role === 'release') return FREE;
    if (role === 'try') return state | HELD;
    const targets = this.syncTargets[fn]?.[call] ?? [];
    let out = 0;
    let any = false;
    for (const t of targets) {
      if (!this.program.facts[t]) continue;
      any = true;
      const [h, f] = this.summaries[t];
      out |= (state & HELD ? h : 0) | (state & FREE ? f : 0);
    }
    return any ? out : state;
  }

  // ------------------------------------------------------------------ intraprocedural walk

  private walkFunction(fn: number, entry: Mask): SiteStates {
    const facts = this.program.facts[fn];
    const rec: SiteStates = { calls: new Uint8Array(facts?.calls.length ?? 0), loops: new Map(), exit: 0 };
    if (!facts || !entry) return rec;
    // Once per value of the flags that guard correlated branches (guards.ts).
    for (const assume of this.guards.assumptionsFor(fn)) {
      // The walk records each `return` in rec.exit: read rec.exit only after it.
      const end = new BodyWalker(this, fn, rec, assume, entry === FREE && !this.roles[fn]?.some((r) => r === 'acquire' || r === 'try')).walk(facts.body, entry);
      rec.exit |= end;
    }
    return rec;
  }

  private readonly guards: CorrelatedGuards;

  /** @internal used by BodyWalker */
  apply(fn: number, call: number, state: Mask): Mask {
    return this.transfer(fn, call, state);
  }

  /**
   * @internal Whether a call of `fn` is to an acquire wrapper (a function that takes the lock
   * itself and never releases it: `LockHandler_Acquire`) or a release wrapper (releases it itself,
   * never takes it: `LockHandler_Release`), for pairing them in one block.
   */
  pairing(fn: number, call: number): 'acquire' | 'release' | null {
    // Asked at every call of every walk, and the answer depends only on the call: computed once.
    let codes = this.pairingCodes[fn];
    if (!codes) this.pairingCodes[fn] = codes = new Int8Array(this.syncTargets[fn]?.length ?? 0).fill(-1);
    if (codes[call] < 0) codes[call] = PAIRING_CODES.indexOf(this.computePairing(fn, call));
    return PAIRING_CODES[codes[call]];
  }

  private readonly pairingCodes: (Int8Array | undefined)[] = [];

  /**
   * @internal Whether a call is a save (a release wrapper that may return still holding the
   * lock: `if (!py_lock_held()) return NULL; return PyEval_SaveThread();`) or a restore (an
   * acquire wrapper that may return without taking it: `if (!s) return; PyEval_RestoreThread(s);`).
   * Such a pair hands the lock back only if the save took it away, so after the restore the lock
   * is as it was before the save. Asked of calls that pair (`pairing`), from the current
   * summaries, which grow while they are computed.
   */
  saveRestore(fn: number, call: number, pairing: 'acquire' | 'release'): 'save' | 'restore' | null {
    const targets = this.syncTargets[fn]?.[call] ?? [];
    let known = false;
    for (const t of targets) {
      if (!this.program.facts[t]) continue;
      const [fromHeld, fromFree] = this.summaries[t];
      if (pairing === 'release' ? !(fromHeld & HELD) : !(fromFree & FREE)) return null;
      known = true;
    }
    return known ? (pairing === 'release' ? 'save' : 'restore') : null;
  }

  private computePairing(fn: number, call: number): 'acquire' | 'release' | null {
    const targets = this.syncTargets[fn]?.[call] ?? [];
    let kind: 'acquire' | 'release' | null = null;
    for (const t of targets) {
      const k = this.wrapperKind(t, MAX_WRAPPER_DEPTH);
      if (!k || (kind && kind !== k)) return null;
      kind = k;
    }
    return kind;
  }

  /**
   * A function that takes the lock and never releases it, itself or through such wrappers
   * (`RG_LockHanlderAcquire` → `LockHandler_Acquire` → lock), is an acquire wrapper; one that
   * only releases, a release wrapper. Wrappers are thin: calls are followed `levels` deep (each
   * answer is kept per depth, so it does not depend on which caller asked first); a call cycle
   * makes no wrapper.
   */
  private wrapperKind(fn: number, levels: number): 'acquire' | 'release' | null {
    const memo = (this.wrapperKinds[levels] ??= new Int8Array(this.program.functions.length).fill(-2));
    if (memo[fn] === -1) return null;
    if (memo[fn] >= 0) return PAIRING_CODES[memo[fn]];
    // In progress: a cycle.
    memo[fn] = -1;
    const roles = this.roles[fn] ?? [];
    let takes = roles.some((r) => r === 'acquire' || r === 'try');
    let drops = roles.some((r) => r === 'release');
    if (levels > 0) {
      (this.syncTargets[fn] ?? []).forEach((targets, c) => {
        if (roles[c]) return;
        for (const t of targets) {
          if (!this.program.facts[t]) continue;
          const k = this.wrapperKind(t, levels - 1);
          if (k === 'acquire') takes = true;
          else if (k === 'release') drops = true;
        }
      });
    }
    const kind = takes && !drops ? 'acquire' : drops && !takes ? 'release' : null;
    memo[fn] = PAIRING_CODES.indexOf(kind);
    return kind;
  }

  /** Per depth left, per function: -2 unknown, -1 in progress, else an index into PAIRING_CODES. */
  private readonly wrapperKinds: Int8Array[] = [];
}

const MAX_WRAPPER_DEPTH = 4;

const PAIRING_CODES = [null, 'acquire', 'release'] as const;

class BodyWalker {
  private readonly loopStack: { breaks: Mask; continues: Mask }[] = [];
  private readonly gotos = new Map<string, Mask>();

  constructor(private readonly analysis: LockStateAnalysis, private readonly fn: number, private readonly rec: SiteStates, private readonly assume: Assumption = NO_ASSUMPTIONS,
    /** Entered without the lock and never taking it itself: whatever it holds, callees took. */
    private readonly onlyCalleesTake = false) {}

  walk(stmts: readonly Stmt[], state: Mask): Mask {
    let s = state;
    // A release wrapper after an acquire wrapper of this function (`LockHandler_Acquire(ctx); …;
    // LockHandler_Release(ctx);`) restores the state from before the acquire: a counted re-entrant
    // lock (`if (depth++ == 0) lock();` … `if (--depth == 0) unlock();`) or one released under a
    // "locked" flag keeps, path by path, exactly what its acquire added, which the wrappers'
    // summaries alone cannot say. The acquire's prior state stays open until the end of the block
    // that made it: a release in that block closes it; a release in a block nested in it (an
    // error branch that releases and returns, a loop body) restores it on that path only.
    const open = this.priors.length;
    for (const st of stmts) {
      const pairing = st.s === 'call' && s ? this.analysis.pairing(this.fn, st.call) : null;
      const saveRestore = pairing && st.s === 'call' ? this.analysis.saveRestore(this.fn, st.call, pairing) : null;
      const prior = s;
      s = this.step(st, s);
      // A restore after a save (in any block of the function: RedisGears saves each plugin's
      // lock in one loop and restores them in another) leaves the lock as it was before the save.
      if (saveRestore === 'save') this.beforeSave |= prior;
      else if (saveRestore === 'restore' && this.beforeSave && s) s = this.beforeSave;
      if (pairing === 'acquire') this.priors.push(prior);
      else if (pairing === 'release' && this.priors.length && s) s = this.priors.length > open ? this.priors.pop()! : this.priors[this.priors.length - 1];
      // Otherwise, in a function entered without the lock that never takes it itself, the lock
      // it may hold was taken by callees — acquire wrappers that record how they took it, in a
      // flag or a struct field (`q->locked = 1`, RedisGraph's `locked_for_commit`), maybe in a
      // block that has ended — and a release wrapper undoes them: the lock is free after it
      // (lock_flag_in_field_ok). Like the pairing above, this misses a release wrapper that
      // depends on something else than how the lock was taken (FN_conditional_release_wrapper).
      else if (pairing === 'release' && s && this.onlyCalleesTake) s = FREE;
    }
    this.priors.length = open;
    return s;
  }

  /** States from before the acquire wrappers of the enclosing blocks that no release has closed. */
  private readonly priors: Mask[] = [];

  /** States from before the saves walked so far (see `LockStateAnalysis.saveRestore`). */
  private beforeSave: Mask = 0;

  private step(st: Stmt, state: Mask): Mask {
    switch (st.s) {
      case 'call':
        if (!state) return 0;
        this.rec.calls[st.call] |= state;
        return this.analysis.apply(this.fn, st.call, state);
      case 'if': {
        const s = this.walk(st.cond, state);
        const branch = assumedBranch(st, this.assume);
        if (branch) return this.walk(st[branch], s);
        return this.walk(st.then, s) | this.walk(st.else, s);
      }
      case 'loop': {
        this.loopStack.push({ breaks: 0, continues: 0 });
        let head = state;
        // A `do` loop leaves only after its body ran (`do { if (l) unlock(l); } while (0)`, every
        // statement macro): its exit is the state after an iteration's condition, not the entry's.
        let afterIterations = 0;
        for (let i = 0; i < 3; i++) {
          const afterCond = st.kind === 'do' ? head : this.walk(st.cond, head);
          const afterBody = this.walk(st.body, afterCond);
          const frame = this.loopStack[this.loopStack.length - 1];
          const afterIteration = st.kind === 'do' ? this.walk(st.cond, afterBody | frame.continues) : afterBody | frame.continues;
          afterIterations |= afterIteration;
          const next = head | afterIteration;
          if (next === head && i > 0) break;
          head = next;
        }
        const frame = this.loopStack.pop()!;
        this.rec.loops.set(st, (this.rec.loops.get(st) ?? 0) | head);
        const exitByCondition = st.infinite ? 0 : st.kind === 'do' ? afterIterations : this.walk(st.cond, head);
        return exitByCondition | frame.breaks;
      }
      case 'switch': {
        const s = this.walk(st.cond, state);
        this.loopStack.push({ breaks: 0, continues: 0 });
        let fallthrough = 0;
        for (const c of st.cases) fallthrough = this.walk(c, s | fallthrough);
        const frame = this.loopStack.pop()!;
        // `continue` inside a switch belongs to the enclosing loop.
        if (this.loopStack.length) this.loopStack[this.loopStack.length - 1].continues |= frame.continues;
        return fallthrough | frame.breaks | s;
      }
      case 'return': {
        const s = this.walk(st.value, state);
        this.rec.exit |= s;
        return 0;
      }
      case 'break':
        if (this.loopStack.length) this.loopStack[this.loopStack.length - 1].breaks |= state;
        return 0;
      case 'continue':
        if (this.loopStack.length) this.loopStack[this.loopStack.length - 1].continues |= state;
        return 0;
      case 'goto':
        this.gotos.set(st.label, (this.gotos.get(st.label) ?? 0) | state);
        return 0;
      case 'label':
        return state | (this.gotos.get(st.label) ?? 0);
    }
  }
}

export function describeMask(m: Mask): 'held' | 'may-be-held' | 'not-held' {
  return m === HELD ? 'held' : m & HELD ? 'may-be-held' : 'not-held';
}
