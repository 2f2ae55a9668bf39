import type { Hover } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { describeOtherPools, describePoolCaveat, shortName } from '../analyzer/report/formats';
import type { Finding } from '../analyzer/concurrency/types';
import type { ProjectSession } from '../analyzer/session';
import { contextsOf, entriesHolding, findingSites, findingsThrough, plural } from './explain';
import { siteLink, wordAt } from './lsp';
import type { FolderState, Workspace } from './workspace';

function findingLines(state: FolderState, f: Finding): string[] {
  const lines = [`**${f.class}**${f.yielding ? ' (yielding)' : ''}: ${f.message}`];
  if (f.threads) {
    for (const t of f.threads) {
      const who = t.context === 'entries' ? `main thread, ${siteLink(state.root, t.entry.site, shortName(t.entry.function))} (${t.entry.kind})` : `thread \`${shortName(t.context)}\``;
      const chain = [shortName(t.entry.function), ...t.path.map((h) => `→ ${shortName(h.to)}`)].join(' ');
      lines.push(`- ${who}: holds ${t.holds.lock} (${siteLink(state.root, t.holds.site)}), takes ${t.acquires.lock} in \`${shortName(t.acquires.function)}\` at ${siteLink(state.root, t.acquires.site)} — ${chain}`);
    }
    return lines;
  }
  const chain = [shortName(f.entry.function), ...f.path.map((h) => `${h.kind === 'handoff' ? '⇢' : '→'} ${shortName(h.to)}`)].join(' ');
  lines.push(`- path: ${siteLink(state.root, f.entry.site, shortName(f.entry.function))} (${f.entry.kind}) — ${chain}`);
  if (f.wait) lines.push(`- waits: \`${f.wait.expression}\` at ${siteLink(state.root, f.wait.site)}${f.wait.bounded ? ' (bounded)' : ''}`);
  if (f.deferredRelease) {
    const d = f.deferredRelease;
    lines.push(`- ${d.lock} is held by thread \`${shortName(d.heldBy.threadRoot)}\` (taken at ${siteLink(state.root, d.heldBy.site)}) until \`${shortName(d.releasedIn.function)}\`, a ${d.releasedIn.entryKind} callback on the main thread, releases it at ${siteLink(state.root, d.releasedIn.site)}`);
    return lines;
  }
  for (const a of f.awaited) {
    if (a.mainThread) {
      lines.push(`- waits for Redis' main thread: \`${shortName(a.threadRoot)}\` releases it (${a.releaser.action} at ${siteLink(state.root, a.releaser.site)}), and Redis runs it only holding the ${f.lock}`);
      continue;
    }
    lines.push(`- waits for thread \`${shortName(a.threadRoot)}\` (${a.releaser.action} at ${siteLink(state.root, a.releaser.site)})${a.takesLock ? `, which ${a.takesLock.tryLock ? 'spins on a try-lock of' : 'takes'} the ${f.lock} in \`${shortName(a.takesLock.function)}\` at ${siteLink(state.root, a.takesLock.site)}${a.takesLock.poolCaveat ? ` (${describePoolCaveat(a.takesLock.poolCaveat, `the ${f.lock}`)})` : ''}` : `, which never needs the ${f.lock}${a.lockInOtherPools ? ` (${describeOtherPools(a.lockInOtherPools, `the ${f.lock}`)})` : a.triesLock ? ` (it only tries it in \`${shortName(a.triesLock.function)}\` at ${siteLink(state.root, a.triesLock.site)}: ${a.triesLock.why})` : ''}`}`);
  }
  const after = f.sequencedAfter.find((s) => s.macro) ?? f.sequencedAfter[0];
  if (after) lines.push(`- never runs while it blocks: \`${after.macro ?? after.text}\` → ${after.reaches.slice(0, 6).map(shortName).join(', ')}${after.reaches.length > 6 ? ', …' : ''}`);
  return lines;
}

