import type { LinkedProgram } from '../link/linker';
import type { Val } from '../model';
import { functionIndexOf } from './programLookups';
import type { ThreadCreatorApi } from '../profile/profile';

// Where the object a global holds may be copied to: a forward closure over assignments, call
// arguments into parameters, and return values, on the same storage keys the linker uses (a
// local is `L<fn>:<name>`, a field is keyed by its struct type or, where that is unknown, by its
// name). The linker's points-to solver follows function addresses only; this follows the value
// of one data pointer — a pool — to tell whether any other name can reach the same object.
//
// A copy is a leak, and the object counts as reachable from anywhere, when it goes where the
// closure cannot follow: into a function outside the tree (except a thread creator, whose routine
// argument goes to the routine's first parameter, and functions that free or assert on it), into
// a variadic argument, through an unresolved pointer call, into a store lockpath cannot name, or
// into a parameter of the function that holds it (`*out = pool` looks like a write of `out`, and
// the object would flow back to the caller). Not seen: arithmetic on the pointer, and copies of
// a whole struct that holds it into a struct of another type (the extractor records no value for
// them; copies between structs of one type share the field's key).

/**
 * Functions outside the tree that are known not to keep the pointer they are given: freeing it
 * (`free`, `rm_free`, `RedisModule_Free`) or asserting on it (`RedisModule_Assert(pool)`).
 */
const NON_RETAINING = /(^|_)free$|assert/i;

/** Where a copy goes: a storage key, or the reason it cannot be followed. */
type Target = string | { leak: string };

export interface ObjectReach {
  /** Storage keys that may hold the object (the global itself included). */
  holders: ReadonlySet<string>;
  /** Why the object may be reachable from elsewhere (empty when it is confined to `holders`). */
  leaks: string[];
}

/** A value copied somewhere: value `vi` of flow `flow`, or of argument `arg` of call `call`, in `fn`. */
interface Copy { fn: number; flow: number; call: number; arg: number; vi: number }

export class ObjectFlows {
  private readonly reach = new Map<string, ObjectReach>();
  private readonly threadCreators: Map<string, number>;

  constructor(private readonly program: LinkedProgram, threadCreators: readonly ThreadCreatorApi[] = []) {
    this.threadCreators = new Map(threadCreators.map((t) => [t.api, t.startArg]));
  }

  /** Every storage key the object held by the global `key` may be copied to. */
  reachOf(key: string): ObjectReach {
    let r = this.reach.get(key);
    if (!r) this.reach.set(key, (r = this.closure(key)));
    return r;
  }

  /** The storage keys a value read in function `fn` comes from. */
  sourceKeys(v: Val, fn: number): string[] {
    const file = this.program.functions[fn].file ?? '';
    if (v.k === 'ident') {
      if (this.program.symbols.functionsNamed(v.name, file).length || !this.program.symbols.globalNamed(v.name, file)) return [];
      const key = this.program.locationKey({ k: 'global', name: v.name }, fn);
      return key ? [key] : [];
    }
    if (v.k === 'read') return this.program.readKeys(v.loc, fn);
    const key = this.program.locationKey({ k: 'ret', fn: v.fn }, fn);
    return key ? [key] : [];
  }

  // Resolving the storage keys (typedef chains, file scopes) of every value of the program costs
  // more than a closure: the copies of a holder are found by a scan for values with the holder's
  // name that allocates nothing (a local's: its function only), and only those are resolved.
  // Every key of a value ends in the value's name, so none is missed.
  private readonly copiesByName = new Map<string, Copy[]>();

  private copiesOf(key: string): Copy[] {
    if (key.startsWith('L')) {
      const colon = key.indexOf(':');
      const fn = Number(key.slice(1, colon));
      const name = key.slice(colon + 1);
      return this.scan(fn, fn + 1, (v) => v.k === 'read' && v.loc.k === 'local' && v.loc.name === name);
    }
    const coarse = key.startsWith('G:') ? `g:${key.slice(key.lastIndexOf(':') + 1)}`
      : key.startsWith('F:') ? `f:${key.slice(key.lastIndexOf('.') + 1)}`
      : `r:${this.program.facts[Number(key.slice(1))]?.name ?? ''}`;
    let copies = this.copiesByName.get(coarse);
    if (!copies) {
      const name = coarse.slice(2);
      const matches: (v: Val) => boolean = coarse.startsWith('g:') ? (v) => (v.k === 'ident' && v.name === name) || (v.k === 'read' && v.loc.k === 'global' && v.loc.name === name)
        : coarse.startsWith('f:') ? (v) => v.k === 'read' && v.loc.k === 'field' && v.loc.field === name
        : (v) => v.k === 'ret' && v.fn === name;
      this.copiesByName.set(coarse, (copies = this.scan(0, this.program.facts.length, matches)));
    }
    return copies;
  }

