import path from 'node:path';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import type { Connection, Diagnostic, DiagnosticRelatedInformation } from 'vscode-languageserver/node';
import type { Finding } from '../analyzer/concurrency/types';
import { findingSite } from '../analyzer/concurrency/types';
import { shortName } from '../analyzer/report/formats';
import type { Severity } from '../shared/settings';
import { pathToUri, siteLocation, siteRange } from './lsp';
import type { FolderState, Workspace } from './workspace';

const SEVERITY: Record<Exclude<Severity, 'off'>, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, information: DiagnosticSeverity.Information, hint: DiagnosticSeverity.Hint,
};

function related(root: string, f: Finding): DiagnosticRelatedInformation[] {
  const out: DiagnosticRelatedInformation[] = [];
  if (f.threads) {
    for (const t of f.threads) {
      const who = t.context === 'entries' ? 'main thread' : `thread ${shortName(t.context)}`;
      out.push({ location: siteLocation(root, t.entry.site), message: `${who}: starts in ${shortName(t.entry.function)} (${t.entry.kind})` });
      out.push({ location: siteLocation(root, t.holds.site), message: `${who} takes ${t.holds.lock}` });
      for (const h of t.path) out.push({ location: siteLocation(root, h.site), message: `${who}: ${shortName(h.from)} → ${shortName(h.to)} (${h.kind})` });
      out.push({ location: siteLocation(root, t.acquires.site), message: `${who} takes ${t.acquires.lock} while holding ${t.holds.lock}` });
    }
    return out;
  }
  out.push({ location: siteLocation(root, f.entry.site), message: `entry: ${shortName(f.entry.function)} (${f.entry.kind}) runs holding the ${f.lock}` });
  for (const h of f.path) out.push({ location: siteLocation(root, h.site), message: `${shortName(h.from)} → ${shortName(h.to)} (${h.kind}${h.macro ? `, macro ${h.macro}` : ''}${h.kind === 'indirect' ? ` through ${h.via}` : ''})` });
  for (const a of f.awaited) {
    const who = a.mainThread ? `Redis' main thread (${shortName(a.threadRoot)})` : `thread ${shortName(a.threadRoot)}`;
    for (const h of a.pathToReleaser) out.push({ location: siteLocation(root, h.site), message: `${who}: ${shortName(h.from)} → ${shortName(h.to)} (${h.kind})` });
    out.push({ location: siteLocation(root, a.releaser.site), message: `${who} releases the wait: ${a.releaser.action}` });
    if (a.mainThread) {
      if (a.takesLock) out.push({ location: siteLocation(root, a.takesLock.site), message: `${who}: Redis runs ${shortName(a.threadRoot)} only holding the ${f.lock}` });
    } else if (a.takesLock) {
      for (const h of a.takesLock.path) out.push({ location: siteLocation(root, h.site), message: `thread ${shortName(a.threadRoot)}: ${shortName(h.from)} → ${shortName(h.to)} (${h.kind})` });
      out.push({ location: siteLocation(root, a.takesLock.site), message: a.takesLock.tryLock ? `thread ${shortName(a.threadRoot)} retries the ${f.lock}'s try-lock here until it succeeds (${a.takesLock.tryLock.why}): it spins while the ${f.lock} is held` : `thread ${shortName(a.threadRoot)} takes the ${f.lock} here and blocks` });
    }
  }
  for (const s of f.sequencedAfter.slice(0, 5)) out.push({ location: siteLocation(root, s.site), message: `never runs while the wait blocks: ${s.text}` });
  return out;
}

