import type { FileFacts, FunctionFacts, GlobalFacts, PrototypeFacts, StructFacts, TypeRef } from '../model';
import { IncludeResolver } from '../includeResolver';

export interface FunctionDef { facts: FunctionFacts; file: string }

/**
 * Whole-tree symbol tables: where each name is defined, with C's file scoping for `static`
 * functions and variables, and typedef chains resolved to the struct keys that key fields.
 */
export class SymbolTable {
  readonly definitions = new Map<string, FunctionDef[]>();
  readonly prototypes = new Map<string, PrototypeFacts[]>();
  readonly globals = new Map<string, { facts: GlobalFacts; file: string }[]>();
  private readonly typedefs = new Map<string, string>();
  readonly structs = new Map<string, StructFacts>();
  /** Struct keys defined differently in several files (each Lemon grammar's `yyParser`): by file. */
  private readonly structsByFile = new Map<string, Map<string, StructFacts>>();
  readonly macroNames = new Set<string>();
  private readonly typedefIsFunctionPointer = new Set<string>();
  private readonly canonicalCache = new Map<string, string>();
  /** Per name: the non-static definitions, and the static ones by file (the linker asks ~100k times). */
  private readonly visibleDefs = new Map<string, { shared: readonly FunctionDef[]; byFile: Map<string, readonly FunctionDef[]> | null; clashing: ClashingDefinitions | null }>();
  /** Files that define `main`: each is the root of a program of its own. */
  readonly programRoots = new Set<string>();
  private readonly visibleGlobals = new Map<string, { shared: { facts: GlobalFacts; file: string } | undefined; byFile: Map<string, { facts: GlobalFacts; file: string }> | null }>();

  /** Per file, the sources it includes whole, transitively (their statics are its own too). */
  private readonly includedSources = new Map<string, readonly string[]>();
  /** Per file, every file of the tree it includes with quotes, directly. */
  private readonly quotedIncludes = new Map<string, readonly string[]>();
  /**
   * Struct tags defined differently in several files (hiredis' `dictType` beside Redis' own): each
   * further definition has a key of its own (`dictType~2`), so their fields are not one location.
   */
  private readonly variantKeys = new Map<string, Map<StructFacts, string>>();
  private visibleCache = new Map<string, Set<string>>();

  constructor(files: readonly FileFacts[]) {
    this.resolveIncludes(files);
    for (const f of files) {
      for (const fn of f.functions) {
        push(this.definitions, fn.name, { facts: fn, file: f.file });
        if (fn.name === 'main' && !fn.isStatic) this.programRoots.add(f.file);
      }
      for (const p of f.prototypes) push(this.prototypes, p.name, p);
      for (const g of f.globals) push(this.globals, g.name, { facts: g, file: f.file });
      for (const t of f.typedefs) {
        if (!this.typedefs.has(t.name) && t.target !== t.name) this.typedefs.set(t.name, t.target);
        if (t.isFunctionPointer) this.typedefIsFunctionPointer.add(t.name);
      }
      for (const s of f.structs) {
        const existing = this.structs.get(s.key);
        // Keep the definition with the most fields (forward declarations and #ifdef variants).
        if (!existing || existing.fields.length < s.fields.length) this.structs.set(s.key, s);
        if (existing && s.fields.length) {
          let byFile = this.structsByFile.get(s.key);
          if (!byFile) {
            this.structsByFile.set(s.key, (byFile = new Map()));
            if (existing.fields.length) byFile.set(existing.site.file, existing);
          }
          if (!byFile.has(f.file)) byFile.set(f.file, s);
        }
      }
      for (const m of f.macros) this.macroNames.add(m.name);
    }
    this.keyVariants();
    for (const [name, defs] of this.definitions) {
      let byFile: Map<string, readonly FunctionDef[]> | null = null;
      for (const d of defs) {
        // The first static definition in a file wins, as `functionsNamed` always returned.
        if (d.facts.isStatic && !byFile?.has(d.file)) (byFile ??= new Map()).set(d.file, [d]);
      }
      const shared = defs.filter((d) => !d.facts.isStatic);
      this.visibleDefs.set(name, { shared, byFile, clashing: shared.length > 1 && name !== 'main' ? new ClashingDefinitions(shared, this.programRoots) : null });
    }
    for (const [name, gs] of this.globals) {
      let byFile: Map<string, { facts: GlobalFacts; file: string }> | null = null;
      for (const g of gs) if (g.facts.isStatic && !byFile?.has(g.file)) (byFile ??= new Map()).set(g.file, g);
      this.visibleGlobals.set(name, { shared: gs.find((g) => !g.facts.isStatic), byFile });
    }
  }

