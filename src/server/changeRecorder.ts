import { TextDocument } from 'vscode-languageserver-textdocument';
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver/node';
import type { TextDocumentsConfiguration } from 'vscode-languageserver/node';
import type { TextChange } from '../analyzer/incremental/edits';

/**
 * The editor's content changes per open document, as offsets into the text each applies to, kept
 * until the next analysis of that document takes them: the session applies them to the file's
 * syntax tree and re-parses incrementally. Changes are applied one by one because each change's
 * range refers to the text left by the previous one.
 */
export class ChangeRecorder {
  private readonly pending = new Map<string, TextChange[]>();

  /** A TextDocuments configuration that records changes while applying them. */
  documentsConfiguration(): TextDocumentsConfiguration<TextDocument> {
    return {
      create: (uri, languageId, version, content) => {
        this.pending.set(uri, []);
        return TextDocument.create(uri, languageId, version, content);
      },
      update: (doc, changes, version) => {
        const list = this.pending.get(doc.uri) ?? [];
        this.pending.set(doc.uri, list);
        for (const c of changes) {
          list.push(toTextChange(doc, c));
          TextDocument.update(doc, [c], version);
        }
        return doc;
      },
    };
  }

  /** The changes since the last call, together with the text they lead to (read at the same moment). */
  take(doc: TextDocument): { text: string; changes: TextChange[] } {
    const changes = this.pending.get(doc.uri) ?? [];
    this.pending.set(doc.uri, []);
    return { text: doc.getText(), changes };
  }

  forget(uri: string): void {
    this.pending.delete(uri);
  }
}

function toTextChange(doc: TextDocument, c: TextDocumentContentChangeEvent): TextChange {
  // A change without a range replaces the whole text: one edit over all of it.
  if (!('range' in c) || !c.range) return { start: 0, end: doc.getText().length, text: c.text };
  // offsetAt clamps positions past a line's end, as the document's own update does.
  const start = doc.offsetAt(c.range.start);
  const end = doc.offsetAt(c.range.end);
  return { start: Math.min(start, end), end: Math.max(start, end), text: c.text };
}
