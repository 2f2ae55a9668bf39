import type { Edge, EdgeKind, FunctionNode } from '../graph';
import { EDGE_KINDS } from '../graph';
import type { LinkedProgram } from '../link/linker';
import { resolveFunction } from './resolveName';

export type Direction = 'in' | 'out' | 'both';

export interface NeighborhoodRequest {
  around: string;
  depth?: number;
  direction?: Direction;
  edgeKinds?: readonly EdgeKind[];
  /** Stop adding nodes past this many, and say so. */
  maxNodes?: number;
}

export interface Subgraph {
  center: string;
  depth: number;
  direction: Direction;
  functions: FunctionNode[];
  edges: Edge[];
  /** Set when maxNodes cut the neighbourhood. */
  truncated: boolean;
}

/** The k-hop neighbourhood of a function: callers, callees, or both. */
export function neighborhood(program: LinkedProgram, req: NeighborhoodRequest): Subgraph {
  const center = resolveFunction(program, req.around);
  const depth = req.depth ?? 2;
  const direction = req.direction ?? 'both';
  const kinds = new Set(req.edgeKinds ?? EDGE_KINDS);
  const maxNodes = req.maxNodes ?? 2000;
  const level = new Map<number, number>([[center, 0]]);
  const edgeSet = new Set<number>();
  let frontier = [center];
  let truncated = false;
  for (let d = 0; d < depth && frontier.length && !truncated; d++) {
    const next: number[] = [];
    for (const fn of frontier) {
      const lists: [number[], 'to' | 'from'][] = [];
      if (direction !== 'in') lists.push([program.out[fn], 'to']);
      if (direction !== 'out') lists.push([program.in[fn], 'from']);
      for (const [list, end] of lists) {
        for (const ei of list) {
          const e = program.edges[ei];
          if (!kinds.has(e.kind)) continue;
          const other = program.idToIndex.get(e[end])!;
          if (!level.has(other)) {
            if (level.size >= maxNodes) { truncated = true; continue; }
            level.set(other, d + 1);
            next.push(other);
          }
          edgeSet.add(ei);
        }
      }
    }
    frontier = next;
  }
  // Keep edges among the chosen nodes only.
  const edges = [...edgeSet].sort((a, b) => a - b).map((ei) => program.edges[ei])
    .filter((e) => level.has(program.idToIndex.get(e.from)!) && level.has(program.idToIndex.get(e.to)!));
  return {
    center: program.functions[center].id,
    depth,
    direction,
    functions: [...level.keys()].map((i) => program.functions[i]),
    edges,
    truncated,
  };
}
