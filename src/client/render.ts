import type { Finding } from '../analyzer/concurrency/types';
import { findingToText } from '../analyzer/report/findingsText';
import { describeEdge, shortName } from '../analyzer/report/formats';
import type { TraceResultJson } from '../shared/protocol';

// Plain-text views of server results, shown in read-only documents until the graph view opens them.

export function traceText(r: TraceResultJson): string {
  const via = r.via.length ? ` via ${r.via.map((v) => v.name).join(', ')}` : '';
  const lines = [`lockpath trace ${r.from.id} → ${r.to.id}${via}: ${r.paths.length ? `${r.paths.length} path(s)` : 'no path'}`];
  const byId = new Map(r.functions.map((f) => [f.id, f]));
  r.paths.forEach((p, i) => {
    lines.push('', `path ${i + 1} (${p.length} hops)`, `    ${shortName(p.functions[0])}  (${byId.get(p.functions[0])?.file ?? 'external'})`);
    for (const h of p.hops) lines.push(`  ${h.kind === 'handoff' ? '⇢' : '→'} ${shortName(h.to)}  (${byId.get(h.to)?.file ?? 'external'})`, `        ${describeEdge(h)}`);
  });
  return lines.join('\n');
}

export function findingText(f: Finding): string {
  return findingToText(f, 1);
}
