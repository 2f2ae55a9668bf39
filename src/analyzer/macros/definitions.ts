// Collects #define directives from C source text without running a preprocessor: every
// definition is kept, including ones in inactive #if branches, because the analyzer does
// not know the build configuration and would rather see all candidate expansions.

import { isIdentPartCode, isIdentStartCode } from './lexer';
import { MODELLED_API_NAMES } from '../profile/modelledApis';
import { WINDOWS_MACROS, excludesWindows, requiresWindows } from './platform';

export interface MacroDef {
  name: string;
  /**
   * null = object-like macro; [] = function-like with no params. For a variadic macro the
   * last entry is the variadic parameter: '__VA_ARGS__' for '...', or the GNU name for 'name...'.
   */
  params: string[] | null;
  /** '...' or 'name...' (GNU) last param; __VA_ARGS__ (or the GNU name) refers to the rest */
  variadic: boolean;
  /** replacement text, continuation lines joined, comments removed, trimmed */
  body: string;
  file: string;
  /** 1-based line of the #define */
  line: number;
}

const C_TAB = 9;
const C_NL = 10;
const C_VT = 11;
const C_FF = 12;
const C_CR = 13;
const C_SPACE = 32;
const C_DQ = 34;
const C_HASH = 35;
const C_SQ = 39;
const C_STAR = 42;
const C_SLASH = 47;
const C_BACKSLASH = 92;

function isHSpace(c: number): boolean {
  return c === C_SPACE || c === C_TAB || c === C_CR || c === C_FF || c === C_VT || c === 0xfeff || c === 0xa0;
}

/** Mutable cursor shared by the helpers so they can report how many newlines they crossed. */
interface Cursor {
  pos: number;
  line: number;
}

/** Skips a block comment whose '/*' is at cur.pos; an unterminated one runs to the end. */
function skipBlockComment(text: string, cur: Cursor): void {
  const end = text.indexOf('*/', cur.pos + 2);
  const stop = end < 0 ? text.length : end + 2;
  let nl = text.indexOf('\n', cur.pos);
  while (nl >= 0 && nl < stop) {
    cur.line++;
    nl = text.indexOf('\n', nl + 1);
  }
  cur.pos = stop;
}

/**
 * Moves to the newline ending a '//' comment; a backslash before that newline continues the
 * comment onto the next line (a classic source of "why is my next line ignored" bugs).
 */
function skipLineComment(text: string, cur: Cursor): void {
  let p = cur.pos + 2;
  for (;;) {
    const nl = text.indexOf('\n', p);
    if (nl < 0) {
      cur.pos = text.length;
      return;
    }
    let q = nl - 1;
    if (q >= 0 && text.charCodeAt(q) === C_CR) q--;
    if (q >= p && text.charCodeAt(q) === C_BACKSLASH) {
      cur.line++;
      p = nl + 1;
      continue;
    }
    cur.pos = nl;
    return;
  }
}

/** Length of a backslash-newline at p (2 or 3 with CR), else 0. */
function continuationAt(text: string, p: number): number {
  if (text.charCodeAt(p) !== C_BACKSLASH) return 0;
  const d = text.charCodeAt(p + 1);
  if (d === C_NL) return 2;
  if (d === C_CR && text.charCodeAt(p + 2) === C_NL) return 3;
  return 0;
}

/**
 * Reads the rest of a directive's logical line from cur.pos, leaving cur.pos on the ending
 * newline (or the end of text). With `collect`, returns the text with continuations joined,
 * comments turned into single spaces and whitespace runs (outside literals) collapsed.
 */
