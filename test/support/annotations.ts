import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Edge, FunctionNode, GraphJson } from '../../src/analyzer/graph';

// Reads the expectation comments written next to fixture code (grammar in test/fixtures/README.md)
// and checks them against an analysed graph.

export type Expectation =
  | { type: 'edge'; file: string; line: number; kind: string; callee: string; options: Record<string, string>; raw: string }
  | { type: 'no-edge'; file: string; line: number; callee: string; raw: string }
  | { type: 'unresolved'; file: string; line: number; raw: string }
  | { type: 'function'; file: string; line: number; name: string; raw: string };

const ANNOTATION = /(?:\/\*\s*(expect-[a-z-]+)(?::\s*([^*]*?))?\s*\*\/|\/\/\s*(expect-[a-z-]+)(?::\s*(.*?))?\s*$)/g;

export function readExpectations(root: string): Expectation[] {
  const out: Expectation[] = [];
  for (const file of listC(root)) {
    const lines = readFileSync(path.join(root, file), 'latin1').split('\n');
    lines.forEach((text, i) => {
      for (const m of text.matchAll(ANNOTATION)) {
        const tag = m[1] ?? m[3];
        const body = (m[2] ?? m[4] ?? '').trim();
        const line = i + 1;
        const raw = `${file}:${line}: ${tag}${body ? `: ${body}` : ''}`;
        const words = body.split(/\s+/).filter(Boolean);
        switch (tag) {
          case 'expect-edge': {
            const [kind, callee, ...rest] = words;
            const options = Object.fromEntries(rest.map((w) => w.split('=', 2) as [string, string]));
            out.push({ type: 'edge', file, line, kind, callee, options, raw });
            break;
          }
          case 'expect-no-edge':
            out.push({ type: 'no-edge', file, line, callee: words[0], raw });
            break;
          case 'expect-unresolved':
            out.push({ type: 'unresolved', file, line, raw });
            break;
          case 'expect-function':
            out.push({ type: 'function', file, line, name: words[0], raw });
            break;
          default:
            throw new Error(`${raw}: unknown annotation`);
        }
      }
    });
  }
  return out;
}

function listC(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(root, r)).isDirectory()) out.push(...listC(root, r));
    else if (/\.[ch]$/.test(name)) out.push(r);
  }
  return out;
}

/** The innermost defined function whose range covers the line. */
export function enclosingFunction(graph: GraphJson, file: string, line: number): FunctionNode | undefined {
  let best: FunctionNode | undefined;
  for (const f of graph.functions) {
    if (f.file !== file || f.line === undefined || f.endLine === undefined) continue;
    if (f.line <= line && line <= f.endLine && (!best || f.line >= best.line!)) best = f;
  }
  return best;
}

/** Returns a description of what is wrong, or null when the graph meets the expectation. */
export function checkExpectation(graph: GraphJson, e: Expectation): string | null {
  const byId = new Map(graph.functions.map((f) => [f.id, f]));
  if (e.type === 'function') {
    const found = graph.functions.some((f) => f.defined && f.name === e.name && f.file === e.file && f.line === e.line);
    if (found) return null;
    const same = graph.functions.filter((f) => f.name === e.name).map((f) => `${f.id} at ${f.file}:${f.line}`);
    return `no function ${e.name} defined at ${e.file}:${e.line}${same.length ? ` (found ${same.join(', ')})` : ''}`;
  }
  if (e.type === 'unresolved') {
    return graph.unresolved.some((u) => u.site.file === e.file && u.site.line === e.line) ? null : `no unresolved indirect call listed at ${e.file}:${e.line}`;
  }
  const caller = enclosingFunction(graph, e.file, e.line);
  if (!caller) return `no function encloses ${e.file}:${e.line}`;
  const atLine = graph.edges.filter((x) => x.from === caller.id && x.site.file === e.file && x.site.line === e.line);
  const calleeName = (x: Edge) => byId.get(x.to)?.name;
  if (e.type === 'no-edge') {
    const bad = atLine.filter((x) => calleeName(x) === e.callee);
    return bad.length ? `unexpected ${bad.map((x) => `${x.kind} edge ${x.from} → ${x.to}`).join(', ')}` : null;
  }
  const matches = atLine.filter((x) => x.kind === e.kind && calleeName(x) === e.callee);
  if (!matches.length) {
    const seen = atLine.map((x) => `${x.kind} → ${x.to}`).join(', ') || 'none';
    return `no ${e.kind} edge ${caller.id} → ${e.callee} at line ${e.line} (edges from this line: ${seen})`;
  }
  const problems: string[] = [];
  const ok = matches.some((x) => {
    problems.length = 0;
    if (e.options.macro !== undefined && x.macro !== e.options.macro) problems.push(`macro is ${x.macro ?? 'none'}, expected ${e.options.macro}`);
    if (e.options.via !== undefined && !(x.via ?? '').replace(/\s+/g, '').includes(e.options.via)) problems.push(`via is '${x.via ?? ''}', expected '${e.options.via}'`);
    if (e.options.root !== undefined && byId.get(x.threadRoot ?? '')?.name !== e.options.root) problems.push(`thread root is ${x.threadRoot ?? 'none'}, expected ${e.options.root}`);
    return problems.length === 0;
  });
  return ok ? null : problems.join('; ');
}
