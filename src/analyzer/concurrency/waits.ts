import type { Access, CallFact, Site, Stmt, Val } from '../model';
import type { LinkedProgram } from '../link/linker';
import type { Profile, WaitKind } from '../profile/profile';
import { callersOf } from '../link/reach';
import { compactText } from '../extract/syntaxHelpers';
import { calleeNames } from './programLookups';

/** A place where a function blocks until another thread acts. */
export interface WaitSite {
  fn: number;
  kind: WaitKind;
  site: Site;
  expression: string;
  bounded: boolean;
  yielding: boolean;
  evidence: string;
  /** The wait call (primitive waits). */
  call?: number;
  /** The loop (spin-waits). */
  loop?: Extract<Stmt, { s: 'loop' }>;
  /** Storage keys of the object waited on (primitives). */
  objectKeys: string[];
  /** Shared state a spin-wait's condition reads. */
  condReads: Access[];
}

/** How a try-lock call behaves (see `WaitFinder.tryLockRetry`). */
export interface TryLockUse {
  /** It spins until the lock is free, like taking it. */
  blocks: boolean;
  /** The loop that retries it (null: not in a loop). */
  loop: Site | null;
  why: string;
}

/**
 * Finds primitive waits (condition variables, barriers, joins, semaphores from the profile) and
 * spin-waits: a loop whose condition reads shared state the body does not write, and whose body
 * only sleeps, yields or pauses. Bounded and yielding waits are recognised as such.
 */
export class WaitFinder {
  private readonly waitApis: Map<string, Profile['waits'][number]>;
  private readonly sleeps: Set<string>;
  private readonly clocks: Set<string>;
  readonly yieldingFns: Set<number>;
  private clockReaders: Set<number> | undefined;

  constructor(private readonly program: LinkedProgram, private readonly profile: Profile) {
    this.waitApis = new Map(profile.waits.map((w) => [w.api, w]));
    this.sleeps = new Set(profile.sleeps);
    this.clocks = new Set(profile.clocks);
    this.yieldingFns = this.functionsReaching(new Set(profile.yields));
  }

  find(): WaitSite[] {
    const out: WaitSite[] = [];
    const nonBlocking = this.nonBlockingChannels();
    this.program.facts.forEach((facts, fn) => {
      if (!facts) return;
      // The profile's own wait primitives, when the tree defines them (portability shims), are
      // reported at their callers, not inside.
      if (this.waitApis.has(facts.name)) return;
      facts.calls.forEach((call, ci) => {
        // Wait APIs are called by name (directly or in a macro's expansion).
        if (call.callee.k !== 'name' || !this.waitApis.has(call.callee.name) && !this.wrapsWaitApi(fn, ci)) return;
        const api = this.calleeNames(fn, ci).map((n) => this.waitApis.get(n)).find(Boolean);
        if (!api) return;
        const objectKeys = this.objectKeys(call.args[api.objectArg] ?? [], fn);
        // A semaphore waited and posted by the same function is a lock there (the lock analysis owns it).
        if (api.kind === 'semaphore' && this.postsInSameFunction(fn, objectKeys)) return;
        if ((api.kind === 'channel-send' || api.kind === 'channel-receive')
          && (this.passesNonBlockingFlag(call, fn) || objectKeys.some((k) => nonBlocking.has(k)))) return;
        out.push({
          fn, kind: api.kind, site: call.site, call: ci,
          expression: `${call.text}(${call.argTexts[0] ?? ''}${call.args.length > 1 ? ', …' : ''})`,
          bounded: api.bounded,
          yielding: false,
          evidence: `${call.text} blocks until another thread ${releaseVerb(api.kind)}${api.bounded ? '; it has a timeout' : ', with no timeout'}`,
          objectKeys,
          condReads: [],
        });
      });
      this.visitLoops(facts.body, (loop) => {
        const spin = this.spinWait(fn, loop);
        if (spin) out.push(spin);
      });
    });
    return out;
  }

  private postsInSameFunction(fn: number, keys: string[]): boolean {
    const posts = new Set(this.profile.lockOps.filter((o) => o.balancedOnly && o.op === 'release').map((o) => o.api));
    const facts = this.program.facts[fn]!;
    return facts.calls.some((c, ci) => this.calleeNames(fn, ci).some((n) => posts.has(n))
      && this.objectKeys(c.args[0] ?? [], fn).some((k) => keys.includes(k)));
  }