/** A finding's diagnostics, by file URI: at its wait (or offending call) and at the entry's first call; for a lock-order cycle, where each thread takes its second lock. */
function findingDiagnostics(root: string, f: Finding, level: Exclude<Severity, 'off'>): [string, Diagnostic][] {
  const out: [string, Diagnostic][] = [];
  const uriOf = (file: string) => pathToUri(path.join(root, file));
  const site = findingSite(f);
  const info = related(root, f);
  out.push([uriOf(site.file), { range: siteRange(site, 5), severity: SEVERITY[level], source: 'lockpath', code: f.class, message: f.message, relatedInformation: info, data: { id: f.id, entry: shortName(f.entry.function) } }]);
  if (f.threads) {
    // A lock-order cycle is reported where each thread takes its second lock.
    for (const t of f.threads.slice(1)) out.push([uriOf(t.acquires.site.file), { range: siteRange(t.acquires.site, 5), severity: SEVERITY[level], source: 'lockpath', code: f.class, message: f.message, relatedInformation: info, data: { id: f.id } }]);
    return out;
  }
  const first = f.path[0];
  if (first && (first.site.file !== site.file || first.site.line !== site.line)) {
    out.push([uriOf(first.site.file), {
      range: siteRange(first.site, shortName(first.to).length),
      severity: SEVERITY[level],
      source: 'lockpath',
      code: f.class,
      message: `${shortName(f.entry.function)} holds the ${f.lock} here and this call leads to a ${f.class}: ${f.message}`,
      relatedInformation: info,
      data: { id: f.id },
    }]);
  }
  return out;
}

interface CachedFinding { root: string; level: Severity; revision: number; entries: [string, Diagnostic][] }

/** Whether a finding refers to one of `files` (a site in it, or a file name in its text). */
function mentions(x: unknown, files: Set<string>): boolean {
  if (typeof x === 'string') {
    for (const f of files) if (x.includes(f)) return true;
    return false;
  }
  if (typeof x !== 'object' || x === null) return false;
  if (Array.isArray(x)) return x.some((v) => mentions(v, files));
  for (const v of Object.values(x)) if (mentions(v, files)) return true;
  return false;
}

/**
 * Diagnostics of findings, remembered per finding object: a finding that did not change keeps
 * its diagnostics. Findings are new objects whenever the analysis recomputes them; the one change
 * made in place — positions shifted after an edit that only moved code — is reported by the
 * session (`shiftedSince`), and invalidates the findings that mention the shifted file.
 */
export class DiagnosticsCache {
  private readonly cache = new WeakMap<Finding, CachedFinding>();

  get(state: FolderState, f: Finding, level: Severity): [string, Diagnostic][] {
    const session = state.session!;
    const c = this.cache.get(f);
    if (c && c.root === state.root && c.level === level) {
      const shifted = c.revision === session.revision ? new Set<string>() : session.shiftedSince(c.revision);
      if (shifted && (!shifted.size || !mentions(f, shifted))) {
        c.revision = session.revision;
        return c.entries;
      }
    }
    const entries = level === 'off' || f.suppressed ? [] : findingDiagnostics(state.root, f, level);
    this.cache.set(f, { root: state.root, level, revision: session.revision, entries });
    return entries;
  }
}

/** Related locations a merged diagnostic keeps: enough to reach every entry, not every hop of 35 paths. */
const MERGED_RELATED = 60;

/**
 * One diagnostic for the findings of one class at one place (a wait reached from 35 commands is
 * 35 findings, and 35 stacked squiggles with 35 hover entries would bury the one fact: this wait
 * blocks holding the lock, from these entries). The first finding's message and evidence lead;
 * each finding's entry follows in the related locations. Cached by its members' identities, so
 * that an unchanged place is not re-sent.
 */
export class PlaceMerger {
  private readonly cache = new WeakMap<Diagnostic, { members: Diagnostic[]; merged: Diagnostic }>();

  merge(list: Diagnostic[]): Diagnostic[] {
    const groups = new Map<string, Diagnostic[]>();
    const out: (Diagnostic | Diagnostic[])[] = [];
    for (const d of list) {
      // Only a finding's diagnostic at its place carries the entry; the entry-call ones stay apart.
      if (!(d.data as { entry?: string } | undefined)?.entry) { out.push(d); continue; }
      const key = `${d.code}|${d.severity}|${d.range.start.line}:${d.range.start.character}`;
      const group = groups.get(key);
      if (group) group.push(d);
      else { const g = [d]; groups.set(key, g); out.push(g); }
    }
    return out.map((x) => (Array.isArray(x) ? (x.length === 1 ? x[0] : this.merged(x)) : x));
  }

