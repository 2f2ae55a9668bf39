// Character-level helpers for the places where the syntax tree is not trustworthy (statement
// macros, K&R headers, whole-definition macros) and the extractor must read the source itself.

/** Index just past the `)` matching the `(` at `open`, or -1 (unbalanced, or over `limit` chars). */
export function matchParen(text: string, open: number, limit = 20000): number {
  let depth = 0;
  const end = Math.min(text.length, open + limit);
  for (let i = open; i < end; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = skipQuoted(text, i, end) - 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) return -1;
      i = close + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return -1;
      i = nl;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function skipQuoted(text: string, start: number, end: number): number {
  const q = text[start];
  for (let i = start + 1; i < end; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === q || text[i] === '\n') return i + 1;
  }
  return end;
}

/** The first character at or after `from` that is not whitespace or inside a comment. */
export function nextSignificant(text: string, from: number, limit = text.length): { ch: string; index: number; newlineBefore: boolean } {
  let newlineBefore = false;
  let i = from;
  while (i < limit) {
    const c = text[i];
    if (c === '\n') { newlineBefore = true; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\\') { i++; continue; }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) return { ch: '', index: limit, newlineBefore };
      i = close + 2;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? limit : nl;
      continue;
    }
    return { ch: c, index: i, newlineBefore };
  }
  return { ch: '', index: limit, newlineBefore };
}

/** Replaces comments and string contents with spaces, keeping every offset and newline. */
export function blankCommentsAndStrings(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) => m.replace(/[^\n]/g, ' '));
}

export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo] + 1 };
  }
}

const NOT_FUNCTIONS = new Set(['if', 'while', 'for', 'switch', 'return', 'sizeof', 'do', 'else', 'case', 'defined']);

/**
 * Recognises a K&R-style header at the end of `text` (comments already blanked):
 * `[type] name(a, b)` followed only by parameter declarations `int a; char *b;`.
 */
export function knrHeader(text: string): { name: string; nameOffset: number; params: string[]; returnType: string } | null {
  const m = /(^|[;}\n])([ \t\w*]*?)\b([A-Za-z_]\w*)\s*\(([\w\s,]*)\)\s*((?:[^;{}()]*;\s*)*)$/.exec(text);
  if (!m) return null;
  const name = m[3];
  if (NOT_FUNCTIONS.has(name)) return null;
  const params = m[4].split(',').map((p) => p.trim()).filter(Boolean);
  if (!params.every((p) => /^[A-Za-z_]\w*$/.test(p))) return null;
  const returnType = m[2].replace(/\b(static|inline|extern|register)\b|\*/g, '').trim() || 'int';
  const nameOffset = m.index + m[1].length + m[2].length;
  return { name, nameOffset: text.indexOf(name, nameOffset), params, returnType };
}
