import type { LinkedProgram } from '../link/linker';
import { FREE, HELD } from './lockState';
import type { LockStateAnalysis, Mask } from './lockState';
import { followedEdges } from './programLookups';

/** One step of a path found by `StatePaths`: the function, the locks' states on entry, the edge it was reached by (-1 at the start). */
export interface StateStep { fn: number; bits: number[]; edge: number }

/**
 * Paths that follow one or two locks' states call by call: a breadth-first search over (function,
 * state of each lock on entry) from a thread's start, each call passing its callee the states the
 * caller's walk has at that call. A thread context's states merge every way into a function, so
 * "may be held" there can come from one caller while the shortest path comes through another;
 * these paths say what holds on their own way (a lock-order step, a wait under the GIL).
 */
export class StatePaths {
  /** node (fn·16 + first lock's state·4 + second's) → how it was reached. */
  private readonly reached = new Map<number, { from: number; edge: number }>();

  constructor(
    program: LinkedProgram,
    private readonly analyses: readonly LockStateAnalysis[],
    starts: readonly number[],
    entryMasks: readonly Mask[],
    /** A call not to follow in this state (a restore that takes nothing back, say). */
    skipCall: (fn: number, call: number, bits: readonly number[]) => boolean = () => false,
  ) {
    const followed = followedEdges(program);
    const queue: number[] = [];
    const visit = (node: number, from: number, edge: number) => {
      if (this.reached.has(node)) return;
      this.reached.set(node, { from, edge });
      queue.push(node);
    };
    const bitsOf = (mask: Mask): number[] => [HELD, FREE].filter((b) => mask & b);
    const combos = (masks: readonly Mask[]): number[][] => (masks.length === 1 ? bitsOf(masks[0]).map((b) => [b]) : bitsOf(masks[0]).flatMap((b) => bitsOf(masks[1]).map((c) => [b, c])));
    for (const s of starts) if (program.facts[s]) for (const bits of combos(entryMasks)) visit(this.node(s, bits), -1, -1);
    for (let qi = 0; qi < queue.length; qi++) {
      const node = queue[qi];
      const fn = node >> 4;
      const bits = this.bits(node);
      const calls = analyses.map((a, i) => a.states(fn, bits[i]).calls);
      (program.callEdges[fn] ?? []).forEach((edges, c) => {
        const masks = calls.map((cs) => cs[c] ?? 0);
        if (masks.some((m) => !m) || skipCall(fn, c, bits)) return;
        const next = combos(masks);
        for (const ei of edges) {
          const to = program.edgeTo[ei];
          if (!followed[ei] || !program.facts[to]) continue;
          for (const b of next) visit(this.node(to, b), node, ei);
        }
      });
    }
  }

  private node(fn: number, bits: readonly number[]): number {
    return fn * 16 + bits[0] * 4 + (bits[1] ?? 0);
  }

  private bits(node: number): number[] {
    return this.analyses.length === 1 ? [(node >> 2) & 3] : [(node >> 2) & 3, node & 3];
  }

  /** The steps from the start to `fn` entered in `bits`, or null when no path gets there so. */
  pathTo(fn: number, bits: readonly number[]): StateStep[] | null {
    let at = this.node(fn, bits);
    if (!this.reached.has(at)) return null;
    const steps: StateStep[] = [];
    while (at >= 0) {
      const r = this.reached.get(at)!;
      steps.unshift({ fn: at >> 4, bits: this.bits(at), edge: r.edge });
      at = r.from;
    }
    return steps;
  }
}
