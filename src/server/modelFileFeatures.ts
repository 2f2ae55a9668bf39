import { CompletionItemKind, DiagnosticSeverity } from 'vscode-languageserver/node';
import type { CompletionItem, Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DIRECTIVES, parseModelFile } from '../analyzer/modelFile/modelFile';
import type { ModelDiagnostic } from '../analyzer/modelFile/modelFile';
import { FINDING_CLASSES } from '../analyzer/concurrency/types';
import type { Workspace } from './workspace';

export function isModelFile(uri: string): boolean {
  return /(^|\/)[^/]*\.lockpath$/.test(uri) || uri.endsWith('/.lockpath');
}

export function toDiagnostics(list: ModelDiagnostic[], doc: TextDocument): Diagnostic[] {
  return list.map((d) => {
    const line = doc.getText({ start: { line: d.line - 1, character: 0 }, end: { line: d.line, character: 0 } });
    const rest = line.slice(d.col - 1).match(/^\S*/)?.[0].length ?? 1;
    return {
      range: { start: { line: d.line - 1, character: d.col - 1 }, end: { line: d.line - 1, character: d.col - 1 + Math.max(1, rest) } },
      severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      source: 'lockpath',
      message: d.message,
    };
  });
}

/** Syntax errors, and names the tree does not know (when the file belongs to an analysed folder). */
export function modelDiagnostics(workspace: Workspace, doc: TextDocument): Diagnostic[] {
  const loc = workspace.locate(doc.uri);
  const session = loc?.state.session;
  const list = session ? session.checkModel(doc.getText()) : parseModelFile(doc.getText(), doc.uri).diagnostics;
  return toDiagnostics(list, doc);
}

/** Directives at the start of a line, classes after `allow`, function names elsewhere. */
export function modelCompletion(workspace: Workspace, doc: TextDocument, line: number, character: number): CompletionItem[] {
  const before = doc.getText({ start: { line, character: 0 }, end: { line, character } });
  if (/^\s*\S*$/.test(before)) return DIRECTIVES.map((d) => ({ label: d, kind: CompletionItemKind.Keyword }));
  if (/^\s*allow\s+\S*$/.test(before)) return [...FINDING_CLASSES, '*'].map((c) => ({ label: c, kind: CompletionItemKind.EnumMember }));
  const session = workspace.locate(doc.uri)?.state.session;
  if (!session) return [];
  const names = new Set(session.analysis.program.functions.map((f) => f.name));
  return [...names].sort().map((n) => ({ label: n, kind: CompletionItemKind.Function }));
}