  /** Values of functions `from` to `to` (exclusive) that `matches`, where they are copied. */
  private scan(from: number, to: number, matches: (v: Val) => boolean): Copy[] {
    const out: Copy[] = [];
    for (let fn = from; fn < to; fn++) {
      const facts = this.program.facts[fn];
      if (!facts) continue;
      for (let fi = 0; fi < facts.flows.length; fi++) {
        const vals = facts.flows[fi].from;
        for (let vi = 0; vi < vals.length; vi++) if (matches(vals[vi])) out.push({ fn, flow: fi, call: -1, arg: -1, vi });
      }
      for (let ci = 0; ci < facts.calls.length; ci++) {
        const args = facts.calls[ci].args;
        for (let ai = 0; ai < args.length; ai++) {
          const vals = args[ai];
          for (let vi = 0; vi < vals.length; vi++) if (matches(vals[vi])) out.push({ fn, flow: -1, call: ci, arg: ai, vi });
        }
      }
    }
    return out;
  }

  private closure(seed: string): ObjectReach {
    const holders = new Set([seed]);
    const leaks: string[] = [];
    const queue = [seed];
    while (queue.length) {
      const key = queue.pop()!;
      for (const c of this.copiesOf(key)) {
        const v = c.flow >= 0 ? this.program.facts[c.fn]!.flows[c.flow].from[c.vi] : this.program.facts[c.fn]!.calls[c.call].args[c.arg][c.vi];
        if (!this.sourceKeys(v, c.fn).some((k) => holders.has(k))) continue;
        for (const t of this.targetsOf(c)) {
          if (typeof t !== 'string') {
            if (!leaks.includes(t.leak)) leaks.push(t.leak);
          } else if (!holders.has(t)) {
            holders.add(t);
            queue.push(t);
          }
        }
      }
    }
    return { holders, leaks };
  }

  /** Where a copy puts the value. */
  private targetsOf(c: Copy): Target[] {
    const { program } = this;
    const facts = program.facts[c.fn]!;
    const where = () => `${facts.name} (${program.functions[c.fn].file}:${facts.site.line})`;
    if (c.flow >= 0) {
      const to = facts.flows[c.flow].to;
      if (to.k === 'local' && facts.params.some((p) => p.name === to.name)) return [{ leak: `stored through parameter ${to.name} of ${where()}` }];
      return [program.locationKey(to, c.fn) ?? { leak: `stored where lockpath cannot name it, in ${where()}` }];
    }
    const call = facts.calls[c.call];
    const site = `${call.site.file}:${call.site.line}`;
    const targets = this.calleesOf(c.fn, c.call);
    if (!targets.length) {
      const start = call.callee.k === 'name' ? this.threadCreators.get(call.callee.name) : undefined;
      if (start !== undefined && c.arg === start + 1) return this.routinesAt(c.fn, call.args[start]);
      if (call.callee.k === 'name' && NON_RETAINING.test(call.callee.name)) return [];
      return [{ leak: `passed to ${call.text} (outside the tree or unresolved) at ${site}` }];
    }
    return targets.map((callee) => {
      const param = program.facts[callee]?.params[c.arg]?.name;
      return param ? `L${callee}:${param}` : { leak: `passed as an argument ${call.text} has no parameter for, at ${site}` };
    });
  }

  /** Defined functions a call may enter (none: it leaves the tree, or its pointer is unresolved). */
  private calleesOf(fn: number, ci: number): number[] {
    const out: number[] = [];
    for (const ei of this.program.callEdges[fn]?.[ci] ?? []) {
      const kind = this.program.edges[ei].kind;
      if (kind !== 'direct' && kind !== 'macro' && kind !== 'indirect') continue;
      const callee = this.program.edgeTo[ei];
      if (this.program.facts[callee] && !out.includes(callee)) out.push(callee);
    }
    return out;
  }

  /** The first parameters of the thread routines named in a thread creator's start argument. */
  private routinesAt(fn: number, start: readonly Val[]): Target[] {
    const file = this.program.functions[fn].file ?? '';
    const out: Target[] = [];
    for (const v of start) {
      if (v.k !== 'ident') continue;
      for (const def of this.program.symbols.functionsNamed(v.name, file)) {
        const idx = functionIndexOf(this.program, def.facts);
        const param = idx === undefined ? undefined : this.program.facts[idx]?.params[0]?.name;
        if (idx !== undefined && param) out.push(`L${idx}:${param}`);
      }
    }
    return out.length ? out : [{ leak: `handed to a thread whose routine lockpath cannot name, in ${this.program.functions[fn].id}` }];
  }
}
