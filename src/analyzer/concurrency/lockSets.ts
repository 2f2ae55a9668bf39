import type { Site, Stmt } from '../model';
import { CorrelatedGuards, NO_ASSUMPTIONS, assumedBranch } from './guards';
import type { Assumption } from './guards';
import type { LinkedProgram } from '../link/linker';
import { callersOf } from '../link/reach';
import { countsDepth, syncCallTargets } from './programLookups';
import type { LockOps } from './lockOps';
import type { LockMode } from './types';

/** Locks that may be held at a point: `key#mode` → the call in this function that took it. */
type Held = ReadonlyMap<string, number>;
const EMPTY: Held = new Map();

const km = (key: string, mode: LockMode): string => `${key}#${mode}`;
export const splitKm = (k: string): { key: string; mode: LockMode } => {
  const i = k.lastIndexOf('#');
  return { key: k.slice(0, i), mode: k.slice(i + 1) as LockMode };
};

/** What a call to a function does to the caller's locks: wrappers are discovered, not listed. */
interface EffectSummary {
  /** Locks (`key#mode`) the function may return holding, having taken them itself: an acquire wrapper. */
  exitHeld: Set<string>;
  /** Locks (keys) it releases without having taken them: a release wrapper. */
  released: Set<string>;
}

/** How a function comes to take a lock during a call: directly at `call`, or through `target`. */
interface Acquisition { call: number; target: number; inner: string }

/** "Lock `to` is taken while `from` is held", at one call site. */
export interface OrderEdge {
  from: string;
  fromMode: LockMode;
  to: string;
  toMode: LockMode;
  /** The function holding `from`. */
  fn: number;
  /** The call in `fn` that took `from`. */
  holdCall: number;
  /** The call in `fn` that takes `to` (directly, or somewhere below). */
  call: number;
  /** Other locks (`key#mode`) held there: a gate common to both sides of a cycle prevents the deadlock. */
  gates: string[];
}

/**
 * Per-function lock sets in statement order (may-held, through branches, loops, early returns
 * and gotos) with compositional summaries, as Infer's lock-order checker does: each function's
 * effect on its caller's locks (acquire/release wrappers) and every lock it may take during a
 * call, with the first step towards it. From them, the lock-order edges of the whole program.
 */
export class LockSets {
  private readonly summaries: (EffectSummary | undefined)[];
  readonly acquisitions: (Map<string, Acquisition> | undefined)[];
  readonly edges: OrderEdge[] = [];
  private readonly syncTargets: readonly (readonly (readonly number[])[])[];
  /** Calls (by function) that release a lock key, directly or through a release wrapper, with the keys. */
  readonly releaseSites: { fn: number; call: number; key: string }[] = [];
  /** Locks (`key#mode`) this function itself holds at each of its lock-taking calls. */
  readonly heldAtOps = new Map<number, Map<number, string[]>>();

  private readonly guards: CorrelatedGuards;
  private readonly releaseSeen = new Set<string>();

  constructor(private readonly program: LinkedProgram, private readonly ops: LockOps) {
    this.guards = CorrelatedGuards.of(program);
    this.syncTargets = syncCallTargets(program).map((calls) => calls.map((targets) => targets.filter((t) => !!program.facts[t])));
    this.summaries = program.functions.map(() => undefined);
    this.acquisitions = program.functions.map(() => undefined);
    const relevant = this.calleesFirst(callersOf(program, ops.functions));
    this.computeSummaries(relevant);
    this.computeAcquisitions(relevant);
    this.computeEdges(relevant);
  }

