import type { Finding } from '../analyzer/concurrency/types';
import type { FunctionNode } from '../analyzer/graph';
import { findingToText } from '../analyzer/report/findingsText';
import { traceToText } from '../analyzer/report/formats';
import type { TraceResultJson } from '../shared/protocol';

// Plain-text views of server results, rendered by the analyzer's own formatters (the CLI's text).

export function traceText(r: TraceResultJson): string {
  const byId = new Map<string, FunctionNode>(r.functions.map((f) => [f.id, f]));
  const node = (id: string): FunctionNode => byId.get(id) ?? { id, name: id, static: false, defined: false };
  return traceToText({
    from: r.from,
    to: r.to,
    via: r.via,
    paths: r.paths.map((p) => ({ start: node(p.functions[0]), hops: p.hops.map((edge) => ({ edge, to: node(edge.to) })) })),
  });
}

export function findingText(f: Finding): string {
  return findingToText(f, 1);
}