  /**
   * The definition of struct `key` that code in `file` sees: a variant key (`dictType~2`, see
   * `keyVariants`) names its definition; otherwise the file's own when several files define the
   * key (a struct private to a `.c` file, like Redis' `dictEntry` beside hiredis' one), else the
   * one with the most fields.
   */
  structFor(key: string, file: string): StructFacts | undefined {
    if (key.includes('~')) return this.structs.get(key);
    return this.structsByFile.get(key)?.get(file) ?? this.structs.get(key);
  }

  /** Gives each differing definition of a tag beyond the first (the one with most fields) a key of its own. */
  private keyVariants(): void {
    for (const [tag, byFile] of this.structsByFile) {
      const primary = this.structs.get(tag)!;
      const signature = (d: StructFacts) => d.fields.map((f) => `${f.name}:${f.type}`).join(',');
      const bySignature = new Map<string, string>([[signature(primary), tag]]);
      const keys = new Map<StructFacts, string>();
      for (const d of byFile.values()) {
        const sig = signature(d);
        let key = bySignature.get(sig);
        if (!key) {
          key = `${tag}~${bySignature.size + 1}`;
          bySignature.set(sig, key);
          this.structs.set(key, d);
        }
        keys.set(d, key);
      }
      if (bySignature.size > 1) this.variantKeys.set(tag, keys);
    }
  }

  /** The key of `tag` as `file` sees it: its own definition, else the one its included headers bring, else the one with most fields. */
  private variantFor(tag: string, file: string): string {
    const keys = this.variantKeys.get(tag);
    if (!keys) return tag;
    const own = this.structsByFile.get(tag)?.get(file);
    if (own) return keys.get(own) ?? tag;
    const visible = this.visibleFrom(file);
    let found: string | undefined;
    for (const [def, key] of keys) {
      if (!visible.has(def.site.file)) continue;
      if (found !== undefined && found !== key) return tag;
      found = key;
    }
    return found ?? tag;
  }

  /** Files `file` includes with quotes, transitively. */
  private visibleFrom(file: string): Set<string> {
    let seen = this.visibleCache.get(file);
    if (seen) return seen;
    seen = new Set<string>();
    const stack = [...(this.quotedIncludes.get(file) ?? NO_FILES)];
    while (stack.length) {
      const g = stack.pop()!;
      if (seen.has(g) || g === file) continue;
      seen.add(g);
      stack.push(...(this.quotedIncludes.get(g) ?? NO_FILES));
    }
    this.visibleCache.set(file, seen);
    return seen;
  }

  /** Follows typedefs: `job_t` → `job` (when `typedef struct job job_t`). */
  canonicalType(name: string): string {
    const cached = this.canonicalCache.get(name);
    if (cached !== undefined) return cached;
    let cur = name;
    const seen = new Set<string>();
    while (!this.structs.has(cur) && this.typedefs.has(cur) && !seen.has(cur)) {
      seen.add(cur);
      cur = this.typedefs.get(cur)!;
    }
    this.canonicalCache.set(name, cur);
    return cur;
  }

  private readonly holdsFunctionCache = new Map<string, boolean>();

  /**
   * Whether a variable of this (pointer levels dropped) type can hold a function address. Numbers,
   * characters and structs cannot; `void` (as in `void *` or `void (*)(…)`), function-pointer
   * typedefs and types lockpath does not know can. Used to keep argument flows that matter.
   */
  mayHoldFunction(type: string): boolean {
    let known = this.holdsFunctionCache.get(type);
    if (known === undefined) {
      const base = type.replace(/\b(unsigned|signed|const|volatile|long|short)\b/g, ' ').trim();
      const canonical = this.canonicalType(type);
      known = !(NON_FUNCTION_TYPES.has(base) || (base === '' && type !== '') || this.structs.has(canonical) && !this.typedefIsFunctionPointer.has(type));
      if (this.typedefIsFunctionPointer.has(type)) known = true;
      this.holdsFunctionCache.set(type, known);
    }
    return known;
  }

  /**
   * Definitions visible from `file` under `name`: its own static one, else the non-static ones —
   * narrowed, when several files define the name, to those the file can be linked with (see
   * `ClashingDefinitions`).
   */
  functionsNamed(name: string, file: string): readonly FunctionDef[] {
    const v = this.visibleDefs.get(name);
    if (!v) return NONE;
    return v.byFile?.get(file) ?? (v.byFile && this.includedStatic(v.byFile, file)) ?? v.clashing?.visibleFrom(file) ?? v.shared;
  }

