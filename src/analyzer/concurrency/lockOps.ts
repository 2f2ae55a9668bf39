import type { Val } from '../model';
import type { LinkedProgram } from '../link/linker';
import type { LockOpKind, Profile } from '../profile/profile';
import type { LockMode } from './types';
import { calleeNames, functionIndexOf } from './programLookups';

/** A lock operation at one call site, on one abstract lock. */
export interface LockOpSite {
  op: LockOpKind;
  /** `lock:NAME` (a global lock such as the GIL), `G:…` (a global), `F:Struct.field`, or `P:i` (the i-th parameter's lock). */
  key: string;
  mode: LockMode;
  api: string;
}

export const globalLockKey = (name: string): string => `lock:${name}`;

/**
 * Finds every lock operation in the program and names the lock it works on. Identity is
 * abstract but stable: a global variable, a field of a struct type (every `spec->rwlock` is one
 * lock), or a parameter of the calling function — then each caller's argument decides, which is
 * how wrappers such as `lock(pool)` are seen through.
 */
export class LockOps {
  /** fn → call index → operations (undefined when the call is not a lock operation). */
  readonly at: (LockOpSite[] | undefined)[][];
  /** Functions with at least one operation. */
  readonly functions: number[] = [];

  /**
   * `retried(fn, call)`: whether a try-lock call is retried until it succeeds; such a try is
   * recorded as an acquire, since it blocks like one. Other tries never block: they count as
   * holding the lock after them, but not as taking it in lock order.
   */
  constructor(private readonly program: LinkedProgram, profile: Profile, retried: (fn: number, call: number) => boolean = () => false) {
    const byApi = new Map<string, { op: LockOpKind; mode: LockMode; objectArg: number | null; balancedOnly: boolean; lock?: string }[]>();
    const add = (api: string, v: { op: LockOpKind; mode: LockMode; objectArg: number | null; balancedOnly: boolean; lock?: string }) => {
      const list = byApi.get(api);
      if (list) list.push(v);
      else byApi.set(api, [v]);
    };
    for (const o of profile.lockOps) add(o.api, { op: o.op, mode: o.mode, objectArg: o.objectArg, balancedOnly: !!o.balancedOnly });
    for (const l of profile.locks) {
      for (const api of l.acquire) add(api, { op: 'acquire', mode: 'exclusive', objectArg: null, balancedOnly: false, lock: l.lock });
      for (const api of l.tryAcquire) add(api, { op: 'try', mode: 'exclusive', objectArg: null, balancedOnly: false, lock: l.lock });
      for (const api of l.release) add(api, { op: 'release', mode: 'exclusive', objectArg: null, balancedOnly: false, lock: l.lock });
    }
    this.at = program.facts.map((facts, fn) => {
      if (!facts) return [];
      // A function that *is* a profile operation (a portability shim) is seen at its callers.
      if (byApi.has(facts.name)) return [];
      const perCall: (LockOpSite[] | undefined)[] = [];
      const balancedCandidates: LockOpSite[] = [];
      let any = false;
      facts.calls.forEach((call, ci) => {
        // Lock APIs are called by name (or through the host's API pointer of that name): skip the rest cheaply.
        if (call.callee.k !== 'name') return;
        if (!byApi.has(call.callee.name) && !(program.callEdges[fn]?.[ci] ?? []).some((ei) => byApi.has(program.functions[program.edgeTo[ei]].name))) return;
        const names = calleeNames(program, fn, ci);
        const ops: LockOpSite[] = [];
        for (const name of names) {
          for (const spec of byApi.get(name) ?? []) {
            if (spec.lock !== undefined) {
              ops.push({ op: spec.op, key: globalLockKey(spec.lock), mode: spec.mode, api: name });
              continue;
            }
            for (const key of this.keysOf(call.args[spec.objectArg!] ?? [], fn)) {
              const site: LockOpSite = { op: spec.op, key, mode: spec.mode, api: name };
              ops.push(site);
              if (spec.balancedOnly) balancedCandidates.push(site);
            }
          }
          if (ops.length) break;
        }
        if (ops.some((o) => o.op === 'try') && retried(fn, ci)) for (const o of ops) if (o.op === 'try') o.op = 'acquire';
        if (ops.length) { perCall[ci] = dedupeOps(ops); any = true; }
      });
      // Keep a semaphore as a lock only where this function both waits on it and posts it.
      if (balancedCandidates.length) {
        const waited = new Set(balancedCandidates.filter((o) => o.op !== 'release').map((o) => o.key));
        const posted = new Set(balancedCandidates.filter((o) => o.op === 'release').map((o) => o.key));
        const unbalanced = new Set(balancedCandidates.filter((o) => !(waited.has(o.key) && posted.has(o.key))));
        perCall.forEach((ops, ci) => {
          if (!ops) return;
          const kept = ops.filter((o) => !unbalanced.has(o));
          perCall[ci] = kept.length ? kept : undefined;
        });
        any = perCall.some(Boolean);
      }
      if (any) this.functions.push(fn);
      return perCall;
    });
  }

