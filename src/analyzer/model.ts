// Facts the extractor records per file. They are plain JSON (sent across worker threads and
// cached by content hash), and name things only as the file sees them; the linker resolves
// names, types and scopes once every file is known.

/** 1-based line and column in a file relative to the analysed root. */
export interface Site { file: string; line: number; col: number }

/**
 * A type as the extractor saw it, reduced to the struct/typedef name that matters for keying
 * fields (pointer and array levels are dropped: `struct job **` and `job` key the same fields).
 */
export type TypeRef =
  | { t: 'name'; name: string }
  | { t: 'var'; name: string }                 // the declared type of a non-local variable
  | { t: 'field'; of: TypeRef; field: string } // the declared type of a struct field
  | { t: 'ret'; fn: string }                   // the return type of a named function
  | { t: 'unknown' };

/** An abstract memory location that can hold a function address. */
export type Loc =
  | { k: 'local'; name: string }               // parameter or local of the enclosing function
  | { k: 'global'; name: string }              // file-scope variable (static or extern), or unknown name
  | { k: 'field'; base: TypeRef; field: string }
  | { k: 'posField'; base: TypeRef; index: number } // positional initializer, mapped to a field by the linker
  | { k: 'ret'; fn: string };                  // return value of the enclosing function (fn = its name)

/** Where a function address may come from. */
export type Val =
  | { k: 'ident'; name: string; site: Site }   // a non-local identifier: a function's address or a global's value
  | { k: 'read'; loc: Loc }
  | { k: 'ret'; fn: string };                  // return value of a direct call to `fn`

export type Callee =
  | { k: 'name'; name: string }                // `f(...)`: a function, or a global/extern pointer variable
  | { k: 'ptr'; loc: Loc }                     // a call through a pointer held in `loc`
  | { k: 'ret'; fn: string }                   // `pick(op)(a, b)`: the pointer is a call's result
  | { k: 'opaque' };                           // e.g. `get_cb()(x)`: the pointer is a call result

export interface CallFact {
  site: Site;
  callee: Callee;
  /** The callee as written (after macro expansion), shown as an indirect edge's `via`. */
  text: string;
  /** Function-address values passed in each argument position. */
  args: Val[][];
  /** Argument source texts (truncated; only the first argument, string literals and flag expressions), used by profiles (a registered command's name, a non-blocking flag). */
  argTexts: string[];
  /** Set when the call exists only in the expansion of this macro written at `site`. */
  macro?: string;
  /** Set when the callee is one choice of a type-generic selection (`_Generic(x, int: f, double: g)(…)`). */
  selection?: '_Generic';
}

/** Statement skeleton used by the concurrency analysis: calls in order, with their control structure. */
export type Stmt =
  | { s: 'call'; call: number }
  | {
    s: 'if'; line: number; cond: Stmt[]; then: Stmt[]; else: Stmt[];
    /**
     * The condition only tests a local or a field path read through one (`mod->needs_lock`):
     * `then` runs exactly when its truth is `when`. `name`: the local, or the path as
     * `root.field.field` (see `FunctionFacts.guardPaths`).
     */
    guard?: { name: string; when: boolean };
  }
  | {
    s: 'loop'; line: number; col: number; kind: 'while' | 'for' | 'do'; cond: Stmt[]; condReads: Access[]; condText: string;
    /** Local variables the condition tests, and those the body (or the for-update) assigns: a retry counter or deadline. */
    condLocals: string[]; bodyLocalWrites: string[];
    body: Stmt[]; bodyWrites: Access[]; infinite: boolean;
    /** When the condition compares or tests a call's result: which way that result must move for the loop to end. */
    callSense?: 'falls' | 'rises';
  }
  | { s: 'switch'; line: number; cond: Stmt[]; cases: Stmt[][] }
  | { s: 'return'; line: number; value: Stmt[] }
  | { s: 'break'; line: number }
  | { s: 'continue'; line: number }
  | { s: 'goto'; line: number; label: string }
  | { s: 'label'; line: number; label: string };