function contextLines(state: FolderState, session: ProjectSession, fn: number): string[] {
  const p = session.analysis.program;
  const lines: string[] = [];
  const ctxs = contextsOf(session, fn);
  const entries = entriesHolding(session, fn);
  if (entries.length) {
    const names = entries.slice(0, 5).map((e) => {
      const f = p.functions[e];
      const entry = f.entry?.find((x) => x.kind !== 'main');
      return `${siteLink(state.root, entry?.site ?? { file: f.file ?? '', line: f.line ?? 1, col: 1 }, shortName(f.id))} (${entry?.kind})`;
    });
    lines.push(`Runs with the **GIL held** from ${plural(entries.length, 'entry')}: ${names.join(', ')}${entries.length > 5 ? ', …' : ''}`);
  }
  const threads = ctxs.filter((c) => c.context.startsWith('thread'));
  if (threads.length) lines.push(`Also runs on ${threads.map((c) => `${c.context} (${c.lock} ${c.state.replace(/-/g, ' ')})`).join(', ')}`);
  if (!ctxs.length) lines.push('Not reached from any entry point or thread root lockpath knows.');
  return lines;
}

export function hover(workspace: Workspace, doc: TextDocument, line: number, character: number): Hover | null {
  const loc = workspace.locate(doc.uri);
  const session = loc?.state.session;
  if (!loc || !session || !workspace.currentSettings.hover.enabled) return null;
  const text = doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } });
  const w = wordAt(text.replace(/\r?\n$/, ''), character);
  if (!w) return null;
  const p = session.analysis.program;
  const sections: string[] = [];
  const call = workspace.callAt(session, loc.rel, line + 1, w.word);
  if (call) {
    const targets = (p.callEdges[call.fnIndex]?.[call.callIndex] ?? []).map((ei) => p.edges[ei]);
    const callee = targets[0] ? p.functions[p.idToIndex.get(targets[0].to)!] : undefined;
    const blocking = targets.map((e) => session.concurrency.mayBlock.get(e.to)).find(Boolean);
    const own = (session.concurrency.mayBlock.get(p.functions[call.fnIndex].id)?.own ?? []).find((wt) => wt.site.line === call.call.site.line);
    const related = session.findings.filter((f) => !f.suppressed && findingSites(f).some((s) => s.file === loc.rel && s.line === line + 1))
      // The most direct explanations first: deadlocks, then the shortest paths.
      .sort((a, b) => Number(b.class !== 'stall' && b.class !== 'bounded') - Number(a.class !== 'stall' && a.class !== 'bounded') || a.path.length - b.path.length);
    if (blocking || own || related.length) {
      const what = own ? `\`${own.expression}\` (${own.kind})` : blocking?.own[0] ? `\`${blocking.own[0].expression}\` in \`${shortName(blocking.function)}\`` : blocking?.viaCallees[0] ? `\`${shortName(blocking.viaCallees[0].wait)}\` (through \`${shortName(blocking.viaCallees[0].through)}\`)` : '';
      sections.push(`**lockpath** · \`${callee ? shortName(callee.id) : w.word}\` ${what ? `may block: ${what}` : 'is on a blocking path'}`);
      sections.push(contextLines(loc.state, session, call.fnIndex).join('\n\n'));
      for (const f of related.slice(0, 3)) sections.push(findingLines(loc.state, f).join('\n'));
      if (!related.length) sections.push('No finding: the GIL is not held here, or the awaited threads are unknown.');
      return { contents: { kind: 'markdown', value: sections.join('\n\n---\n\n') } };
    }
    if (!callee?.defined) return null;
  }
  // On a function name: the thread contexts it runs in, and whether it may block.
  const fnIdx = p.functions.findIndex((f) => f.defined && f.name === w.word && (f.file === loc.rel || call));
  if (fnIdx < 0) return null;
  const fn = p.functions[fnIdx];
  sections.push(`**lockpath** · \`${shortName(fn.id)}\`${fn.definedByMacro ? ` (defined through \`${fn.definedByMacro}\`)` : ''}`);
  sections.push(contextLines(loc.state, session, fnIdx).join('\n\n'));
  const blocking = session.concurrency.mayBlock.get(fn.id);
  if (blocking) {
    const via = blocking.own.length ? blocking.own.map((o) => `\`${o.expression}\``).join(', ') : `\`${shortName(blocking.viaCallees[0].wait)}\` through \`${shortName(blocking.viaCallees[0].through)}\``;
    sections.push(`May block: ${via}`);
  }
  const findings = findingsThrough(session, fn.id).sort((a, b) => a.path.length - b.path.length);
  for (const f of findings.slice(0, 2)) sections.push(findingLines(loc.state, f).join('\n'));
  if (findings.length > 2) sections.push(`… and ${findings.length - 2} more findings`);
  return { contents: { kind: 'markdown', value: sections.join('\n\n---\n\n') } };
}