function readLogicalLine(text: string, cur: Cursor, collect: boolean): string {
  const n = text.length;
  let out = '';
  let pendingSpace = false;
  let p = cur.pos;
  while (p < n) {
    const c = text.charCodeAt(p);
    if (c === C_NL) break;
    if (c === C_BACKSLASH) {
      const k = continuationAt(text, p);
      if (k > 0) {
        p += k;
        cur.line++;
        continue;
      }
    }
    if (isHSpace(c)) {
      pendingSpace = true;
      p++;
      continue;
    }
    if (c === C_SLASH) {
      const d = text.charCodeAt(p + 1);
      if (d === C_STAR) {
        cur.pos = p;
        skipBlockComment(text, cur);
        p = cur.pos;
        pendingSpace = true;
        continue;
      }
      if (d === C_SLASH) {
        cur.pos = p;
        skipLineComment(text, cur);
        p = cur.pos;
        break;
      }
    }
    if (collect && pendingSpace && out.length > 0) out += ' ';
    pendingSpace = false;
    if (c === C_DQ || c === C_SQ) {
      // Literals are copied verbatim (minus continuations) so '//' or '/*' inside them survive.
      p++;
      let lit = '';
      let chunk = p - 1;
      while (p < n) {
        const ch = text.charCodeAt(p);
        if (ch === C_BACKSLASH) {
          const k = continuationAt(text, p);
          if (k > 0) {
            lit += text.slice(chunk, p);
            p += k;
            chunk = p;
            cur.line++;
            continue;
          }
          p += 2;
          continue;
        }
        if (ch === c) {
          p++;
          break;
        }
        if (ch === C_NL) break;
        p++;
      }
      if (p > n) p = n;
      if (collect) out += lit + text.slice(chunk, p);
      continue;
    }
    if (collect) out += text[p];
    p++;
  }
  cur.pos = p;
  return out;
}

