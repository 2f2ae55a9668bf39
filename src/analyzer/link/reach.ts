import { SYNC_EDGE_KINDS } from '../graph';
import type { LinkedProgram } from './linker';

/**
 * Every function that reaches one of `seeds` through synchronous calls (direct, macro, indirect),
 * the seeds included, following only the edges `allow` accepts.
 */
export function callersOf(program: LinkedProgram, seeds: Iterable<number>, allow: (edge: number) => boolean = () => true): Set<number> {
  const seen = new Set<number>(seeds);
  const stack = [...seen];
  while (stack.length) {
    const f = stack.pop()!;
    for (const ei of program.in[f]) {
      if (!SYNC_EDGE_KINDS.includes(program.edges[ei].kind) || !allow(ei)) continue;
      const from = program.edgeFrom[ei];
      if (!seen.has(from)) {
        seen.add(from);
        stack.push(from);
      }
    }
  }
  return seen;
}