  /**
   * `fcntl(fd, F_SETFL, O_NONBLOCK)`, `send(fd, b, n, MSG_DONTWAIT)`: the flag is in the arguments'
   * text or names, or in what a local passed there was assigned (`flags |= O_NONBLOCK;` then
   * `fcntl(fd, F_SETFL, flags)`, hiredis' `redisSetBlocking`).
   */
  private passesNonBlockingFlag(call: CallFact, fn?: number): boolean {
    const flags = this.profile.nonBlocking.flags;
    const constants = fn === undefined ? undefined : this.program.facts[fn]?.localConstants;
    return call.argTexts.some((t) => flags.some((flag) => t.includes(flag)))
      || call.args.some((vals) => vals.some((v) => (v.k === 'ident' && flags.includes(v.name))
        || (v.k === 'read' && v.loc.k === 'local' && !!constants?.[v.loc.name]?.some((c) => flags.includes(c)))));
  }

  /** Channels (fds, queues) some call makes non-blocking: writes and reads on them never wait. */
  private nonBlockingChannels(): Set<string> {
    const setters = new Map(this.profile.nonBlocking.setters.map((s) => [s.api, s.objectArg]));
    const out = new Set<string>();
    this.program.facts.forEach((facts, fn) => {
      facts?.calls.forEach((call, ci) => {
        if (call.callee.k !== 'name' || !setters.has(call.callee.name)) return;
        if (!this.passesNonBlockingFlag(call, fn)) return;
        for (const name of this.calleeNames(fn, ci)) {
          const arg = setters.get(name);
          if (arg !== undefined) for (const k of this.objectKeys(call.args[arg] ?? [], fn)) out.add(k);
        }
      });
    });
    return out;
  }

  /** Keys of the objects a list of argument values denotes (`&pool->cond` → the `cond` field of its struct). */
  objectKeys(vals: readonly Val[], fn: number): string[] {
    const keys: string[] = [];
    for (const v of vals) {
      const key = v.k === 'read' ? this.program.locationKey(v.loc, fn) : v.k === 'ident' ? this.program.locationKey({ k: 'global', name: v.name }, fn) : null;
      if (key) keys.push(key);
    }
    return keys;
  }

  /** A call to a defined function named like a wait API (a portability shim) still counts. */
  private wrapsWaitApi(fn: number, call: number): boolean {
    return (this.program.callEdges[fn]?.[call] ?? []).some((ei) => this.waitApis.has(this.program.functions[this.program.edgeTo[ei]].name));
  }

  calleeNames(fn: number, call: number): string[] {
    return calleeNames(this.program, fn, call);
  }

  private visitLoops(stmts: readonly Stmt[], visit: (loop: Extract<Stmt, { s: 'loop' }>) => void): void {
    for (const st of stmts) {
      switch (st.s) {
        case 'loop': visit(st); this.visitLoops(st.cond, visit); this.visitLoops(st.body, visit); break;
        case 'if': this.visitLoops(st.cond, visit); this.visitLoops(st.then, visit); this.visitLoops(st.else, visit); break;
        case 'switch': this.visitLoops(st.cond, visit); for (const c of st.cases) this.visitLoops(c, visit); break;
        case 'return': this.visitLoops(st.value, visit); break;
        default: break;
      }
    }
  }

