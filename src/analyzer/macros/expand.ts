// Macro expansion following the C standard's algorithm (C11 6.10.3) in the formulation by
// Dave Prosser: every token carries a "hide set" of macro names it must not expand into
// again. That is what makes cycles (A -> B -> A) and self-references terminate with the name
// left in the output, exactly as a real preprocessor does.
//
// The input is treated as a stack that expansions push back onto, so rescanning (including
// a function-like macro picking up its arguments from the text after its expansion) is a
// loop rather than recursion. Recursion only happens for argument pre-expansion, and each
// level of it raises the token depth, which maxDepth bounds.

import type { MacroDef, MacroTable } from './definitions';
import { tokenizeC, tokensToText, type Token, type TokenKind } from './lexer';

export interface ExpandOptions {
  /** default 32 nested expansions */
  maxDepth?: number;
  /** default 20000 output tokens; stop and mark truncated */
  maxTokens?: number;
}

export interface ExpansionResult {
  /** expanded C text */
  text: string;
  /** names of every macro expanded, in first-use order, no duplicates */
  macrosUsed: string[];
  /** hit maxDepth or maxTokens */
  truncated: boolean;
  /**
   * names whose re-expansion was suppressed because they were already being expanded
   * (self-reference / cycles) — the C rule: a macro's name inside its own expansion is not
   * expanded again
   */
  cyclic: string[];
}

const DEFAULT_MAX_DEPTH = 32;
const DEFAULT_MAX_TOKENS = 20000;
/** Argument pre-expansion is the one recursive step; this caps it regardless of maxDepth. */
const MAX_ARG_NESTING = 500;
const MAX_WORK_CAP = 10_000_000;

/** Immutable set of names; derived sets are memoised so shared hide sets stay shared. */
class HideSet {
  private readonly addCache = new Map<string, HideSet>();
  private readonly unionCache = new Map<HideSet, HideSet>();

  constructor(readonly names: ReadonlySet<string>) {}

  has(name: string): boolean {
    return this.names.has(name);
  }

  add(name: string): HideSet {
    if (this.names.has(name)) return this;
    let r = this.addCache.get(name);
    if (!r) {
      const s = new Set(this.names);
      s.add(name);
      r = new HideSet(s);
      this.addCache.set(name, r);
    }
    return r;
  }

  union(other: HideSet): HideSet {
    if (other === this || other.names.size === 0) return this;
    if (this.names.size === 0) return other;
    let r = this.unionCache.get(other);
    if (!r) {
      r = this;
      for (const n of other.names) r = r.add(n);
      this.unionCache.set(other, r);
    }
    return r;
  }

  intersect(other: HideSet, empty: HideSet): HideSet {
    if (other === this) return this;
    let r = empty;
    for (const n of this.names) if (other.names.has(n)) r = r.add(n);
    return r;
  }
}

interface XToken extends Token {
  hs: HideSet;
  /** How many macro expansions produced this token; bounded by maxDepth. */
  depth: number;
}

// Lexing a body is the hot path when the same macro is expanded many times.
interface LexedDef {
  body: string;
  tokens: Token[];
  params: Map<string, number>;
  hasVaOpt: boolean;
}
const bodyCache = new WeakMap<MacroDef, LexedDef>();

function lexedDef(def: MacroDef): LexedDef {
  let c = bodyCache.get(def);
  // Defs are plain objects that callers could mutate; re-lex if the body changed.
  if (!c || c.body !== def.body) {
    const params = new Map<string, number>();
    def.params?.forEach((p, i) => {
      if (!params.has(p)) params.set(p, i);
    });
    const tokens = tokenizeC(def.body);
    c = { body: def.body, tokens, params, hasVaOpt: tokens.some((t) => t.text === '__VA_OPT__') };
    bodyCache.set(def, c);
  }
  return c;
}

/** An empty-text token stands for the standard's "placemarker" (an empty argument next to ##). */
const PLACEMARKER_TEXT = '';

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

