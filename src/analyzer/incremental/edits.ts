// Text changes as the editor sends them, turned into tree-sitter edits. Offsets are UTF-16 code
// units throughout: LSP positions count UTF-16 code units, and both tree-sitter backends parse JS
// strings as UTF-16 (web-tree-sitter halves its byte offsets and columns; the native binding reads
// UTF-16LE), so no UTF-8 byte arithmetic is needed — and doing it would corrupt non-ASCII edits.
import type { Point, SyntaxTree, TreeEdit } from '../parse/syntax';

/** One change: replace text[start, end) with `text`, offsets into the text before the change. */
export interface TextChange { start: number; end: number; text: string }

/** tree-sitter's point of an offset: rows count '\n' only (a lone '\r' is not a line break to it). */
export function pointAt(text: string, offset: number): Point {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: offset - lineStart };
}

/** The point just after `inserted` when it starts at `start`. */
function pointAfter(start: Point, inserted: string): Point {
  const lastBreak = inserted.lastIndexOf('\n');
  if (lastBreak < 0) return { row: start.row, column: start.column + inserted.length };
  let rows = 0;
  for (let i = inserted.indexOf('\n'); i >= 0; i = inserted.indexOf('\n', i + 1)) rows++;
  return { row: start.row + rows, column: inserted.length - lastBreak - 1 };
}

export function treeEditFor(before: string, change: TextChange): TreeEdit {
  const startPosition = pointAt(before, change.start);
  return {
    startIndex: change.start,
    oldEndIndex: change.end,
    newEndIndex: change.start + change.text.length,
    startPosition,
    oldEndPosition: pointAt(before, change.end),
    newEndPosition: pointAfter(startPosition, change.text),
  };
}

export function applyChange(text: string, change: TextChange): string {
  return text.slice(0, change.start) + change.text + text.slice(change.end);
}

/**
 * Edits `tree` (a parse of `before`) by `changes`, applied in order, and returns the text they
 * produce; the caller re-parses that text with the edited tree.
 */
export function editTree(tree: SyntaxTree, before: string, changes: readonly TextChange[]): string {
  let text = before;
  for (const c of changes) {
    tree.edit!(treeEditFor(text, c));
    text = applyChange(text, c);
  }
  return text;
}
