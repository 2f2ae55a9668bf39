// A small C preprocessing-token lexer. It is deliberately forgiving: macro bodies and
// snippets handed to the expander are fragments of real-world (sometimes broken) C, so
// anything it does not recognise becomes a one-character punctuator instead of an error.

export type TokenKind = 'ident' | 'number' | 'string' | 'char' | 'punct';

export interface Token {
  kind: TokenKind;
  text: string;
  /** true when whitespace or a comment preceded it */
  spaceBefore: boolean;
}

const C_TAB = 9;
const C_NL = 10;
const C_VT = 11;
const C_FF = 12;
const C_CR = 13;
const C_SPACE = 32;
const C_DQ = 34;
const C_DOLLAR = 36;
const C_SQ = 39;
const C_STAR = 42;
const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_BACKSLASH = 92;
const C_UNDERSCORE = 95;

const PUNCT3 = new Set(['<<=', '>>=', '...']);
const PUNCT2 = new Set([
  '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '##',
  '+=', '-=', '*=', '/=', '%=', '&=', '^=', '|=',
]);
const STRING_PREFIXES = new Set(['L', 'u', 'U', 'u8']);

export function isSpaceCode(c: number): boolean {
  return c === C_SPACE || c === C_TAB || c === C_NL || c === C_CR || c === C_FF || c === C_VT
    || c === 0xfeff || c === 0xa0;
}

// '$' is a GNU extension that real code bases (and generated code) use in identifiers;
// non-ASCII is accepted as identifier material because C allows extended characters there.
export function isIdentStartCode(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === C_UNDERSCORE || c === C_DOLLAR
    || (c >= 0x80 && c !== 0xfeff && c !== 0xa0);
}

export function isIdentPartCode(c: number): boolean {
  return isIdentStartCode(c) || (c >= 48 && c <= 57);
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isExponentCode(c: number): boolean {
  return c === 101 || c === 69 || c === 112 || c === 80; // e E p P
}

/**
 * Index just past a quoted literal starting at `start` (the opening quote). A literal that
 * is not closed on its line ends before the newline, so one stray quote cannot swallow the
 * rest of a file.
 */
export function skipQuoted(text: string, start: number, quote: number): number {
  const n = text.length;
  let j = start + 1;
  while (j < n) {
    const ch = text.charCodeAt(j);
    if (ch === C_BACKSLASH) {
      j += 2;
    } else if (ch === quote) {
      return j + 1;
    } else if (ch === C_NL) {
      return j;
    } else {
      j++;
    }
  }
  return n;
}

function punctLength(text: string, i: number): number {
  if (i + 3 <= text.length && PUNCT3.has(text.slice(i, i + 3))) return 3;
  if (i + 2 <= text.length && PUNCT2.has(text.slice(i, i + 2))) return 2;
  return 1;
}

export function tokenizeC(input: string): Token[] {
  // Translation phase 2 happens before tokenization, so a continuation can even split a token.
  const text = input.indexOf('\\') >= 0 ? input.replace(/\\\r?\n/g, '') : input;
  const n = text.length;
  const tokens: Token[] = [];
  let i = 0;
  let space = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpaceCode(c)) {
      space = true;
      i++;
      continue;
    }
    if (c === C_SLASH) {
      const d = text.charCodeAt(i + 1);
      if (d === C_SLASH) {
        const e = text.indexOf('\n', i + 2);
        i = e < 0 ? n : e;
        space = true;
        continue;
      }
      if (d === C_STAR) {
        const e = text.indexOf('*/', i + 2);
        i = e < 0 ? n : e + 2;
        space = true;
        continue;
      }
    }
    const start = i;
    let kind: TokenKind;
    if (isIdentStartCode(c)) {
      i++;
      while (i < n && isIdentPartCode(text.charCodeAt(i))) i++;
      const q = text.charCodeAt(i);
      if ((q === C_DQ || q === C_SQ) && STRING_PREFIXES.has(text.slice(start, i))) {
        i = skipQuoted(text, i, q);
        kind = q === C_DQ ? 'string' : 'char';
      } else {
        kind = 'ident';
      }
    } else if (isDigitCode(c) || (c === C_DOT && isDigitCode(text.charCodeAt(i + 1)))) {
      // pp-number, which is intentionally looser than a C number (e.g. 0x1e+1 is one token).
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d === C_PLUS || d === C_MINUS) && isExponentCode(text.charCodeAt(i - 1))) i++;
        else if (isIdentPartCode(d) || d === C_DOT) i++;
        else if (d === C_SQ && isAlnumCode(text.charCodeAt(i - 1)) && isAlnumCode(text.charCodeAt(i + 1))) i++; // C23 digit separator
        else break;
      }
      kind = 'number';
    } else if (c === C_DQ || c === C_SQ) {
      i = skipQuoted(text, i, c);
      kind = c === C_DQ ? 'string' : 'char';
    } else {
      i += punctLength(text, i);
      kind = 'punct';
    }
    tokens.push({ kind, text: text.slice(start, i), spaceBefore: space });
    space = false;
  }
  return tokens;
}

/** Whether printing `b` right after `a` would lex differently from the two tokens. */
function needsSeparator(a: Token, b: Token): boolean {
  const ak = a.kind;
  const bk = b.kind;
  if (a.text.length === 0 || b.text.length === 0) return false;
  const aWord = ak === 'ident' || ak === 'number';
  const bWord = bk === 'ident' || bk === 'number';
  if (aWord && bWord) return true;
  const b0 = b.text.charCodeAt(0);
  if (ak === 'ident' && (bk === 'string' || bk === 'char')) return STRING_PREFIXES.has(a.text);
  if (ak === 'number') {
    if (b0 === C_DOT) return true;
    if ((b0 === C_PLUS || b0 === C_MINUS) && isExponentCode(a.text.charCodeAt(a.text.length - 1))) return true;
    if (b0 === C_SQ) return true;
    return false;
  }
  if (ak === 'punct' && bk === 'number') return a.text.charCodeAt(a.text.length - 1) === C_DOT && isDigitCode(b0);
  if (ak === 'punct' && bk === 'punct') {
    if (a.text === '/' && (b0 === C_SLASH || b0 === C_STAR)) return true;
    // '..' is not a token, but three dots in a row would become '...'.
    if (a.text === '.' && b0 === C_DOT) return true;
    const joined = a.text + b.text;
    return punctLength(joined, 0) > a.text.length;
  }
  return false;
}

export function tokensToText(tokens: Token[]): string {
  let out = '';
  let prev: Token | undefined;
  for (const t of tokens) {
    if (prev !== undefined && (t.spaceBefore || needsSeparator(prev, t))) out += ' ';
    out += t.text;
    prev = t;
  }
  return out;
}