  /** Callees before callers (a DFS post-order), so the fixpoints below settle in one or two rounds. */
  private calleesFirst(fns: Set<number>): number[] {
    const order: number[] = [];
    const state = new Uint8Array(this.program.functions.length);
    for (const root of [...fns].sort((a, b) => a - b)) {
      if (state[root]) continue;
      const stack: { fn: number; next: number; targets: number[] }[] = [{ fn: root, next: 0, targets: this.calleesIn(root, fns) }];
      state[root] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1];
        if (top.next < top.targets.length) {
          const t = top.targets[top.next++];
          if (!state[t]) { state[t] = 1; stack.push({ fn: t, next: 0, targets: this.calleesIn(t, fns) }); }
        } else {
          order.push(top.fn);
          stack.pop();
        }
      }
    }
    return order;
  }

  private calleesIn(fn: number, fns: Set<number>): number[] {
    const out: number[] = [];
    for (const targets of this.syncTargets[fn] ?? []) for (const t of targets) if (fns.has(t)) out.push(t);
    return out;
  }

  /**
   * `held = bucket_trylock(hv); … if (held) bucket_untry(held);` (memcached's `item_trylock`): a
   * local that holds what a try-lock function returned is null exactly where that try failed (or
   * after it was released and cleared), so on the branch where the local is null the locks those
   * calls took are not held through it. Held locks taken by other calls stay.
   */
  private tryResultNull(fn: number, st: Extract<Stmt, { s: 'if' }>): { branch: 'then' | 'else'; drop: (held: Held) => Held } | null {
    if (!st.guard) return null;
    const facts = this.program.facts[fn]!;
    const local = st.guard.name;
    let sources = this.trySources.get(fn)?.get(local);
    if (sources === undefined) {
      sources = new Set<string>();
      for (const flow of facts.flows) {
        if (flow.to.k !== 'local' || flow.to.name !== local) continue;
        for (const v of flow.from) if (v.k === 'ret') sources.add(v.fn);
      }
      let byLocal = this.trySources.get(fn);
      if (!byLocal) this.trySources.set(fn, (byLocal = new Map()));
      byLocal.set(local, sources);
    }
    if (!sources.size) return null;
    const found = sources;
    const takenThrough = (call: number) => {
      const callee = facts.calls[call]?.callee;
      return callee?.k === 'name' && found.has(callee.name) && this.triesOnly(fn, call);
    };
    return {
      branch: st.guard.when ? 'else' : 'then',
      drop: (held) => {
        let out: Map<string, number> | null = null;
        for (const [k, call] of held) if (takenThrough(call)) (out ??= new Map(held)).delete(k);
        return out ?? held;
      },
    };
  }

  /** Whether call `call` of `fn` may take locks only by trying (a try-lock, or a function that only tries them). */
  private triesOnly(fn: number, call: number): boolean {
    return (this.syncTargets[fn]?.[call] ?? []).some((t) => this.tryingFunctions.has(t));
  }

  private readonly trySources = new Map<number, Map<string, Set<string>>>();

  /** Functions that try a lock and take none by waiting: their result says whether they got it. */
  private get tryingFunctions(): Set<number> {
    if (!this.tryingCache) {
      this.tryingCache = new Set();
      for (const f of this.ops.functions) {
        const ops = (this.ops.at[f] ?? []).flatMap((o) => o ?? []);
        if (ops.some((o) => o.op === 'try') && !ops.some((o) => o.op === 'acquire')) this.tryingCache.add(f);
      }
    }
    return this.tryingCache;
  }

  private tryingCache: Set<number> | undefined;

  private computeSummaries(order: number[]): void {
    for (let round = 0; round < 10; round++) {
      let changed = false;
      for (const f of order) {
        const released = new Set<string>();
        const mayExit = this.walk(f, released, null, join);
        // Returned-held must hold on every path: `if (x) lock(); …; if (x) unlock();` is no wrapper.
        const exit = new Set(this.walk(f, new Set(), null, meet).keys());
        // …except that a function that takes a lock on some path, never releases it anywhere and
        // counts its thread's depth is a re-entrant acquire wrapper: `if (!mine->locked)
        // rdlock(&l); mine->locked++;` skips the lock only when the thread holds it already. One
        // that locks on its caller's say-so (`if (need) lock();`) is not (lock_order_conditional_gate_bad).
        const releasesHere = this.releasedKeysIn(f);
        if (countsDepth(this.program, f)) for (const k of mayExit.keys()) if (!releasesHere.has(splitKm(k).key)) exit.add(k);
        const next: EffectSummary = { exitHeld: exit, released };
        const prev = this.summaries[f];
        if (!prev || !sameSet(prev.exitHeld, next.exitHeld) || !sameSet(prev.released, next.released)) {
          changed = changed || !!prev || next.exitHeld.size > 0 || next.released.size > 0;
          this.summaries[f] = next;
        }
      }
      if (!changed) break;
    }
  }

  private computeAcquisitions(order: number[]): void {
    for (const f of order) {
      const acq = new Map<string, Acquisition>();
      (this.ops.at[f] ?? []).forEach((ops, c) => {
        // A try-lock is not an acquisition for lock order: it gives up instead of waiting.
        for (const o of ops ?? []) if (o.op === 'acquire' && !acq.has(km(o.key, o.mode))) acq.set(km(o.key, o.mode), { call: c, target: -1, inner: km(o.key, o.mode) });
      });
      this.acquisitions[f] = acq;
    }
    for (let round = 0; round < 20; round++) {
      let changed = false;
      for (const f of order) {
        const acq = this.acquisitions[f]!;
        const calls = this.syncTargets[f] ?? [];
        for (let c = 0; c < calls.length; c++) {
          if (this.ops.at[f]?.[c]) continue;
          for (const t of calls[c]) {
            const inner = this.acquisitions[t];
            if (!inner || t === f) continue;
            for (const k of inner.keys()) {
              const { key, mode } = splitKm(k);
              for (const sub of this.ops.substitute(key, f, c)) {
                const outer = km(sub, mode);
                if (!acq.has(outer)) { acq.set(outer, { call: c, target: t, inner: k }); changed = true; }
              }
            }
          }
        }
      }
      if (!changed) break;
    }
  }

  private computeEdges(order: number[]): void {
    const seen = new Set<string>();
    for (const f of order) {
      if (!this.mayHoldLocally(f)) continue;
      this.walk(f, new Set(), (c, held) => {
        const ops = this.ops.at[f]?.[c];
        for (const o of ops ?? []) if (o.op === 'release') this.noteRelease(f, c, o.key);
        if (ops?.some((o) => o.op !== 'release')) {
          let m = this.heldAtOps.get(f);
          if (!m) this.heldAtOps.set(f, (m = new Map()));
          m.set(c, [...new Set([...(m.get(c) ?? []), ...held.keys()])]);
        }
        if (!held.size) return;
        const taken: { key: string; mode: LockMode; releasedFirst: Set<string> }[] = [];
        if (ops) {
          for (const o of ops) if (o.op === 'acquire') taken.push({ key: o.key, mode: o.mode, releasedFirst: new Set() });
        } else {
          for (const t of this.syncTargets[f]?.[c] ?? []) {
            const inner = this.acquisitions[t];
            if (!inner) continue;
            const releasedFirst = new Set<string>();
            for (const r of this.summaries[t]?.released ?? []) for (const s of this.ops.substitute(r, f, c)) releasedFirst.add(s);
            for (const k of inner.keys()) {
              const { key, mode } = splitKm(k);
              for (const sub of this.ops.substitute(key, f, c)) taken.push({ key: sub, mode, releasedFirst });
            }
          }
        }
        for (const b of taken) {
          if (b.key.startsWith('P:')) continue;
          for (const [a, holdCall] of held) {
            const { key: aKey, mode: aMode } = splitKm(a);
            if (aKey === b.key || aKey.startsWith('P:') || b.releasedFirst.has(aKey)) continue;
            const id = `${a}>${km(b.key, b.mode)}@${f}:${c}`;
            if (seen.has(id)) continue;
            seen.add(id);
            const gates = [...held.keys()].filter((g) => g !== a && splitKm(g).key !== b.key);
            this.edges.push({ from: aKey, fromMode: aMode, to: b.key, toMode: b.mode, fn: f, holdCall, call: c, gates });
          }
        }
      });
    }
    // Release sites in functions that never hold a lock themselves (release wrappers' callers, callbacks).
    for (const f of order) {
      if (this.mayHoldLocally(f)) continue;
      (this.ops.at[f] ?? []).forEach((ops, c) => { for (const o of ops ?? []) if (o.op === 'release') this.noteRelease(f, c, o.key); });
      (this.syncTargets[f] ?? []).forEach((targets, c) => {
        for (const t of targets) for (const r of this.summaries[t]?.released ?? []) for (const s of this.ops.substitute(r, f, c)) this.noteRelease(f, c, s);
      });
    }
  }

  /** Acquire wrappers (return holding a lock on every path) and release wrappers (release one they did not take). */
  wrappers(): { fn: number; key: string; role: 'acquire' | 'release'; mode?: LockMode }[] {
    const out: { fn: number; key: string; role: 'acquire' | 'release'; mode?: LockMode }[] = [];
    this.summaries.forEach((s, fn) => {
      if (!s) return;
      for (const h of s.exitHeld) { const { key, mode } = splitKm(h); out.push({ fn, key, role: 'acquire', mode }); }
      // Only the functions that release directly count as release wrappers; their callers are just callers.
      for (const k of s.released) if ((this.ops.at[fn] ?? []).some((ops) => ops?.some((o) => o.op === 'release' && o.key === k))) out.push({ fn, key: k, role: 'release' });
    });
    return out;
  }

  /** Keys this function releases, directly or through a callee's summary. */
  private releasedKeysIn(f: number): Set<string> {
    const out = new Set<string>();
    (this.ops.at[f] ?? []).forEach((ops) => { for (const o of ops ?? []) if (o.op === 'release') out.add(o.key); });
    (this.syncTargets[f] ?? []).forEach((targets, c) => {
      for (const t of targets) for (const r of this.summaries[t]?.released ?? []) for (const k of this.ops.substitute(r, f, c)) out.add(k);
    });
    return out;
  }

  /** Whether a function can hold a lock at one of its calls: it takes one, or calls an acquire wrapper. */
  private mayHoldLocally(f: number): boolean {
    if ((this.ops.at[f] ?? []).some((ops) => ops?.some((o) => o.op !== 'release'))) return true;
    return (this.syncTargets[f] ?? []).some((targets) => targets.some((t) => (this.summaries[t]?.exitHeld.size ?? 0) > 0));
  }

  /** The calls from `fn`'s call `call` (into `target`) down to where `lock` is taken. */
  acquisitionPath(fn: number, call: number, target: number, lock: string): { hops: { fn: number; call: number; edge: number }[]; fn: number; call: number } | null {
    const hops: { fn: number; call: number; edge: number }[] = [];
    let curFn = fn;
    let curCall = call;
    let next = target;
    let k = lock;
    for (let guard = 0; guard < 64; guard++) {
      if (next < 0) return { hops, fn: curFn, call: curCall };
      const edge = (this.program.callEdges[curFn]?.[curCall] ?? []).find((ei) => this.program.edgeTo[ei] === next);
      if (edge === undefined) return null;
      hops.push({ fn: curFn, call: curCall, edge });
      const acq = this.acquisitions[next]?.get(k) ?? this.findInner(next, k);
      if (!acq) return null;
      curFn = next;
      curCall = acq.call;
      next = acq.target;
      k = acq.inner;
    }
    return null;
  }

  /** A callee records the lock under its own parameter key when the caller passed it in. */
  private findInner(fn: number, k: string): Acquisition | undefined {
    const { mode } = splitKm(k);
    for (const [key, a] of this.acquisitions[fn] ?? []) if (key.startsWith('P:') && key.endsWith(`#${mode}`)) return a;
    return undefined;
  }

  callSite(fn: number, call: number): Site {
    return this.program.facts[fn]!.calls[call].site;
  }

  // ------------------------------------------------------------------ the walk

  private transfer(fn: number, c: number, held: Held, released: Set<string>): Held {
    const ops = this.ops.at[fn]?.[c];
    if (ops) {
      let out = new Map(held);
      for (const o of ops) {
        if (o.op === 'release') out = drop(out, o.key, released);
        else if (!out.has(km(o.key, o.mode))) out.set(km(o.key, o.mode), c);
      }
      return out;
    }
    let result: Held | null = null;
    for (const t of this.syncTargets[fn]?.[c] ?? []) {
      const s = this.summaries[t];
      if (!s || (!s.exitHeld.size && !s.released.size)) { result = join(result, held); continue; }
      let out = new Map(held);
      for (const r of s.released) for (const k of this.ops.substitute(r, fn, c)) out = drop(out, k, released);
      for (const h of s.exitHeld) {
        const { key, mode } = splitKm(h);
        for (const k of this.ops.substitute(key, fn, c)) if (!out.has(km(k, mode))) out.set(km(k, mode), c);
      }
      result = join(result, out);
    }
    return result ?? held;
  }

  /** Records a release site once (a function walked under several assumptions sees its calls more than once). */
  private noteRelease(fn: number, call: number, key: string): void {
    const id = `${fn}:${call}:${key}`;
    if (this.releaseSeen.has(id)) return;
    this.releaseSeen.add(id);
    this.releaseSites.push({ fn, call, key });
  }

  /** Walks `fn`'s body from an empty lock set; returns the locks that may be held at its exits. */
  private walk(fn: number, released: Set<string>, onCall: ((call: number, held: Held) => void) | null, combine: Combine = join): Held {
    const facts = this.program.facts[fn];
    if (!facts) return EMPTY;
    const exits: Held[] = [];
    // Once per value of the flags that guard correlated branches (guards.ts).
    for (const assume of this.guards.assumptionsFor(fn)) {
      const w = new SetWalker((c, held) => {
        onCall?.(c, held);
        return this.transfer(fn, c, held, released);
      }, combine, assume, (st) => this.tryResultNull(fn, st));
      const end = w.walk(facts.body, EMPTY);
      if (end) w.exits.push(end);
      exits.push(...w.exits);
    }
    // A lock counts as returned-held only if every exit holds it: an error path that forgets to
    // unlock does not make a function an acquire wrapper.
    return intersect(exits);
  }
}