const IDENT_RE = /^[A-Za-z_$\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/;

/** Turns the logical text after '#define' into a definition, or null when it names nothing. */
function parseDefine(rest: string, file: string, line: number): MacroDef | null {
  const m = IDENT_RE.exec(rest);
  if (!m) return null;
  const name = m[0];
  let p = name.length;
  // Only a '(' touching the name makes a function-like macro; comments already became spaces.
  if (rest.charCodeAt(p) !== 40) {
    return { name, params: null, variadic: false, body: rest.slice(p).trim(), file, line };
  }
  const close = rest.indexOf(')', p + 1);
  const paramText = close < 0 ? rest.slice(p + 1) : rest.slice(p + 1, close);
  const body = close < 0 ? '' : rest.slice(close + 1).trim();
  const params: string[] = [];
  let variadic = false;
  if (paramText.trim() !== '') {
    for (const raw of paramText.split(',')) {
      const piece = raw.trim();
      if (piece.endsWith('...')) {
        const gnuName = piece.slice(0, -3).trim();
        params.push(gnuName === '' ? '__VA_ARGS__' : gnuName);
        variadic = true;
        break; // nothing may follow the variadic parameter
      }
      params.push(piece);
    }
  }
  return { name, params, variadic, body, file, line };
}

export function scanMacroDefinitions(text: string, file: string): MacroDef[] {
  const defs: MacroDef[] = [];
  const windows = new WindowsBranches();
  const n = text.length;
  const cur: Cursor = { pos: 0, line: 1 };
  // True while only whitespace and comments have been seen on the current line, which is
  // when a '#' starts a directive.
  let atLineStart = true;
  let p = 0;
  while (p < n) {
    const c = text.charCodeAt(p);
    if (c === C_NL) {
      cur.line++;
      atLineStart = true;
      p++;
      continue;
    }
    if (isHSpace(c)) {
      p++;
      continue;
    }
    if (c === C_BACKSLASH) {
      const k = continuationAt(text, p);
      if (k > 0) {
        cur.line++;
        p += k;
        continue;
      }
      atLineStart = false;
      p++;
      continue;
    }
    if (c === C_SLASH) {
      const d = text.charCodeAt(p + 1);
      if (d === C_STAR) {
        cur.pos = p;
        skipBlockComment(text, cur);
        p = cur.pos;
        continue;
      }
      if (d === C_SLASH) {
        cur.pos = p;
        skipLineComment(text, cur);
        p = cur.pos;
        continue;
      }
      atLineStart = false;
      p++;
      continue;
    }
    if (c === C_DQ || c === C_SQ) {
      atLineStart = false;
      p++;
      while (p < n) {
        const ch = text.charCodeAt(p);
        if (ch === C_BACKSLASH) {
          if (text.charCodeAt(p + 1) === C_NL) cur.line++;
          else if (text.charCodeAt(p + 1) === C_CR && text.charCodeAt(p + 2) === C_NL) {
            cur.line++;
            p++;
          }
          p += 2;
        } else if (ch === c) {
          p++;
          break;
        } else if (ch === C_NL) {
          break;
        } else {
          p++;
        }
      }
      continue;
    }
    if (c === C_HASH && atLineStart) {
      const directiveLine = cur.line;
      cur.pos = p + 1;
      skipDirectiveSpace(text, cur);
      let q = cur.pos;
      while (q < n && isIdentPartCode(text.charCodeAt(q))) q++;
      const word = text.slice(cur.pos, q);
      cur.pos = q;
      if (word === 'define' && (q >= n || !isIdentStartCode(text.charCodeAt(q)))) {
        const rest = readLogicalLine(text, cur, true).trimStart();
        const def = parseDefine(rest, file, directiveLine);
        // A modelled API's stand-in (a no-threads build's stub) and Windows-only glue are not
        // this analysis' build.
        if (def && !MODELLED_API_NAMES.has(def.name) && !windows.inWindowsOnlyBranch()) defs.push(def);
      } else if (CONDITIONAL_DIRECTIVES.has(word)) {
        windows.directive(word, readLogicalLine(text, cur, true));
      } else {
        // Other directives are skipped as a whole line so that e.g. "#error don't" cannot
        // open a literal that hides the following lines.
        readLogicalLine(text, cur, false);
      }
      p = cur.pos;
      atLineStart = false;
      continue;
    }
    // Ordinary code: jump straight to the next character that can change the scanner's
    // state. The regex engine does this far faster than a JS loop, which matters on cold
    // (not yet JIT-compiled) calls.
    atLineStart = false;
    INTERESTING.lastIndex = p + 1;
    const m = INTERESTING.exec(text);
    p = m === null ? n : m.index;
  }
  return defs;
}

const INTERESTING = /[\n"'\/#\\]/g;

const CONDITIONAL_DIRECTIVES = new Set(['if', 'ifdef', 'ifndef', 'elif', 'else', 'endif']);

/**
 * Which `#if` branches only a Windows build compiles. lockpath analyses a POSIX build: Windows
 * glue such as git's `compat/mingw.h` (`#define raise mingw_raise`, pulled in under
 * `#if defined(__MINGW32__)`) or hiredis' `sockcompat.h` must not replace POSIX calls. A branch is
 * Windows-only when its condition requires a Windows macro (`#ifdef _WIN32`, `#if
 * defined(_MSC_VER) && …`), or it is the `#else` of `#ifndef _WIN32`. Other conditions are not
 * evaluated: their definitions all count, as before.
 */
class WindowsBranches {
  /** Per open `#if`: whether the current branch is Windows-only, and whether its `#else` would be. */
  private readonly stack: { current: boolean; otherwise: boolean }[] = [];
  private dead = 0;

  inWindowsOnlyBranch(): boolean {
    return this.dead > 0;
  }

  directive(word: string, rest: string): void {
    const condition = rest.replace(/\/\*[^]*?\*\/|\/\/.*$/g, ' ').trim();
    switch (word) {
      case 'ifdef':
        this.push(WINDOWS_MACROS.has(condition.split(/\s/)[0]), false);
        return;
      case 'ifndef':
        this.push(false, WINDOWS_MACROS.has(condition.split(/\s/)[0]));
        return;
      case 'if':
        this.push(requiresWindows(condition), excludesWindows(condition));
        return;
      case 'elif': {
        const top = this.stack[this.stack.length - 1];
        if (top) this.set(top, requiresWindows(condition), false);
        return;
      }
      case 'else': {
        const top = this.stack[this.stack.length - 1];
        if (top) this.set(top, top.otherwise, false);
        return;
      }
      case 'endif': {
        const top = this.stack.pop();
        if (top?.current) this.dead--;
        return;
      }
    }
  }

  private push(current: boolean, otherwise: boolean): void {
    this.stack.push({ current, otherwise });
    if (current) this.dead++;
  }

  private set(top: { current: boolean; otherwise: boolean }, current: boolean, otherwise: boolean): void {
    if (top.current) this.dead--;
    top.current = current;
    top.otherwise = otherwise;
    if (current) this.dead++;
  }
}


/** Skips blanks, comments and continuations between '#' and the directive name. */
function skipDirectiveSpace(text: string, cur: Cursor): void {
  const n = text.length;
  while (cur.pos < n) {
    const c = text.charCodeAt(cur.pos);
    if (isHSpace(c)) {
      cur.pos++;
      continue;
    }
    const k = continuationAt(text, cur.pos);
    if (k > 0) {
      cur.pos += k;
      cur.line++;
      continue;
    }
    if (c === C_SLASH && text.charCodeAt(cur.pos + 1) === C_STAR) {
      skipBlockComment(text, cur);
      continue;
    }
    return;
  }
}

// ---------------------------------------------------------------------------------------

const callsModelledApi = new WeakMap<MacroDef, boolean>();

/**
 * Of a name's definitions (one per `#if` branch), the one expansion uses: the first whose body
 * names a thread, lock or wait API the profile models — the threaded POSIX build, as in zstd's
 * `threading.h`, whose Windows branch comes first (`EnterCriticalSection`) and whose
 * single-threaded one expands to nothing (`((void)(a))`) —, else the first with a non-empty body,
 * else the first.
 */
export function preferredDefinition(defs: readonly MacroDef[]): MacroDef | undefined {
  if (defs.length < 2) return defs[0];
  let nonEmpty: MacroDef | undefined;
  for (const d of defs) {
    if (d.body === '') continue;
    let calls = callsModelledApi.get(d);
    if (calls === undefined) {
      calls = (d.body.match(/[A-Za-z_]\w*/g) ?? []).some((word) => MODELLED_API_NAMES.has(word));
      callsModelledApi.set(d, calls);
    }
    if (calls) return d;
    nonEmpty ??= d;
  }
  return nonEmpty ?? defs[0];
}

export class MacroTable {
  private readonly byName = new Map<string, MacroDef[]>();
  private cachedFingerprint: string | undefined;

  add(def: MacroDef): void {
    let list = this.byName.get(def.name);
    if (!list) {
      list = [];
      this.byName.set(def.name, list);
    }
    // Re-scanning the same file must not multiply entries.
    for (const d of list) if (sameDef(d, def)) return;
    list.push(def);
    this.cachedFingerprint = undefined;
  }

  addAll(defs: Iterable<MacroDef>): void {
    for (const d of defs) this.add(d);
  }

  /** All definitions of a name, in insertion order (a name can be defined differently under #ifdef). */
  all(name: string): readonly MacroDef[] {
    return this.byName.get(name) ?? EMPTY_DEFS;
  }

  /** The definition expansion uses (see `preferredDefinition`). */
  get(name: string): MacroDef | undefined {
    const list = this.byName.get(name);
    return list ? preferredDefinition(list) : undefined;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  isFunctionLike(name: string): boolean {
    const d = this.get(name);
    return d !== undefined && d.params !== null;
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** Number of distinct macro names. */
  get size(): number {
    return this.byName.size;
  }

  /** Stable hash of the table's contents (for caches). */
  fingerprint(): string {
    if (this.cachedFingerprint !== undefined) return this.cachedFingerprint;
    // Order between names does not affect expansion, order within a name does (see get()).
    const names = [...this.byName.keys()].sort();
    let h1 = 0x811c9dc5;
    let h2 = 0x2545f491;
    let count = 0;
    const feed = (s: string): void => {
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x5bd1e995);
        h2 ^= h2 >>> 15;
      }
    };
    for (const name of names) {
      for (const d of this.byName.get(name)!) {
        count++;
        feed(d.name);
        feed('\u0000');
        feed(d.params === null ? '\u0001' : d.params.join('\u0002'));
        feed(d.variadic ? '\u0003v' : '\u0003');
        feed(d.body);
        feed('\u0000');
        feed(d.file);
        feed('\u0000');
        feed(String(d.line));
        feed('\n');
      }
    }
    this.cachedFingerprint = `${count.toString(16)}-${(h1 >>> 0).toString(16).padStart(8, '0')}${(h2 >>> 0).toString(16).padStart(8, '0')}`;
    return this.cachedFingerprint;
  }
}

const EMPTY_DEFS: readonly MacroDef[] = Object.freeze([]);

function sameDef(a: MacroDef, b: MacroDef): boolean {
  if (a.file !== b.file || a.line !== b.line || a.body !== b.body || a.variadic !== b.variadic) return false;
  if (a.params === null || b.params === null) return a.params === b.params;
  return a.params.length === b.params.length && a.params.every((p, i) => p === b.params![i]);
}