  private spinWait(fn: number, loop: Extract<Stmt, { s: 'loop' }>): WaitSite | null {
    const shared = loop.condReads.filter((r) => r.loc.k !== 'local');
    if (!shared.length) return null;
    // The body may only wait: sleep/yield/pause calls, and control flow that gives up.
    let givesUp = false;
    let yields = false;
    const onlyWaits = (stmts: readonly Stmt[]): boolean => stmts.every((st) => {
      switch (st.s) {
        case 'call': {
          const names = this.calleeNames(fn, st.call);
          if (names.some((n) => this.sleeps.has(n))) {
            if (names.some((n) => this.profile.yields.includes(n))) yields = true;
            return true;
          }
          // A callback that yields (RedisModule_Yield inside) counts as waiting, too.
          const targets = (this.program.callEdges[fn]?.[st.call] ?? []).map((ei) => this.program.edgeTo[ei]);
          if (targets.length && targets.every((t) => this.yieldingFns.has(t))) { yields = true; return true; }
          return false;
        }
        case 'break': case 'return': case 'goto': givesUp = true; return true;
        case 'continue': case 'label': return true;
        case 'if': return onlyWaits(st.cond) && onlyWaits(st.then) && onlyWaits(st.else);
        default: return false;
      }
    });
    if (!onlyWaits(loop.body)) return null;
    // A loop that waits must either sleep/yield, or spin on nothing at all. An empty loop that
    // advances its own locals (`for (; *p == ' '; p++);`) is a scan, not a wait.
    const sleeps = containsCall(loop.body);
    if (!sleeps && (loop.bodyLocalWrites.length > 0 || loop.cond.length > 0 || loop.kind === 'for')) return null;
    const readKeys = new Set(shared.flatMap((r) => this.program.readKeys(r.loc, fn)));
    const written = loop.bodyWrites.some((w) => {
      const k = this.program.locationKey(w.loc, fn);
      return k !== null && readKeys.has(k);
    });
    if (written) return null;
    const counter = loop.condLocals.filter((l) => loop.bodyLocalWrites.includes(l));
    const condClock = this.readsClock(fn, loop.cond);
    const bounded = givesUp || counter.length > 0 || condClock;
    const facts = this.program.facts[fn]!;
    const why = givesUp ? 'the body can leave the loop (break/return)' : counter.length ? `the condition tests ${counter.join(', ')}, which the body updates` : condClock ? 'the condition reads a clock' : 'nothing bounds it';
    return {
      fn, kind: 'spin', loop,
      site: { file: facts.site.file, line: loop.line, col: loop.col },
      expression: `${loop.kind === 'do' ? 'do … while' : loop.kind} (${compactText(loop.condText.replace(/^\((.*)\)$/s, '$1'), 100)})`,
      bounded,
      yielding: yields,
      evidence: `spin-wait: the loop re-reads ${shared.map((r) => r.text).join(', ')}, which its body never writes, and its body only ${yields ? 'yields/sleeps' : 'sleeps'}; ${bounded ? 'bounded: ' : 'unbounded: '}${why}`,
      objectKeys: [],
      condReads: shared,
    };
  }

  /** Whether statements call a clock, directly or through a function that reads one (`elapsed_ms(t)` → `clock_gettime`). */
  private readsClock(fn: number, stmts: readonly Stmt[]): boolean {
    this.clockReaders ??= this.functionsReaching(this.clocks);
    const readers = this.clockReaders;
    const visit = (xs: readonly Stmt[]): boolean => xs.some((st) => {
      switch (st.s) {
        case 'call': return this.calleeNames(fn, st.call).some((n) => this.clocks.has(n))
          || (this.program.callEdges[fn]?.[st.call] ?? []).some((ei) => readers.has(this.program.edgeTo[ei]));
        case 'if': return visit(st.cond) || visit(st.then) || visit(st.else);
        case 'loop': return visit(st.cond) || visit(st.body);
        case 'switch': return visit(st.cond) || st.cases.some(visit);
        case 'return': return visit(st.value);
        default: return false;
      }
    });
    return visit(stmts);
  }

  /**
   * Whether a try-lock call can block like the lock itself. One attempt gives up when another
   * thread holds the lock; retried until it succeeds (the call in a loop's condition, in an `if`
   * whose branch leaves the loop, or in a loop that only tries and waits while its condition tests
   * a flag the body sets) with nothing that bounds the loop (a clock in its condition, a counter,
   * another way out of the body), it spins for as long as the lock is held:
   * `while (TryLock(ctx) != OK) usleep(10);`.
   */
  tryLockRetry(fn: number, call: number): TryLockUse {
    // Asked by the lock model and by each lock's findings: decided once per call site.
    const key = `${fn}:${call}`;
    let use = this.tryUses.get(key);
    if (!use) this.tryUses.set(key, (use = this.decideTryLock(fn, call)));
    return use;
  }

  private readonly tryUses = new Map<string, TryLockUse>();

