import path from 'node:path';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import type { Connection, Diagnostic, DiagnosticRelatedInformation } from 'vscode-languageserver/node';
import type { Finding } from '../analyzer/concurrency/types';
import { shortName } from '../analyzer/report/formats';
import type { Severity } from '../shared/settings';
import { pathToUri, siteLocation, siteRange } from './lsp';
import type { FolderState, Workspace } from './workspace';

const SEVERITY: Record<Exclude<Severity, 'off'>, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, information: DiagnosticSeverity.Information, hint: DiagnosticSeverity.Hint,
};

function related(root: string, f: Finding): DiagnosticRelatedInformation[] {
  const out: DiagnosticRelatedInformation[] = [];
  out.push({ location: siteLocation(root, f.entry.site), message: `entry: ${shortName(f.entry.function)} (${f.entry.kind}) runs holding the ${f.lock}` });
  for (const h of f.path) out.push({ location: siteLocation(root, h.site), message: `${shortName(h.from)} → ${shortName(h.to)} (${h.kind}${h.macro ? `, macro ${h.macro}` : ''}${h.kind === 'indirect' ? ` through ${h.via}` : ''})` });
  for (const a of f.awaited) {
    for (const h of a.pathToReleaser) out.push({ location: siteLocation(root, h.site), message: `thread ${shortName(a.threadRoot)}: ${shortName(h.from)} → ${shortName(h.to)} (${h.kind})` });
    out.push({ location: siteLocation(root, a.releaser.site), message: `thread ${shortName(a.threadRoot)} releases the wait: ${a.releaser.action}` });
    if (a.takesLock) {
      for (const h of a.takesLock.path) out.push({ location: siteLocation(root, h.site), message: `thread ${shortName(a.threadRoot)}: ${shortName(h.from)} → ${shortName(h.to)} (${h.kind})` });
      out.push({ location: siteLocation(root, a.takesLock.site), message: `thread ${shortName(a.threadRoot)} takes the ${f.lock} here and blocks` });
    }
  }
  for (const s of f.sequencedAfter.slice(0, 5)) out.push({ location: siteLocation(root, s.site), message: `never runs while the wait blocks: ${s.text}` });
  return out;
}

/** Diagnostics per file URI for a folder: at each wait (or offending call) and at the entry's first call. */
export function diagnosticsFor(state: FolderState, severity: Record<string, Severity>): Map<string, Diagnostic[]> {
  const out = new Map<string, Diagnostic[]>();
  const session = state.session;
  if (!session) return out;
  const add = (file: string, d: Diagnostic) => {
    const uri = pathToUri(path.join(state.root, file));
    const list = out.get(uri);
    if (list) list.push(d);
    else out.set(uri, [d]);
  };
  for (const f of session.findings) {
    const level = severity[f.class] ?? 'warning';
    if (f.suppressed || level === 'off') continue;
    const site = f.wait?.site ?? f.call!.site;
    const info = related(state.root, f);
    add(site.file, { range: siteRange(site, 5), severity: SEVERITY[level], source: 'lockpath', code: f.class, message: f.message, relatedInformation: info, data: { id: f.id } });
    const first = f.path[0];
    if (first && (first.site.file !== site.file || first.site.line !== site.line)) {
      add(first.site.file, {
        range: siteRange(first.site, shortName(first.to).length),
        severity: SEVERITY[level],
        source: 'lockpath',
        code: f.class,
        message: `${shortName(f.entry.function)} holds the ${f.lock} here and this call leads to a ${f.class}: ${f.message}`,
        relatedInformation: info,
        data: { id: f.id },
      });
    }
  }
  return out;
}

/**
 * Publishes the current diagnostics of every folder: files whose diagnostics changed (including
 * files that no longer have any), plus the files in `always` (the document just edited).
 */
export class DiagnosticsPublisher {
  /** What each file was last sent, serialized, to tell which files changed. */
  private published = new Map<string, string>();

  constructor(private readonly connection: Connection, private readonly workspace: Workspace) {}

  publishAll(always: readonly string[] = []): void {
    const next = new Map<string, Diagnostic[]>();
    for (const state of this.workspace.folders.values()) {
      for (const [uri, list] of diagnosticsFor(state, this.workspace.currentSettings.severity)) next.set(uri, [...(next.get(uri) ?? []), ...list]);
    }
    const sent = new Map<string, string>();
    for (const uri of [...this.published.keys(), ...always]) if (!next.has(uri)) next.set(uri, []);
    for (const [uri, diagnostics] of next) {
      const json = JSON.stringify(diagnostics);
      if (diagnostics.length) sent.set(uri, json);
      if (this.published.get(uri) !== json || always.includes(uri)) void this.connection.sendDiagnostics({ uri, diagnostics });
    }
    this.published = sent;
  }
}