function stringify(tokens: readonly Token[], spaceBefore: boolean): Token {
  let s = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (i > 0 && t.spaceBefore) s += ' ';
    s += t.kind === 'string' || t.kind === 'char' ? t.text.replace(/[\\"]/g, '\\$&') : t.text;
  }
  return { kind: 'string', text: `"${s}"`, spaceBefore };
}

/** Drops `__VA_OPT__(...)`, or keeps only its content, depending on whether variadic arguments exist. */
function applyVaOpt(body: Token[], present: boolean): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < body.length; i++) {
    const t = body[i]!;
    if (t.kind === 'ident' && t.text === '__VA_OPT__' && isPunct(body[i + 1], '(')) {
      let depth = 0;
      let j = i + 1;
      for (; j < body.length; j++) {
        const u = body[j]!;
        if (isPunct(u, '(')) depth++;
        else if (isPunct(u, ')') && --depth === 0) break;
      }
      if (present) {
        const inner = body.slice(i + 2, j);
        if (inner.length > 0) inner[0] = respace(inner[0]!, t.spaceBefore);
        out.push(...inner);
      } else {
        out.push({ kind: 'punct', text: PLACEMARKER_TEXT, spaceBefore: t.spaceBefore });
      }
      i = j;
      continue;
    }
    out.push(t);
  }
  return out;
}

/**
 * Copy with different spacing. Written out instead of an object spread because spreads are
 * markedly slower in V8 and this runs for every substituted argument.
 */
function respace<T extends Token>(t: T, spaceBefore: boolean): T {
  const x = t as Token & Partial<XToken>;
  if (x.hs !== undefined) {
    const copy: XToken = { kind: x.kind, text: x.text, spaceBefore, hs: x.hs, depth: x.depth ?? 0 };
    return copy as Token as T;
  }
  return { kind: x.kind, text: x.text, spaceBefore } as T;
}

function pushAll<T>(dst: T[], src: readonly T[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]!);
}

class Expander {
  readonly used = new Set<string>();
  readonly cyclic = new Set<string>();
  truncated = false;
  /** Set once the token or work budget runs out; every level then unwinds without more work. */
  stopped = false;
  readonly empty = new HideSet(new Set());
  /**
   * Total tokens created or scanned. Output size alone does not bound the work: macros that
   * expand to nothing can still be invoked exponentially often.
   */
  private work = 0;
  private argNesting = 0;
  private readonly maxWork: number;

  constructor(
    private readonly table: MacroTable,
    private readonly maxDepth: number,
    private readonly maxTokens: number,
  ) {
    // Capped so that even maxTokens: Infinity cannot turn an exponential macro into a hang.
    this.maxWork = Math.min(MAX_WORK_CAP, Math.max(1_000_000, maxTokens * 50));
  }

  private spend(n: number): boolean {
    this.work += n;
    if (this.work > this.maxWork) {
      this.truncated = true;
      this.stopped = true;
    }
    return !this.stopped;
  }

  /**
   * Fully expands a token list; the input array is not modified. Tokens count as at least
   * `minDepth` deep, which is how argument pre-expansion nests without copying its input.
   */
  expandList(input: readonly XToken[], minDepth = 0): XToken[] {
    const stack: XToken[] = [];
    for (let i = input.length - 1; i >= 0; i--) stack.push(input[i]!);
    const out: XToken[] = [];
    while (stack.length > 0 && !this.stopped) {
      if (!this.spend(1)) break;
      const t = stack.pop()!;
      const def = t.kind === 'ident' ? this.table.get(t.text) : undefined;
      if (def === undefined || !this.expandOne(t, def, stack, minDepth)) {
        if (out.length >= this.maxTokens) {
          this.truncated = true;
          this.stopped = true;
          break;
        }
        out.push(t);
      }
    }
    return out;
  }

  /** Tries to expand macro name `t`; on success the replacement is on the stack. */
  private expandOne(t: XToken, def: MacroDef, stack: XToken[], minDepth: number): boolean {
    const name = t.text;
    const fnLike = def.params !== null;
    const top = stack[stack.length - 1];
    if (fnLike && !isPunct(top, '(')) return false;
    if (t.hs.has(name)) {
      this.cyclic.add(name);
      return false;
    }
    const depth = t.depth > minDepth ? t.depth : minDepth;
    if (depth >= this.maxDepth) {
      this.truncated = true;
      return false;
    }
    let args: XToken[][] | null = null;
    let hs: HideSet;
    if (fnLike) {
      const call = this.collectArgs(stack, def);
      // An unclosed call is left alone; its tokens are rescanned as ordinary text.
      if (call === null) return false;
      args = call.args;
      stack.length = call.rest;
      hs = t.hs.intersect(call.rparen.hs, this.empty).add(name);
    } else {
      hs = t.hs.add(name);
    }
    this.used.add(name);
    const repl = this.substitute(def, t, args, hs, depth + 1);
    if (this.stopped) return true;
    if (repl.length === 0 && t.spaceBefore && stack.length > 0) {
      // Keep the separation an empty expansion had in the source ("x; NOP();" -> "x; ;").
      const next = stack[stack.length - 1]!;
      if (!next.spaceBefore) stack[stack.length - 1] = respace(next, true);
    }
    for (let i = repl.length - 1; i >= 0; i--) stack.push(repl[i]!);
    return true;
  }