  private merged(members: Diagnostic[]): Diagnostic {
    const cached = this.cache.get(members[0]);
    if (cached && cached.members.length === members.length && cached.members.every((m, i) => m === members[i])) return cached.merged;
    const entries = [...new Set(members.map((m) => (m.data as { entry: string }).entry))];
    const named = entries.length > 4 ? `${entries.slice(0, 4).join(', ')} and ${entries.length - 4} more` : entries.join(', ');
    const seen = new Set<string>();
    const relatedInformation: DiagnosticRelatedInformation[] = [];
    // Every member's first related location is its entry; then the first member's evidence.
    for (const r of [...members.map((m) => m.relatedInformation?.[0]), ...(members[0].relatedInformation ?? []).slice(1)]) {
      if (!r || relatedInformation.length >= MERGED_RELATED) continue;
      const key = `${r.location.uri}:${r.location.range.start.line}:${r.message}`;
      if (!seen.has(key)) { seen.add(key); relatedInformation.push(r); }
    }
    const first = members[0];
    const merged: Diagnostic = {
      ...first,
      message: `${first.code} from ${members.length} entry points (${named}); the first: ${first.message}`,
      relatedInformation,
      data: { ids: members.map((m) => (m.data as { id: string }).id) },
    };
    this.cache.set(first, { members, merged });
    return merged;
  }
}

/** Diagnostics per file URI for a folder: at each wait (or offending call), one per class, and at each entry's first call. */
export function diagnosticsFor(state: FolderState, severity: Record<string, Severity>, cache = new DiagnosticsCache(), merger = new PlaceMerger()): Map<string, Diagnostic[]> {
  const out = new Map<string, Diagnostic[]>();
  const session = state.session;
  if (!session) return out;
  for (const f of session.findings) {
    for (const [uri, d] of cache.get(state, f, severity[f.class] ?? 'warning')) {
      const list = out.get(uri);
      if (list) list.push(d);
      else out.set(uri, [d]);
    }
  }
  for (const [uri, list] of out) out.set(uri, merger.merge(list));
  return out;
}

/**
 * Publishes the current diagnostics of every folder: files whose diagnostics changed (including
 * files that no longer have any), plus the files in `always` (the document just edited). A file's
 * diagnostics changed when a finding with diagnostics there is new, recomputed or gone.
 */
export class DiagnosticsPublisher {
  /** What each file was last sent: the diagnostic objects, compared by identity (cached per finding). */
  private published = new Map<string, Diagnostic[]>();
  private readonly cache = new DiagnosticsCache();
  private readonly merger = new PlaceMerger();

  constructor(private readonly connection: Connection, private readonly workspace: Workspace) {}

  publishAll(always: readonly string[] = []): void {
    const next = new Map<string, Diagnostic[]>();
    for (const state of this.workspace.folders.values()) {
      for (const [uri, list] of diagnosticsFor(state, this.workspace.currentSettings.severity, this.cache, this.merger)) next.set(uri, [...(next.get(uri) ?? []), ...list]);
    }
    for (const uri of [...this.published.keys(), ...always]) if (!next.has(uri)) next.set(uri, []);
    const sent = new Map<string, Diagnostic[]>();
    for (const [uri, diagnostics] of next) {
      if (diagnostics.length) sent.set(uri, diagnostics);
      if (always.includes(uri) || !sameItems(this.published.get(uri), diagnostics)) void this.connection.sendDiagnostics({ uri, diagnostics });
    }
    this.published = sent;
  }
}

function sameItems(a: readonly Diagnostic[] | undefined, b: readonly Diagnostic[]): boolean {
  if (!a) return b.length === 0;
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