  private decideTryLock(fn: number, call: number): TryLockUse {
    const facts = this.program.facts[fn];
    if (!facts) return { blocks: false, loop: null, why: 'tried once' };
    type Loop = Extract<Stmt, { s: 'loop' }>;
    type IfStmt = Extract<Stmt, { s: 'if' }>;
    /** The innermost loop around the call; where in it the call is; the `if` (in that loop) whose condition holds it. */
    type Found = { loop: Loop | null; inCond: boolean; testedBy: IfStmt | null };
    const search = (stmts: readonly Stmt[], enclosing: Found): Found | null => {
      for (const st of stmts) {
        let hit: Found | null = null;
        switch (st.s) {
          case 'call': if (st.call === call) return enclosing; break;
          case 'loop': hit = search(st.cond, { loop: st, inCond: true, testedBy: null }) ?? search(st.body, { loop: st, inCond: false, testedBy: null }); break;
          case 'if': hit = search(st.cond, { ...enclosing, testedBy: st }) ?? search(st.then, enclosing) ?? search(st.else, enclosing); break;
          case 'switch': hit = search(st.cond, enclosing) ?? st.cases.reduce<Found | null>((h, c) => h ?? search(c, enclosing), null); break;
          case 'return': hit = search(st.value, enclosing); break;
          default: break;
        }
        if (hit) return hit;
      }
      return null;
    };
    const found = search(facts.body, { loop: null, inCond: false, testedBy: null });
    const loop = found?.loop;
    if (!found || !loop) return { blocks: false, loop: null, why: 'tried once: it gives up while another thread holds the lock' };
    const loopSite = { file: facts.site.file, line: loop.line, col: loop.col };
    const tested = loop.condLocals.filter((l) => loop.bodyLocalWrites.includes(l));
    /** Exits from the loop (not from loops inside it), leaving out those under `except`. */
    const exits = (stmts: readonly Stmt[], except: IfStmt | null): boolean => stmts.some((st) => st.s === 'break' || st.s === 'return' || st.s === 'goto'
      || (st.s === 'if' && st !== except && (exits(st.then, except) || exits(st.else, except))));
    const onlyTriesAndWaits = (stmts: readonly Stmt[]): boolean => stmts.every((st) => {
      switch (st.s) {
        case 'call': return st.call === call || this.calleeNames(fn, st.call).some((n) => this.sleeps.has(n));
        case 'if': return onlyTriesAndWaits(st.cond) && onlyTriesAndWaits(st.then) && onlyTriesAndWaits(st.else);
        case 'break': case 'return': case 'goto': case 'continue': case 'label': return true;
        default: return false;
      }
    });
    // How the loop ends once the try succeeds: its condition tests the try (`while (TryLock(c) != OK)`),
    // an `if` on the try leaves it (`for (;;) { if (TryLock(c) == OK) break; usleep(1); }`), or its
    // condition tests a flag that a body doing nothing else sets (`do locked = …; while (!locked)`).
    const successExit = found.testedBy && (exits(found.testedBy.then, null) || exits(found.testedBy.else, null)) ? found.testedBy : null;
    const viaFlag = !found.inCond && !successExit && tested.length > 0 && onlyTriesAndWaits(loop.body);
    if (!found.inCond && !successExit && !viaFlag) return { blocks: false, loop: loopSite, why: 'tried once per iteration of a loop that goes on without it' };
    if (exits(loop.body, successExit)) return { blocks: false, loop: loopSite, why: 'retried in a loop that can give up (break/return)' };
    if (this.readsClock(fn, loop.cond)) return { blocks: false, loop: loopSite, why: 'retried until a deadline: the loop condition reads a clock' };
    // Tested locals the body updates are counters, except the flag the try sets.
    if (tested.length > (viaFlag ? 1 : 0)) return { blocks: false, loop: loopSite, why: `retried a bounded number of times: the condition tests ${tested.join(', ')}` };
    return { blocks: true, loop: loopSite, why: 'retried until it succeeds: nothing bounds the loop' };
  }

  /** Functions that reach any of `apis` synchronously. */
  functionsReaching(apis: Set<string>): Set<number> {
    const seeds: number[] = [];
    this.program.functions.forEach((f, i) => { if (apis.has(f.name)) seeds.push(i); });
    return callersOf(this.program, seeds);
  }
}

function containsCall(stmts: readonly Stmt[]): boolean {
  return stmts.some((st) => st.s === 'call' || (st.s === 'if' && (containsCall(st.cond) || containsCall(st.then) || containsCall(st.else))));
}

function releaseVerb(kind: WaitKind): string {
  switch (kind) {
    case 'condvar': return 'signals the condition variable';
    case 'barrier': return 'reaches the barrier';
    case 'join': return 'exits';
    case 'semaphore': return 'posts the semaphore';
    case 'channel-send': return 'drains the other end (a read or pop) while the pipe, socket or queue is full';
    case 'channel-receive': return 'feeds the other end (a write or push)';
    case 'lock': return 'releases the lock';
    default: return 'acts';
  }
}