  /** Lock keys an argument denotes in `fn`: a global, a struct field, or one of `fn`'s parameters. */
  keysOf(vals: readonly Val[], fn: number, depth = 0): string[] {
    const facts = this.program.facts[fn];
    const keys: string[] = [];
    for (const v of vals) {
      if (v.k === 'read' && v.loc.k === 'local') {
        const name = v.loc.name;
        const i = facts?.params.findIndex((p) => p.name === name) ?? -1;
        if (i >= 0) { keys.push(`P:${i}`); continue; }
        // A local pointer to a lock (`pthread_mutex_t *m = &e->mu;`) denotes what was assigned to it.
        if (facts && depth < 4) for (const flow of facts.flows) if (flow.to.k === 'local' && flow.to.name === name) keys.push(...this.keysOf(flow.from, fn, depth + 1));
        continue;
      }
      if (v.k === 'ret') {
        // A call's result (`held = bucket_trylock(hv)`) denotes the locks that function returns.
        if (depth < 4) keys.push(...this.returnedKeys(v.fn, fn, depth + 1));
        continue;
      }
      const key = v.k === 'read' ? this.program.locationKey(v.loc, fn) : v.k === 'ident' ? this.program.locationKey({ k: 'global', name: v.name }, fn) : null;
      if (key) keys.push(key);
    }
    return [...new Set(keys)];
  }

  /**
   * Locks a function called by `name` from `fn` returns: what flows into its return value
   * (memcached's `item_trylock` returns `&item_locks[…]` once it took it, and its callers release
   * that pointer through `item_trylock_unlock(void *)`). A returned parameter says nothing here.
   */
  private returnedKeys(name: string, fn: number, depth: number): string[] {
    const keys: string[] = [];
    for (const def of this.program.symbols.functionsNamed(name, this.program.functions[fn].file ?? '')) {
      const callee = functionIndexOf(this.program, def.facts);
      const facts = callee === undefined ? undefined : this.program.facts[callee];
      if (!facts) continue;
      for (const flow of facts.flows) {
        if (flow.to.k === 'ret') keys.push(...this.keysOf(flow.from, callee!, depth).filter((k) => !k.startsWith('P:')));
      }
    }
    return keys;
  }

  /** Replaces a callee's parameter key by the keys of the caller's argument at `call`. */
  substitute(key: string, fn: number, call: number): string[] {
    if (!key.startsWith('P:')) return [key];
    const arg = this.program.facts[fn]?.calls[call]?.args[Number(key.slice(2))];
    return arg ? this.keysOf(arg, fn) : [];
  }
}

function dedupeOps(ops: LockOpSite[]): LockOpSite[] {
  const seen = new Set<string>();
  return ops.filter((o) => {
    const k = `${o.op}|${o.key}|${o.mode}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** How a lock is named to users, and which abstraction its identity uses. */
export function describeLock(key: string): { name: string; identity: string } {
  if (key.startsWith('lock:')) return { name: key.slice(5), identity: `the global lock ${key.slice(5)}` };
  if (key.startsWith('G:')) {
    const rest = key.slice(2);
    const colon = rest.lastIndexOf(':');
    const name = colon >= 0 ? rest.slice(colon + 1) : rest;
    return { name, identity: colon >= 0 ? `the static variable ${name} in ${rest.slice(0, colon)}` : `the global variable ${name}` };
  }
  if (key.startsWith('F:')) {
    const rest = key.slice(2);
    const dot = rest.lastIndexOf('.');
    const struct = rest.slice(0, dot);
    const field = rest.slice(dot + 1);
    if (struct === '?') return { name: `*.${field}`, identity: `the field ${field} of a struct whose type lockpath could not resolve (every such ${field} is treated as one lock)` };
    // Untagged types are named after where they are declared: `dictEntry::v` (a member's type),
    // `state@src/x.c` (a variable's), `fn::state@src/x.c` (a local's).
    // A tag defined differently in several files: `dictType~2` is its second definition.
    const variant = /^(\w+)~(\d+)$/.exec(struct);
    if (variant) return { name: `${variant[1]}.${field}`, identity: `the field ${field} of struct ${variant[1]} as defined a ${ordinal(Number(variant[2]))} way in the tree (every such ${field} is treated as one lock)` };
    const at = struct.indexOf('@');
    const owner = (at < 0 ? struct : struct.slice(0, at)).replace(/::/g, '.');
    if (at < 0 && owner === struct) return { name: `${struct}.${field}`, identity: `the field ${field} of struct ${struct} (every ${struct}'s ${field} is treated as one lock)` };
    const declared = at < 0 ? '' : `, declared in ${struct.slice(at + 1)}`;
    return { name: `${owner}.${field}`, identity: `the field ${field} of ${owner}, of an untagged struct type${declared} (every such ${field} is treated as one lock)` };
  }
  if (key.startsWith('P:')) return { name: `parameter ${Number(key.slice(2)) + 1}`, identity: 'a lock passed as a parameter' };
  return { name: key, identity: key };
}

/** Two holders conflict unless both only read. */
export function modesConflict(a: LockMode, b: LockMode): boolean {
  return !(a === 'read' && b === 'read');
}

function ordinal(n: number): string {
  return n === 2 ? 'second' : n === 3 ? 'third' : `${n}th`;
}