  /**
   * Reads `( args )` from the stack top without consuming it. Commas split arguments only at
   * parenthesis depth 0, as in C; brackets and braces are honoured only as a fallback when the
   * standard split yields more arguments than a non-variadic macro accepts.
   */
  private collectArgs(stack: XToken[], def: MacroDef): { args: XToken[][]; rparen: XToken; rest: number } | null {
    let depth = 0;
    let k = stack.length - 2;
    for (; k >= 0; k--) {
      const u = stack[k]!;
      if (u.kind !== 'punct') continue;
      if (u.text === '(') depth++;
      else if (u.text === ')') {
        if (depth === 0) break;
        depth--;
      }
    }
    this.spend(stack.length - 1 - Math.max(k, 0));
    if (k < 0) return null;
    const flat: XToken[] = [];
    for (let i = stack.length - 2; i > k; i--) flat.push(stack[i]!);
    const params = def.params!;
    let ranges = splitArgs(flat, false);
    if (!def.variadic && ranges.length > Math.max(params.length, 1)) {
      const alt = splitArgs(flat, true);
      if (alt.length < ranges.length) ranges = alt;
    }
    const args: XToken[][] = [];
    for (let i = 0; i < params.length; i++) {
      const r = ranges[i];
      if (r === undefined) {
        args.push([]);
      } else if (i === params.length - 1 && ranges.length > params.length) {
        // The variadic parameter takes the rest including its commas; a non-variadic macro
        // given too many arguments gets the surplus folded into its last one rather than lost.
        args.push(flat.slice(r[0], ranges[ranges.length - 1]![1]));
      } else {
        args.push(flat.slice(r[0], r[1]));
      }
    }
    return { args, rparen: stack[k]!, rest: k };
  }

  private substitute(def: MacroDef, nameTok: XToken, args: XToken[][] | null, hs: HideSet, depth: number): XToken[] {
    const lexed = lexedDef(def);
    const paramIndex = lexed.params;
    const fnLike = args !== null;
    const vaIndex = def.variadic && def.params ? def.params.length - 1 : -1;
    let body = lexed.tokens;
    if (vaIndex >= 0 && args !== null && lexed.hasVaOpt) body = applyVaOpt(body, args[vaIndex]!.length > 0);
    const expandedArgs: (XToken[] | undefined)[] = [];
    const expandedArg = (i: number): XToken[] => {
      let e = expandedArgs[i];
      if (e === undefined) {
        if (this.argNesting >= MAX_ARG_NESTING) {
          // Only reachable with a huge maxDepth; keeps the JS stack safe.
          this.truncated = true;
          e = args![i]!;
        } else {
          // Arguments are expanded in isolation, one level deeper than the invocation.
          this.argNesting++;
          e = this.expandList(args![i]!, depth);
          this.argNesting--;
        }
        expandedArgs[i] = e;
      }
      return e;
    };
    const paramOf = (b: Token | undefined): number => {
      if (!fnLike || b === undefined || b.kind !== 'ident') return -1;
      return paramIndex.get(b.text) ?? -1;
    };
    const placemarker = (spaceBefore: boolean): Token => ({ kind: 'punct', text: PLACEMARKER_TEXT, spaceBefore });

    const res: Token[] = [];
    let pasteNext = false;
    /** Appends substituted tokens; `leading` gives the first one the spacing of what it replaces. */
    const emit = (operand: readonly Token[], leading?: boolean): void => {
      let first = operand.length === 0 ? placemarker(leading ?? false) : operand[0]!;
      if (leading !== undefined && first.spaceBefore !== leading) first = respace(first, leading);
      if (pasteNext) {
        pasteNext = false;
        pushAll(res, paste(res.pop()!, first));
      } else {
        res.push(first);
      }
      for (let i = 1; i < operand.length; i++) res.push(operand[i]!);
    };

    for (let i = 0; i < body.length; i++) {
      if (this.stopped) return [];
      const b = body[i]!;
      if (b.kind === 'punct' && b.text === '#' && fnLike) {
        const p = paramOf(body[i + 1]);
        if (p >= 0) {
          emit([stringify(args![p]!, b.spaceBefore)]);
          i++;
          continue;
        }
      }
      if (b.kind === 'punct' && b.text === '##') {
        // A '##' at either end of a body is ill-formed; dropping it is the least surprising.
        if (res.length > 0 && i < body.length - 1) pasteNext = true;
        continue;
      }
      if (
        vaIndex >= 0 && !pasteNext && b.kind === 'punct' && b.text === ','
        && isPunct(body[i + 1], '##') && paramOf(body[i + 2]) === vaIndex
      ) {
        // GNU: `, ## __VA_ARGS__` swallows the comma when there are no variadic arguments.
        if (args![vaIndex]!.length > 0) {
          emit([b]);
          emit(expandedArg(vaIndex), body[i + 2]!.spaceBefore);
        }
        i += 2;
        continue;
      }
      const p = paramOf(b);
      if (p >= 0) {
        // Operands of ## are substituted unexpanded; everything else is pre-expanded.
        const raw = pasteNext || isPunct(body[i + 1], '##');
        emit(raw ? args![p]! : expandedArg(p), b.spaceBefore);
        continue;
      }
      emit([b]);
    }
    if (this.stopped) return [];

    const out: XToken[] = [];
    let first = true;
    for (const r of res) {
      if (r.text === PLACEMARKER_TEXT) continue;
      const x = r as Partial<XToken>;
      out.push({
        kind: r.kind,
        text: r.text,
        // The expansion sits where the macro name was, so it inherits the name's spacing.
        spaceBefore: first ? nameTok.spaceBefore : r.spaceBefore,
        hs: x.hs ? x.hs.union(hs) : hs,
        depth: x.depth !== undefined && x.depth > depth ? x.depth : depth,
      });
      first = false;
    }
    this.spend(out.length);
    return out;
  }
}