  /** A file's view of another's statics, through `#include "that.c"`. */
  private includedStatic<T>(byFile: ReadonlyMap<string, T>, file: string): T | undefined {
    for (const inc of this.includedSources.get(file) ?? NO_FILES) {
      const found = byFile.get(inc);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Resolves the quoted includes the facts record (extract/includes.ts: next to the file, else by path suffix). */
  private resolveIncludes(files: readonly FileFacts[]): void {
    const resolver = new IncludeResolver(files.map((f) => f.file));
    for (const f of files) {
      if (!f.quotedIncludes?.length) continue;
      const resolved = f.quotedIncludes.flatMap((inc) => resolver.resolve(f.file, inc));
      if (resolved.length) this.quotedIncludes.set(f.file, resolved);
    }
    // Sources included whole, through other such sources only (few files have any).
    for (const [file, direct] of this.quotedIncludes) {
      if (!direct.some((g) => g.endsWith('.c'))) continue;
      const seen = new Set<string>();
      const stack = direct.filter((g) => g.endsWith('.c'));
      while (stack.length) {
        const g = stack.pop()!;
        if (seen.has(g) || g === file) continue;
        seen.add(g);
        for (const next of this.quotedIncludes.get(g) ?? NO_FILES) if (next.endsWith('.c')) stack.push(next);
      }
      this.includedSources.set(file, [...seen]);
    }
  }

  /**
   * Whether `name` names a type and nothing callable: tree-sitter reads the cast `(xxh_u64)(x)`
   * as a call of `xxh_u64`, since it cannot know the name is a type.
   */
  isTypeOnlyName(name: string, file: string): boolean {
    return this.typedefs.has(name) && !this.functionsNamed(name, file).length && !this.prototypes.has(name) && !this.globalNamed(name, file);
  }

  isFunctionName(name: string, file: string): boolean {
    return this.functionsNamed(name, file).length > 0 || this.prototypes.has(name) && !this.globalNamed(name, file);
  }

  globalNamed(name: string, file: string): { facts: GlobalFacts; file: string } | undefined {
    const v = this.visibleGlobals.get(name);
    if (!v) return undefined;
    return v.byFile?.get(file) ?? (v.byFile && this.includedStatic(v.byFile, file)) ?? v.shared;
  }

  /** The key of a global's storage: static ones are per file. */
  globalKey(name: string, file: string): string {
    const g = this.globalNamed(name, file);
    return g && g.facts.isStatic ? `G:${g.file}:${name}` : `G:${name}`;
  }

  /** Resolves a TypeRef to a known struct key, or null when the type is not known. */
  structKeyOf(t: TypeRef, file: string, depth = 0): string | null {
    if (depth > 16) return null;
    switch (t.t) {
      case 'name': {
        const c = this.canonicalType(t.name);
        return this.structs.has(c) ? this.variantFor(c, file) : null;
      }
      case 'var': {
        const g = this.globalNamed(t.name, file);
        return g ? this.structKeyOf({ t: 'name', name: g.facts.type }, file, depth + 1) : null;
      }
      case 'field': {
        const of = this.structKeyOf(t.of, file, depth + 1);
        if (!of) return null;
        const f = this.structFor(of, file)!.fields.find((x) => x.name === t.field);
        return f ? this.structKeyOf({ t: 'name', name: f.type }, file, depth + 1) : null;
      }
      case 'ret': {
        const defs = this.functionsNamed(t.fn, file);
        const type = defs[0]?.facts.returnType ?? this.prototypes.get(t.fn)?.[0]?.returnType;
        return type ? this.structKeyOf({ t: 'name', name: type }, file, depth + 1) : null;
      }
      default:
        return null;
    }
  }
}

const NONE: readonly FunctionDef[] = [];
const NO_FILES: readonly string[] = [];


/**
 * One name defined (non-static) in several files. No program links two of them, so they belong
 * to different programs of the tree (a test program's stub of `STATS_LOCK` beside the server's
 * real one), or are alternatives of which a build compiles one (per-platform files, `#ifdef`
 * branches). Without build files lockpath narrows by what linking implies:
 * - code in a file that defines the name itself calls its own definition (any other one would
 *   clash with it in every program that contains the file);
 * - a definition in a file that defines `main` belongs to that program alone: other files see it
 *   only when no definition outside such files exists (memcached's `testapp.c` stubs out
 *   `STATS_LOCK`/`STATS_UNLOCK` with empty functions; seen from the server's code, the stub made
 *   every unlock "may not release", and each such lock part of false lock-order cycles).
 * Otherwise every definition stays a target, as before.
 */
class ClashingDefinitions {
  private readonly byFile = new Map<string, FunctionDef[]>();
  private readonly outsideProgramRoots: readonly FunctionDef[] | null;

  constructor(defs: readonly FunctionDef[], programRoots: ReadonlySet<string>) {
    for (const d of defs) push(this.byFile, d.file, d);
    const outside = defs.filter((d) => !programRoots.has(d.file));
    this.outsideProgramRoots = outside.length && outside.length < defs.length ? outside : null;
  }

  visibleFrom(file: string): readonly FunctionDef[] | null {
    return this.byFile.get(file) ?? this.outsideProgramRoots;
  }
}

const NON_FUNCTION_TYPES = new Set([
  'char', 'int', 'float', 'double', 'bool', '_Bool', 'size_t', 'ssize_t', 'off_t', 'pid_t', 'time_t',
  'int8_t', 'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t', 'ptrdiff_t', 'wchar_t',
]);

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