function drop(held: Map<string, number>, key: string, released: Set<string>): Map<string, number> {
  let found = false;
  for (const k of [...held.keys()]) if (splitKm(k).key === key) { held.delete(k); found = true; }
  if (!found) released.add(key);
  return held;
}

type Combine = (a: Held | null, b: Held | null) => Held | null;

/** Must-held: a lock survives a merge only if both paths hold it. */
function meet(a: Held | null, b: Held | null): Held | null {
  if (!a) return b;
  if (!b || a === b) return a;
  let out: Map<string, number> | null = null;
  for (const k of a.keys()) {
    if (b.has(k)) continue;
    out ??= new Map(a);
    out.delete(k);
  }
  return out ?? a;
}

/** May-held: a lock held on either path. */
function join(a: Held | null, b: Held | null): Held | null {
  if (!a) return b;
  if (!b || a === b) return a;
  if (!b.size) return a;
  if (!a.size) return b;
  let out: Map<string, number> | null = null;
  for (const [k, v] of b) {
    if (a.has(k)) continue;
    out ??= new Map(a);
    out.set(k, v);
  }
  return out ?? a;
}

function intersect(states: Held[]): Held {
  if (!states.length) return EMPTY;
  let out: Map<string, number> | null = null;
  for (const k of states[0].keys()) {
    if (states.every((s) => s.has(k))) (out ??= new Map()).set(k, states[0].get(k)!);
  }
  return out ?? EMPTY;
}