/** A read or write of shared-looking state (a field through a pointer, or a non-local variable). */
export interface Access {
  loc: Loc;
  text: string;
  site: Site;
  /** Written relative to its own value (`x++`, `x -= n`), not assigned afresh: how counters move. */
  update?: true;
  /** For `++`/`+=` 1, for `--`/`-=` -1: which way the counter moves (absent for other updates). */
  delta?: 1 | -1;
}

export interface Flow { to: Loc; from: Val[] }

export interface FunctionFacts {
  name: string;
  isStatic: boolean;
  /** Definition site of the name (the macro invocation for macro-defined functions). */
  site: Site;
  endLine: number;
  bodyStartLine: number;
  /** Set when the function is defined through a function-defining macro. */
  definedByMacro?: string;
  params: { name: string; type: string }[];
  returnType: string;
  calls: CallFact[];
  flows: Flow[];
  writes: Access[];
  /** Non-local names whose address is passed or stored (`&RedisModule_Foo` handed to GetApi). */
  addressTaken: string[];
  body: Stmt[];
  /** The body contained syntax the grammar could not parse (usually unexpanded macros). */
  partial: boolean;
  /**
   * Locals that `if`s test (`guard`) and that keep one value through the call: declared once,
   * outside loops, with an initializer (or a parameter), never assigned again nor address-taken.
   * Branches guarded by one of them are taken together (`if (should_lock) lock(); … if (should_lock) unlock();`).
   */
  guardLocals?: string[];
  /**
   * Globals and field paths that two `if`s or more test (`if (!active->mod->needs_lock) unlock(); …
   * if (active->mod->needs_lock) unlock();`), read through a local that keeps its value or through a
   * global. Whether the path
   * keeps its value depends on what the function and its callees write: the concurrency analysis
   * decides (guards.ts).
   */
  guardPaths?: GuardPath[];
  /**
   * Constants (ALL-CAPS names) in what locals are assigned: `flags |= O_NONBLOCK;` before
   * `fcntl(fd, F_SETFL, flags)` makes the descriptor non-blocking, though the call's own text
   * names no flag.
   */
  localConstants?: Record<string, string[]>;
}

/** A global or field path `if`s test: `name` as in the `if`s' guard, `root` the local or global it starts from (`fields` empty: the global itself). */
export interface GuardPath { name: string; root: string; fields: string[] }

export interface PrototypeFacts { name: string; isStatic: boolean; site: Site; returnType: string; params: { name: string; type: string }[] }

export interface GlobalFacts { name: string; isStatic: boolean; isExtern: boolean; type: string; isFunctionPointer: boolean; site: Site }

export interface StructFacts { key: string; kind: 'struct' | 'union'; fields: { name: string; type: string; isFunctionPointer: boolean }[]; site: Site }

export interface TypedefFacts { name: string; target: string; isFunctionPointer: boolean; site: Site }

export interface MacroFacts { name: string; params: string[] | null; body: string; site: Site }

export interface FileFacts {
  file: string;
  functions: FunctionFacts[];
  prototypes: PrototypeFacts[];
  globals: GlobalFacts[];
  /** Flows from file-scope initializers (tables of callbacks, option arrays). */
  globalFlows: Flow[];
  structs: StructFacts[];
  typedefs: TypedefFacts[];
  macros: MacroFacts[];
  /** Count of ERROR/MISSING nodes: the file parsed only partly. */
  errorNodes: number;
  /** Diagnostics about things the extractor could not make sense of. */
  notes: { site: Site; message: string }[];
  /**
   * What this file includes with quotes (`#include "dict.h"`, `#include "dict.c"`, as written):
   * the linker reads which struct definitions the file sees, and a source included whole lends
   * its `static` functions and variables (hiredis' `async.c` builds its dict that way).
   */
  quotedIncludes?: string[];
}
