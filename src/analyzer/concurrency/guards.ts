import type { LinkedProgram } from '../link/linker';
import type { Stmt } from '../model';

// Branches guarded by one local flag that keeps its value through the call are taken together:
// in `bool should_lock = !on_main; if (should_lock) lock(); …; if (should_lock) unlock();` no
// path takes the lock and skips the unlock. The statement walks (lockState.ts, lockSets.ts) run
// once per combination of values of such flags, each `if` on a flag following the assumed value;
// every run of the function has one value of each flag, so the union of the walks covers every
// run. The extractor says which locals keep their value (`FunctionFacts.guardLocals`).

/** Flags a function is split on, at most: 2^3 walks. */
const MAX_SPLIT_GUARDS = 3;

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

  /** Stable locals that guard at least two `if`s of `fn`. */
  private correlated(fn: number): string[] {
    const facts = this.program.facts[fn];
    const stable = new Set(facts?.guardLocals ?? []);
    if (!facts || !stable.size) return [];
    const uses = new Map<string, number>();
    const visit = (stmts: readonly Stmt[]): void => {
      for (const st of stmts) {
        if (st.s === 'if') {
          if (st.guard && stable.has(st.guard.local)) uses.set(st.guard.local, (uses.get(st.guard.local) ?? 0) + 1);
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
    return [...uses].filter(([, n]) => n >= 2).map(([g]) => g).sort().slice(0, MAX_SPLIT_GUARDS);
  }
}

/** The branch an `if` takes under `assume`: undefined when its condition is not an assumed flag. */
export function assumedBranch(st: Extract<Stmt, { s: 'if' }>, assume: Assumption): 'then' | 'else' | undefined {
  if (!st.guard) return undefined;
  const value = assume.get(st.guard.local);
  if (value === undefined) return undefined;
  return value === st.guard.when ? 'then' : 'else';
}

function combinations(guards: readonly string[]): Assumption[] {
  if (!guards.length) return [NO_ASSUMPTIONS];
  let out: Map<string, boolean>[] = [new Map()];
  for (const g of guards) out = out.flatMap((m) => [new Map([...m, [g, true]]), new Map([...m, [g, false]])]);
  return out;
}