/** Splits argument tokens at depth-0 commas into [start, end) ranges; `()` gives one empty argument. */
function splitArgs(flat: readonly Token[], nestBrackets: boolean): [number, number][] {
  const ranges: [number, number][] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < flat.length; i++) {
    const t = flat[i]!;
    if (t.kind !== 'punct') continue;
    const c = t.text;
    if (c === '(' || (nestBrackets && (c === '[' || c === '{'))) depth++;
    else if (c === ')' || (nestBrackets && (c === ']' || c === '}'))) depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      ranges.push([start, i]);
      start = i + 1;
    }
  }
  ranges.push([start, flat.length]);
  return ranges;
}

/** Best-effort `##`: re-lex the joined spelling; an invalid paste keeps both tokens, as GCC does. */
function paste(lhs: Token, rhs: Token): Token[] {
  if (lhs.text === PLACEMARKER_TEXT) return [respace(rhs, lhs.spaceBefore)];
  if (rhs.text === PLACEMARKER_TEXT) return [lhs];
  const text = lhs.text + rhs.text;
  const lexed = tokenizeC(text);
  if (lexed.length === 1 && lexed[0]!.text === text) {
    const kind: TokenKind = lexed[0]!.kind;
    // A fresh token: the pasted spelling was never part of any earlier expansion.
    return [{ kind, text, spaceBefore: lhs.spaceBefore }];
  }
  return [lhs, respace(rhs, false)];
}

/** A NaN limit would silently disable every comparison against it, so it means "default". */
function limit(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && !Number.isNaN(v) ? Math.max(0, Math.floor(v)) : fallback;
}

/** Fully macro-expand a piece of C text (an expression, a statement or a declaration header) against the table. */
export function expandText(text: string, table: MacroTable, opts?: ExpandOptions): ExpansionResult {
  const maxDepth = limit(opts?.maxDepth, DEFAULT_MAX_DEPTH);
  const maxTokens = limit(opts?.maxTokens, DEFAULT_MAX_TOKENS);
  const ex = new Expander(table, maxDepth, maxTokens);
  const input: XToken[] = tokenizeC(text).map((t) => ({ kind: t.kind, text: t.text, spaceBefore: t.spaceBefore, hs: ex.empty, depth: 0 }));
  const out = ex.expandList(input);
  return {
    text: tokensToText(out),
    macrosUsed: [...ex.used],
    truncated: ex.truncated,
    cyclic: [...ex.cyclic],
  };
}
