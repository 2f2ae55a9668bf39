import type { PoolCaveat } from '../concurrency/types';
import type { Edge, FunctionNode, Site } from '../graph';
import type { TraceResult } from '../query/trace';

// Renderers for traces and subgraphs. JSON is the contract; text, DOT and Mermaid are views of it.

export function fmtSite(site: Site | undefined): string {
  return site ? `${site.file}:${site.line}:${site.col}` : '?';
}

export function fmtDefinition(f: FunctionNode): string {
  if (!f.defined) return 'external';
  const macro = f.definedByMacro ? `, defined through ${f.definedByMacro}` : '';
  return `${f.file}:${f.line}${macro}`;
}

const ARROW: Record<Edge['kind'], string> = { direct: '→', macro: '→', indirect: '→', handoff: '⇢', registration: '⇒' };

/** `name@file` ids read better as names in labels; the JSON keeps the id. */
export function shortName(id: string): string {
  const at = id.indexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}

export function describeEdge(e: Edge): string {
  const parts: string[] = [e.kind];
  if (e.macro) parts.push(`macro ${e.macro}`);
  if (e.kind === 'indirect' && e.via) parts.push(`through ${e.via}`);
  if (e.kind === 'handoff') parts.push(`runs on thread ${shortName(e.threadRoot ?? '')}${e.via ? `, queued by ${e.via}` : ''}`);
  if (e.kind === 'registration') parts.push(`${e.entryKind} callback registered with ${e.via}`);
  parts.push(`at ${fmtSite(e.site)}`);
  return parts.join(' · ');
}

export function traceToText(r: TraceResult): string {
  const via = r.via.length ? ` via ${r.via.map((v) => v.name).join(', ')}` : '';
  const lines = [`trace ${r.from.id} → ${r.to.id}${via}: ${r.paths.length ? `${r.paths.length} path${r.paths.length > 1 ? 's' : ''}` : 'no path'}`];
  r.paths.forEach((p, i) => {
    lines.push('', `path ${i + 1} (${p.hops.length} hop${p.hops.length === 1 ? '' : 's'})`);
    lines.push(`    ${p.start.id}  (${fmtDefinition(p.start)})`);
    for (const h of p.hops) {
      lines.push(`  ${ARROW[h.edge.kind]} ${h.to.id}  (${fmtDefinition(h.to)})`);
      lines.push(`        ${describeEdge(h.edge)}`);
    }
  });
  return lines.join('\n');
}

export function traceToJson(r: TraceResult): object {
  return {
    from: r.from,
    to: r.to,
    via: r.via,
    paths: r.paths.map((p) => ({
      length: p.hops.length,
      functions: [p.start.id, ...p.hops.map((h) => h.to.id)],
      hops: p.hops.map((h) => h.edge),
    })),
    functions: uniqueFunctions(r.paths.flatMap((p) => [p.start, ...p.hops.map((h) => h.to)])),
  };
}

function uniqueFunctions(fns: FunctionNode[]): FunctionNode[] {
  const seen = new Map<string, FunctionNode>();
  for (const f of fns) seen.set(f.id, f);
  return [...seen.values()];
}

export function traceEdges(r: TraceResult): { functions: FunctionNode[]; edges: Edge[] } {
  const edges = new Map<string, Edge>();
  for (const p of r.paths) for (const h of p.hops) edges.set(`${h.edge.from}>${h.edge.to}|${h.edge.kind}|${fmtSite(h.edge.site)}`, h.edge);
  return { functions: uniqueFunctions(r.paths.flatMap((p) => [p.start, ...p.hops.map((h) => h.to)])), edges: [...edges.values()] };
}

const DOT_STYLE: Record<Edge['kind'], string> = {
  direct: 'color="black"',
  macro: 'color="darkgreen"',
  indirect: 'color="blue", style="dashed"',
  handoff: 'color="red", style="bold,dashed"',
  registration: 'color="gray50", style="dotted"',
};

function dotQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function edgeLabel(e: Edge): string {
  if (e.kind === 'handoff') return `handoff → ${shortName(e.threadRoot ?? '')}`;
  if (e.kind === 'registration') return `${e.entryKind}`;
  if (e.kind === 'indirect') return e.macro ? `${e.macro}: ${e.via ?? ''}` : e.via ?? 'indirect';
  if (e.kind === 'macro') return `macro ${e.macro}`;
  return '';
}

export function toDot(graph: { functions: FunctionNode[]; edges: Edge[] }, title = 'lockpath'): string {
  const lines = [`digraph ${dotQuote(title)} {`, '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
  for (const f of graph.functions) {
    const shape = f.entry ? ', peripheries=2' : f.threadRoot ? ', style="rounded,bold"' : !f.defined ? ', style="dashed"' : '';
    lines.push(`  ${dotQuote(f.id)} [label=${dotQuote(`${f.name}\n${fmtDefinition(f)}`)}${shape}];`);
  }
  for (const e of graph.edges) {
    const label = edgeLabel(e);
    lines.push(`  ${dotQuote(e.from)} -> ${dotQuote(e.to)} [${DOT_STYLE[e.kind]}${label ? `, label=${dotQuote(label)}` : ''}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

export function toMermaid(graph: { functions: FunctionNode[]; edges: Edge[] }): string {
  const ids = new Map(graph.functions.map((f, i) => [f.id, `n${i}`]));
  const esc = (s: string) => s.replace(/"/g, '#quot;').replace(/\|/g, '#124;');
  const lines = ['flowchart LR'];
  for (const f of graph.functions) lines.push(`  ${ids.get(f.id)}["${esc(f.name)}"]`);
  for (const e of graph.edges) {
    const a = ids.get(e.from);
    const b = ids.get(e.to);
    if (!a || !b) continue;
    const label = edgeLabel(e) || e.kind;
    const arrow = e.kind === 'handoff' || e.kind === 'registration' ? '-.->' : e.kind === 'indirect' ? '==>' : '-->';
    lines.push(`  ${a} ${arrow}|"${esc(label)}"| ${b}`);
  }
  return lines.join('\n');
}

/** One clause a reader can act on: which job the evidence goes through, and why it may not apply. */
export function describePoolCaveat(c: PoolCaveat, lockWord: string): string {
  const where = c.pools.length ? `queued to ${c.pools.join(', ')}` : 'queued to a pool lockpath cannot name';
  return `through ${shortName(c.job)}, ${where}; no job queued to ${c.waitedPools.join(', ')}, which this path waits on, takes ${lockWord}: if those threads never run ${shortName(c.job)}, this is a stall`;
}

/** Why a thread that can take the lock elsewhere does not count for this wait. */
export function describeOtherPools(c: PoolCaveat, lockWord: string): string {
  const waited = c.waitedPools.join(', ');
  const own = c.waitedPools.length === 1 ? `${waited} holds a pool of its own that no other name reaches` : `each of ${waited} holds a pool of its own that no other name reaches`;
  return `${shortName(c.job)}, which takes ${lockWord}, is queued to ${c.pools.join(', ')}, not to ${waited}, which this path waits on; ${own}`;
}

/** How a finding names a thread it waits for: `thread_do`, or `Redis' main thread (drop_command)`. */
export function awaitedName(a: { threadRoot: string; mainThread?: true }): string {
  return a.mainThread ? `Redis' main thread (${shortName(a.threadRoot)})` : shortName(a.threadRoot);
}
