import type { CodeLens } from 'vscode-languageserver/node';
import { shortName } from '../analyzer/report/formats';
import { COMMANDS } from '../shared/protocol';
import { contextsOf, entriesHolding, findingSites, findingsThrough, plural } from './explain';
import { siteRange } from './lsp';
import type { Workspace } from './workspace';

/**
 * Above each function that can run with the GIL held or may block — "GIL held · from 2 entries ·
 * may block (1 deadlock risk)" — and above each blocking call site reached with the GIL held.
 */
export function codeLenses(workspace: Workspace, uri: string): CodeLens[] {
  const loc = workspace.locate(uri);
  const session = loc?.state.session;
  if (!loc || !session || !workspace.currentSettings.codeLens.enabled) return [];
  const p = session.analysis.program;
  const out: CodeLens[] = [];
  for (const { index } of workspace.functionsIn(session, loc.rel)) {
    const fn = p.functions[index];
    const held = contextsOf(session, index).some((c) => c.lock === 'GIL' && c.context.startsWith('main') && c.state !== 'not-held');
    const blocking = session.concurrency.mayBlock.get(fn.id);
    const findings = findingsThrough(session, fn.id);
    const cycles = findings.filter((f) => f.class === 'lock-order').length;
    if (!held && !blocking && !cycles) continue;
    const risks = findings.filter((f) => f.class === 'deadlock-risk').length;
    const parts: string[] = [];
    if (held) parts.push(`GIL held · from ${plural(entriesHolding(session, index).length, 'entry')}`);
    if (blocking) parts.push(`may block${findings.length ? ` (${risks ? plural(risks, 'deadlock risk') : plural(findings.length - cycles, 'finding')})` : ''}`);
    if (cycles) parts.push(`in ${plural(cycles, 'lock-order cycle')}`);
    out.push({
      range: siteRange({ file: loc.rel, line: fn.line ?? 1, col: 1 }, 1),
      command: findings.length
        ? { title: parts.join(' · '), command: COMMANDS.showFindingTrace, arguments: [{ folder: loc.state.uri, id: findings[0].id }] }
        : { title: parts.join(' · '), command: COMMANDS.showGraph, arguments: [{ folder: loc.state.uri, around: fn.id }] },
    });
  }
  // Blocking call sites on a finding's path, in this file.
  const seen = new Set<string>();
  for (const f of session.findings) {
    if (f.suppressed) continue;
    for (const site of findingSites(f)) {
      if (site.file !== loc.rel || site.what === 'call') continue;
      const key = `${site.line}:${f.class}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const others = session.findings.filter((g) => !g.suppressed && g.class === f.class && findingSites(g).some((s) => s.file === site.file && s.line === site.line)).length;
      const title = f.threads
        ? `⚠ lock-order: ${site.what === 'path' ? `leads to taking ${f.lock} in opposite orders` : site.what} (${shortName(site.to)})`
        : `⚠ ${f.class}: blocks with the ${f.deferredRelease ? `${f.deferredRelease.lock} held by another thread until a main-thread callback` : `${f.lock} held`} (${shortName(site.to)})${others > 1 ? ` · ${plural(others, 'entry')}` : ''}`;
      out.push({
        range: siteRange({ file: site.file, line: site.line, col: 1 }, 1),
        command: { title, command: COMMANDS.showFindingTrace, arguments: [{ folder: loc.state.uri, id: f.id }] },
      });
    }
  }
  return out;
}
