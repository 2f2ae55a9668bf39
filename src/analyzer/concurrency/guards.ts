import type { LinkedProgram } from '../link/linker';
import type { Loc, Stmt } from '../model';
import { syncCallTargets } from './programLookups';

// Branches guarded by one flag that keeps its value through the call are taken together: in
// `bool should_lock = !on_main; if (should_lock) lock(); …; if (should_lock) unlock();` no path
// takes the lock and skips the unlock. The statement walks (lockState.ts, lockSets.ts) run once
// per combination of values of such flags, each `if` on a flag following the assumed value; every
// run of the function has one value of each flag, so the union of the walks covers every run. The
// extractor says which locals keep their value (`FunctionFacts.guardLocals`); for globals and
// field paths (`FunctionFacts.guardPaths`) what is written between the tests decides, here.

/** Flags a function is split on, at most: 2^3 walks. */
const MAX_SPLIT_GUARDS = 3;
/** Functions a field-path guard's write scan visits at most before giving the guard up. */
const MAX_WRITE_SCAN_FUNCTIONS = 20_000;

export type Assumption = ReadonlyMap<string, boolean>;

export const NO_ASSUMPTIONS: Assumption = new Map();

const byProgram = new WeakMap<LinkedProgram, CorrelatedGuards>();

export class CorrelatedGuards {
  private readonly cache = new Map<number, Assumption[]>();

  private constructor(private readonly program: LinkedProgram) {}

  /** One per program: every lock's state walk and the lock-set walk ask about the same functions. */
  static of(program: LinkedProgram): CorrelatedGuards {
    let g = byProgram.get(program);
    if (!g) byProgram.set(program, (g = new CorrelatedGuards(program)));
    return g;
  }

  /** The assumptions to walk `fn` under (one, empty, when no flag guards two of its `if`s). */
  assumptionsFor(fn: number): Assumption[] {
    let out = this.cache.get(fn);
    if (!out) this.cache.set(fn, (out = combinations(this.correlated(fn))));
    return out;
  }

  /** Guards of at least two `if`s of `fn` that keep their value through the call: locals, and field paths nothing in between writes. */
  private correlated(fn: number): string[] {
    const facts = this.program.facts[fn];
    if (!facts || !(facts.guardLocals?.length || facts.guardPaths?.length)) return [];
    const candidates = new Set([...(facts.guardLocals ?? []), ...(facts.guardPaths ?? []).map((p) => p.name)]);
    /** Per guard: how many `if`s test it, and the first and last of their lines. */
    const uses = new Map<string, { n: number; first: number; last: number }>();
    const visit = (stmts: readonly Stmt[]): void => {
      for (const st of stmts) {
        if (st.s === 'if') {
          if (st.guard && candidates.has(st.guard.name)) {
            const u = uses.get(st.guard.name);
            if (u) { u.n++; u.first = Math.min(u.first, st.line); u.last = Math.max(u.last, st.line); }
            else uses.set(st.guard.name, { n: 1, first: st.line, last: st.line });
          }
          visit(st.cond); visit(st.then); visit(st.else);
        } else if (st.s === 'loop') {
          visit(st.cond); visit(st.body);
        } else if (st.s === 'switch') {
          visit(st.cond); for (const c of st.cases) visit(c);
        } else if (st.s === 'return') {
          visit(st.value);
        }
      }
    };
    visit(facts.body);
    const repeated = new Set([...uses].filter(([, u]) => u.n >= 2).map(([g]) => g));
    for (const p of facts.guardPaths ?? []) {
      const u = uses.get(p.name);
      if (!u || !repeated.has(p.name)) continue;
      const written = this.writtenBetween(fn, u.first, u.last);
      if (!written || written.globals.has(p.root) || p.fields.some((f) => written.fields.has(f))) repeated.delete(p.name);
    }
    return [...repeated].sort().slice(0, MAX_SPLIT_GUARDS);
  }

  /**
   * Field names and globals written between lines `first` and `last` of `fn`: by `fn` itself there,
   * or by anything its calls there run synchronously (null: too many functions to tell). A field
   * path none of whose fields (of any struct) nor its root is written in between reads the same
   * value at each of its `if`s: `if (!active.mod->needs_lock) unlock(); active.mod->eval(…); if
   * (active.mod->needs_lock) unlock();`, where no module's `eval` sets either field. Writes before
   * the first or after the last (`active.mod = NULL;` once the crawl is done) do not matter.
   */
  private writtenBetween(fn: number, first: number, last: number): { fields: Set<string>; globals: Set<string> } | null {
    const facts = this.program.facts[fn]!;
    const targets = syncCallTargets(this.program);
    const fields = new Set<string>();
    const globals = new Set<string>();
    const note = (loc: Loc) => {
      if (loc.k === 'field') fields.add(loc.field);
      else if (loc.k === 'global') globals.add(loc.name);
    };
    const within = (line: number) => line >= first && line <= last;
    for (const w of facts.writes) if (within(w.site.line)) note(w.loc);
    const seen = new Uint8Array(this.program.functions.length);
    const stack: number[] = [];
    facts.calls.forEach((c, ci) => {
      if (!within(c.site.line)) return;
      for (const t of targets[fn]?.[ci] ?? []) if (!seen[t]) { seen[t] = 1; stack.push(t); }
    });
    let visited = 0;
    while (stack.length) {
      const f = stack.pop()!;
      if (++visited > MAX_WRITE_SCAN_FUNCTIONS) return null;
      const callee = this.program.facts[f];
      if (!callee) continue;
      for (const w of callee.writes) note(w.loc);
      for (const flow of callee.flows) note(flow.to);
      for (const calls of targets[f] ?? []) for (const t of calls) if (!seen[t]) { seen[t] = 1; stack.push(t); }
    }
    return { fields, globals };
  }
}

/** The branch an `if` takes under `assume`: undefined when its condition is not an assumed flag. */
export function assumedBranch(st: Extract<Stmt, { s: 'if' }>, assume: Assumption): 'then' | 'else' | undefined {
  if (!st.guard) return undefined;
  const value = assume.get(st.guard.name);
  if (value === undefined) return undefined;
  return value === st.guard.when ? 'then' : 'else';
}

function combinations(guards: readonly string[]): Assumption[] {
  if (!guards.length) return [NO_ASSUMPTIONS];
  let out: Map<string, boolean>[] = [new Map()];
  for (const g of guards) out = out.flatMap((m) => [new Map([...m, [g, true]]), new Map([...m, [g, false]])]);
  return out;
}