function sameKeys(a: Held | null, b: Held | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}

/** The statement walk of lockState.ts, over lock sets instead of one lock's bits (null = unreachable). */
class SetWalker {
  readonly exits: Held[] = [];
  private readonly loops: { breaks: Held | null; continues: Held | null }[] = [];
  private readonly gotos = new Map<string, Held | null>();

  constructor(
    private readonly call: (call: number, held: Held) => Held,
    private readonly join: Combine,
    private readonly assume: Assumption = NO_ASSUMPTIONS,
    /** For an `if` testing a local that holds a try-lock's result: the branch where it is null, and what that branch no longer holds. */
    private readonly nullBranch: (st: Extract<Stmt, { s: 'if' }>) => { branch: 'then' | 'else'; drop: (held: Held) => Held } | null = () => null,
  ) {}

  walk(stmts: readonly Stmt[], state: Held | null): Held | null {
    let s = state;
    for (const st of stmts) s = this.step(st, s);
    return s;
  }

  private step(st: Stmt, state: Held | null): Held | null {
    switch (st.s) {
      case 'call':
        return state ? this.call(st.call, state) : null;
      case 'if': {
        const s = this.walk(st.cond, state);
        const branch = assumedBranch(st, this.assume);
        if (branch) return this.walk(st[branch], s);
        const refined = s ? this.nullBranch(st) : null;
        if (refined) {
          const dropped = refined.drop(s!);
          return refined.branch === 'then'
            ? this.join(this.walk(st.then, dropped), this.walk(st.else, s))
            : this.join(this.walk(st.then, s), this.walk(st.else, dropped));
        }
        return this.join(this.walk(st.then, s), this.walk(st.else, s));
      }
      case 'loop': {
        this.loops.push({ breaks: null, continues: null });
        let head = state;
        // A `do` loop leaves only after its body ran: its exit is the state after an iteration.
        let afterIterations: typeof state = null;
        for (let i = 0; i < 3; i++) {
          const afterCond = st.kind === 'do' ? head : this.walk(st.cond, head);
          const afterBody = this.walk(st.body, afterCond);
          const frame = this.loops[this.loops.length - 1];
          const afterIteration = st.kind === 'do' ? this.walk(st.cond, this.join(afterBody, frame.continues)) : this.join(afterBody, frame.continues);
          afterIterations = this.join(afterIterations, afterIteration);
          const next = this.join(head, afterIteration);
          if (sameKeys(next, head) && i > 0) break;
          head = next;
        }
        const frame = this.loops.pop()!;
        const exitByCondition = st.infinite ? null : st.kind === 'do' ? afterIterations : this.walk(st.cond, head);
        return this.join(exitByCondition, frame.breaks);
      }
      case 'switch': {
        const s = this.walk(st.cond, state);
        this.loops.push({ breaks: null, continues: null });
        let fallthrough: Held | null = null;
        for (const c of st.cases) fallthrough = this.walk(c, this.join(s, fallthrough));
        const frame = this.loops.pop()!;
        if (this.loops.length) this.loops[this.loops.length - 1].continues = this.join(this.loops[this.loops.length - 1].continues, frame.continues);
        return this.join(this.join(fallthrough, frame.breaks), s);
      }
      case 'return': {
        const s = this.walk(st.value, state);
        if (s) this.exits.push(s);
        return null;
      }
      case 'break':
        if (this.loops.length) this.loops[this.loops.length - 1].breaks = this.join(this.loops[this.loops.length - 1].breaks, state);
        return null;
      case 'continue':
        if (this.loops.length) this.loops[this.loops.length - 1].continues = this.join(this.loops[this.loops.length - 1].continues, state);
        return null;
      case 'goto':
        this.gotos.set(st.label, this.join(this.gotos.get(st.label) ?? null, state));
        return null;
      case 'label':
        return this.join(state, this.gotos.get(st.label) ?? null);
    }
  }
}
