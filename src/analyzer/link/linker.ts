import type { CallFact, FileFacts, FunctionFacts, Loc, Site, Val } from '../model';
import type { Edge, EdgeKind, EntryPoint, FunctionNode, UnresolvedCall } from '../graph';
import { EDGE_KINDS, SYNC_EDGE_KINDS } from '../graph';
import type { Profile } from '../profile/profile';
import { PointsToSolver } from './pointsTo';
import { SymbolTable } from './symbols';
import { positionOnlyChange } from '../incremental/shift';
import type { PositionMap } from '../incremental/shift';

/** A function address taken at one site (inside a function, or in a file-scope initializer). */
interface Origin { target: number; site: Site; inFn: number }

interface FnRecord { node: FunctionNode; facts?: FunctionFacts; file?: string }

/**
 * The linked program: every function (defined or external), every edge, and per call site the
 * edges it produced, so the concurrency analysis can walk bodies in statement order.
 */
export interface LinkedProgram {
  functions: FunctionNode[];
  facts: (FunctionFacts | undefined)[];
  edges: Edge[];
  /** fn index → call index → edge indices produced by that call. */
  callEdges: number[][][];
  out: number[][];
  in: number[][];
  /** Function index of each edge's caller and callee (the same as idToIndex of from/to, precomputed). */
  edgeFrom: Int32Array;
  edgeTo: Int32Array;
  idToIndex: Map<string, number>;
  unresolved: UnresolvedCall[];
  externalApiCalls: number;
  indirectSites: { total: number; resolved: number; unresolved: number };
  symbols: SymbolTable;
  macroNames: Set<string>;
  /** The storage key of a location as seen from function `fnIdx` (null when it has none). */
  locationKey(loc: Loc, fnIdx: number): string | null;
  /** The keys a read of `loc` in `fnIdx` may observe (a typed field also sees untyped writes). */
  readKeys(loc: Loc, fnIdx: number): string[];
}

export function link(files: readonly FileFacts[], profile: Profile): LinkedProgram {
  const linker = new Linker(files, profile);
  const program = linker.run();
  linkers.set(program, linker);
  return program;
}

/**
 * What `link` computed beyond the facts, as plain data: with the same facts and profile,
 * `restoreProgram` rebuilds the same program without solving points-to again (a warm start).
 */
export interface SavedLink {
  functions: FunctionNode[];
  edges: Edge[];
  callEdges: number[][][];
  unresolved: UnresolvedCall[];
  externalApiCalls: number;
  indirectSites: { total: number; resolved: number; unresolved: number };
  /** Field storage keys noted so far, by field name (reads through unknown types expand to them). */
  fieldKeys: [string, string[]][];
}

const linkers = new WeakMap<LinkedProgram, Linker>();

/** The profile a program was linked with. */
export function linkProfile(program: LinkedProgram): Profile | undefined {
  return linkers.get(program)?.profile;
}

const EDGE_KIND_CODE = Object.fromEntries(EDGE_KINDS.map((k, i) => [k, i])) as Record<EdgeKind, number>;

/**
 * What linking reads from a file besides calls that pass no function address to a named callee
 * (those only add edges, never points-to constraints): everything else must be unchanged, up to
 * positions, for `relink` to reuse the solved points-to state.
 */
function linkInputs(f: FileFacts): unknown {
  return {
    ...f,
    notes: [],
    errorNodes: 0,
    functions: f.functions.map((fn) => ({
      name: fn.name, isStatic: fn.isStatic, site: fn.site, definedByMacro: fn.definedByMacro ?? null, params: fn.params, returnType: fn.returnType,
      flows: fn.flows, addressTaken: fn.addressTaken,
      calls: fn.calls.filter((c) => !(c.callee.k === 'name' && c.args.every((a) => a.length === 0))),
    })),
  };
}

/**
 * `link(files, profile)` after one file's facts changed from `oldFacts` to `newFacts`, reusing
 * `previous`'s solved points-to state when the file's link inputs are unchanged up to positions
 * (a call added, removed or moved, control flow changed). Returns null when that does not hold
 * or `previous` has no solved state (restored from a snapshot): the caller links from scratch.
 */
export function relink(previous: LinkedProgram, files: readonly FileFacts[], profile: Profile, oldFacts: FileFacts, newFacts: FileFacts): LinkedProgram | null {
  const prev = linkers.get(previous);
  if (!prev || prev.profile !== profile || oldFacts.file !== newFacts.file) return null;
  const map = positionOnlyChange(linkInputs(oldFacts) as FileFacts, linkInputs(newFacts) as FileFacts);
  if (!map) return null;
  const linker = new Linker(files, profile);
  const program = linker.relinkFrom(prev, newFacts.file, map);
  if (program) linkers.set(program, linker);
  return program;
}

/** The saved form of a program made by `link` (or restored); null for anything else. */
export function saveLink(program: LinkedProgram): SavedLink | null {
  const linker = linkers.get(program);
  return linker ? linker.saved(program) : null;
}

/** The program `link(files, profile)` gave when `saved` was taken; null when `saved` does not fit these facts. */
export function restoreProgram(files: readonly FileFacts[], profile: Profile, saved: SavedLink): LinkedProgram | null {
  const linker = new Linker(files, profile);
  const program = linker.restore(saved);
  if (program) linkers.set(program, linker);
  return program;
}

class Linker {
  private readonly symbols: SymbolTable;
  private readonly fns: FnRecord[] = [];
  private readonly idToIndex = new Map<string, number>();
  private readonly defIndex = new Map<FunctionFacts, number>();
  private readonly externals = new Map<string, number>();
  private solver = new PointsToSolver();
  private origins: Origin[] = [];
  private readonly originKeys = new Map<string, number>();
  private readonly fieldKeysByName = new Map<string, Set<string>>();
  private globalsWithFlows = new Set<string>();
  private addressTaken = new Set<string>();
  /**
   * The state right after points-to solving, which depends only on the facts' link inputs
   * (`linkInputs`): a relink after an edit that leaves them unchanged starts from here.
   */
  private solved: { fns: number; origins: number; fieldKeys: [string, string[]][] } | null = null;
  private readonly edges: Edge[] = [];
  private readonly edgeKeys = new Map<string, number>();
  private readonly edgeKeysByCaller: (Map<number, number> | undefined)[] = [];
  private readonly edgeOrigins = new Map<number, Set<number>>();
  private callEdges: number[][][] = [];
  private readonly unresolved: UnresolvedCall[] = [];
  private externalApiCalls = 0;
  private readonly registrations: Map<string, Profile['registrations'][number]>;
  private readonly threadCreators: Map<string, number>;
  private readonly registrarArgs = new Map<string, number[]>();

  constructor(private readonly files: readonly FileFacts[], readonly profile: Profile) {
    this.symbols = new SymbolTable(files);
    this.registrations = new Map(profile.registrations.map((r) => [r.api, r]));
    this.threadCreators = new Map(profile.threadCreators.map((t) => [t.api, t.startArg]));
    for (const d of profile.dispatchers) for (const r of d.registrars) {
      const list = this.registrarArgs.get(r.api) ?? [];
      list.push(r.arg);
      this.registrarArgs.set(r.api, list);
    }
  }

  run(): LinkedProgram {
    this.indexFunctions();
    this.generateConstraints();
    this.solver.solve();
    this.solved = { fns: this.fns.length, origins: this.origins.length, fieldKeys: [...this.fieldKeysByName].map(([f, keys]) => [f, [...keys]]) };
    const indirectSites = this.buildCallEdges();
    this.markEntriesAndThreads();
    this.inferHandoffs();
    return this.program(indirectSites);
  }

  /**
   * Links `this.files` starting from `prev`'s solved points-to state, which is valid because the
   * edited file's link inputs are unchanged up to the positions in `map`. Returns null (the
   * caller links from scratch) when the states cannot be lined up.
   */
  relinkFrom(prev: Linker, file: string, map: PositionMap): LinkedProgram | null {
    const solved = prev.solved;
    if (!solved) return null;
    this.indexFunctions();
    const defined = this.fns.length;
    for (let i = 0; i < defined; i++) if (prev.fns[i]?.node.id !== this.fns[i].node.id || !prev.fns[i].node.defined) return null;
    // Externals met while generating constraints, in the same order (the same indices).
    for (let i = defined; i < solved.fns; i++) {
      const node = prev.fns[i].node;
      if (node.defined || this.fns[this.external(node.name)].node.id !== node.id || this.fns.length !== i + 1) return null;
    }
    const origins: Origin[] = [];
    for (const o of prev.origins.slice(0, solved.origins)) {
      if (o.site.file !== file) { origins.push(o); continue; }
      const p = map.point(o.site.line, o.site.col);
      if (!p) return null;
      origins.push({ ...o, site: { file, line: p.line, col: p.col } });
    }
    this.origins = origins;
    origins.forEach((o, id) => this.originKeys.set(`${o.target}|${o.site.file}:${o.site.line}:${o.site.col}|${o.inFn}`, id));
    for (const [field, keys] of solved.fieldKeys) this.fieldKeysByName.set(field, new Set(keys));
    // Nothing after solving adds constraints (resolution only looks points-to sets up), so the
    // solver is shared as is.
    this.solver = prev.solver;
    this.globalsWithFlows = prev.globalsWithFlows;
    this.addressTaken = prev.addressTaken;
    this.solved = { ...solved, fieldKeys: solved.fieldKeys };
    const indirectSites = this.buildCallEdges();
    this.markEntriesAndThreads();
    this.inferHandoffs();
    return this.program(indirectSites);
  }

  restore(saved: SavedLink): LinkedProgram | null {
    this.indexFunctions();
    // Defined functions come first, in facts order; externals follow in the order linking met them.
    const defined = this.fns.length;
    if (saved.functions.length < defined || saved.callEdges.length > saved.functions.length) return null;
    for (let i = 0; i < defined; i++) {
      const node = saved.functions[i];
      if (node.id !== this.fns[i].node.id || !node.defined || node.line !== this.fns[i].node.line) return null;
      this.fns[i].node = node;
    }
    for (let i = defined; i < saved.functions.length; i++) {
      const node = saved.functions[i];
      if (node.defined || this.idToIndex.has(node.id)) return null;
      this.fns.push({ node });
      this.externals.set(node.name, i);
      this.idToIndex.set(node.id, i);
    }
    for (const e of saved.edges) if (!this.idToIndex.has(e.from) || !this.idToIndex.has(e.to)) return null;
    for (const [field, keys] of saved.fieldKeys) this.fieldKeysByName.set(field, new Set(keys));
    this.edges.push(...saved.edges);
    this.callEdges = saved.callEdges;
    this.unresolved.push(...saved.unresolved);
    this.externalApiCalls = saved.externalApiCalls;
    return this.program(saved.indirectSites);
  }

  saved(program: LinkedProgram): SavedLink {
    return {
      functions: program.functions,
      edges: program.edges,
      callEdges: program.callEdges,
      unresolved: program.unresolved,
      externalApiCalls: program.externalApiCalls,
      indirectSites: program.indirectSites,
      fieldKeys: [...this.fieldKeysByName].map(([f, keys]) => [f, [...keys]]),
    };
  }

  private program(indirectSites: { total: number; resolved: number; unresolved: number }): LinkedProgram {
    const { out, inn, edgeFrom, edgeTo } = this.adjacency();
    return {
      edgeFrom,
      edgeTo,
      functions: this.fns.map((f) => f.node),
      facts: this.fns.map((f) => f.facts),
      edges: this.edges,
      callEdges: this.callEdges,
      out,
      in: inn,
      idToIndex: this.idToIndex,
      unresolved: this.unresolved,
      externalApiCalls: this.externalApiCalls,
      indirectSites,
      symbols: this.symbols,
      macroNames: this.symbols.macroNames,
      locationKey: (loc, fnIdx) => this.locKey(loc, fnIdx, this.fns[fnIdx].file ?? ''),
      readKeys: (loc, fnIdx) => this.readKeys(loc, fnIdx, this.fns[fnIdx].file ?? ''),
    };
  }

  // ---------------------------------------------------------------- functions

  private indexFunctions(): void {
    for (const f of this.files) {
      for (const fn of f.functions) {
        const sameName = this.symbols.definitions.get(fn.name) ?? [];
        const nonStatic = sameName.filter((d) => !d.facts.isStatic).length;
        let id = fn.isStatic || nonStatic > 1 ? `${fn.name}@${f.file}` : fn.name;
        // Two definitions in one file (an #if/#else pair) stay distinct nodes.
        if (this.idToIndex.has(id)) id = `${id}:${fn.site.line}`;
        const node: FunctionNode = {
          id, name: fn.name, file: f.file, line: fn.site.line, col: fn.site.col, endLine: fn.endLine,
          static: fn.isStatic, defined: true,
        };
        if (fn.definedByMacro) node.definedByMacro = fn.definedByMacro;
        if (fn.partial) node.partial = true;
        this.defIndex.set(fn, this.fns.length);
        this.idToIndex.set(id, this.fns.length);
        this.fns.push({ node, facts: fn, file: f.file });
      }
    }
  }

  private external(name: string): number {
    let idx = this.externals.get(name);
    if (idx === undefined) {
      const id = this.idToIndex.has(name) ? `${name}@external` : name;
      idx = this.fns.length;
      this.fns.push({ node: { id, name, static: false, defined: false } });
      this.externals.set(name, idx);
      this.idToIndex.set(id, idx);
    }
    return idx;
  }

  /** Function indices a name denotes from `file`; externals for declared or unknown names. */
  private resolveFunctionName(name: string, file: string): number[] {
    const defs = this.symbols.functionsNamed(name, file);
    if (defs.length) return defs.map((d) => this.defIndex.get(d.facts)!);
    return [this.external(name)];
  }

  // ---------------------------------------------------------------- constraints

  private origin(target: number, site: Site, inFn: number): number {
    const key = `${target}|${site.file}:${site.line}:${site.col}|${inFn}`;
    let id = this.originKeys.get(key);
    if (id === undefined) {
      id = this.origins.length;
      this.origins.push({ target, site, inFn });
      this.originKeys.set(key, id);
    }
    return id;
  }

  private locKey(loc: Loc, fnIdx: number, file: string): string | null {
    switch (loc.k) {
      case 'local':
        return `L${fnIdx}:${loc.name}`;
      case 'global':
        if (!loc.name) return null;
        return loc.name.includes('::') ? `G:${file}:${loc.name}` : this.symbols.globalKey(loc.name, file);
      case 'field': {
        const key = `F:${this.symbols.structKeyOf(loc.base, file) ?? '?'}.${loc.field}`;
        this.noteFieldKey(loc.field, key);
        return key;
      }
      case 'posField': {
        const sk = this.symbols.structKeyOf(loc.base, file);
        const f = sk ? this.symbols.structFor(sk, file)!.fields[loc.index] : undefined;
        if (!f) return null;
        const key = `F:${sk}.${f.name}`;
        this.noteFieldKey(f.name, key);
        return key;
      }
      case 'ret': {
        if (fnIdx >= 0 && this.fns[fnIdx].facts?.name === loc.fn) return `R${fnIdx}`;
        const defs = this.symbols.functionsNamed(loc.fn, file);
        return defs.length ? `R${this.defIndex.get(defs[0].facts)}` : null;
      }
    }
  }

  /**
   * Whether a location can hold a function address: not a field declared with a struct, character
   * or integer type (`Proto **p`, `int count`). Reads through an unknown type see every field of
   * their name; without this, a `void *` that met a function anywhere spread through every
   * struct's field of that name (Lua's `Proto.p` receiving Redis' module API table via jemalloc's
   * trace record `ut.p`).
   */
  private mayHoldFunction(loc: Loc, file: string): boolean {
    if (loc.k !== 'field' && loc.k !== 'posField') return true;
    const sk = this.symbols.structKeyOf(loc.base, file);
    if (!sk) return true;
    const fields = this.symbols.structFor(sk, file)!.fields;
    const f = loc.k === 'field' ? fields.find((x) => x.name === loc.field) : fields[loc.index];
    return !f || f.isFunctionPointer || this.symbols.mayHoldFunction(f.type);
  }

  private noteFieldKey(field: string, key: string): void {
    let set = this.fieldKeysByName.get(field);
    if (!set) this.fieldKeysByName.set(field, (set = new Set()));
    set.add(key);
  }

  /**
   * Keys a read of `loc` sees. A field of a known struct also sees writes made where the struct
   * type was unknown; a field read through an unknown type sees every struct's field of that name.
   */
  private readKeys(loc: Loc, fnIdx: number, file: string): string[] {
    const key = this.locKey(loc, fnIdx, file);
    if (!key) return [];
    if (!key.startsWith('F:')) return [key];
    const fieldName = key.slice(key.lastIndexOf('.') + 1);
    if (key.startsWith('F:?.')) return [...(this.fieldKeysByName.get(fieldName) ?? [key])];
    return [key, `F:?.${fieldName}`];
  }

  /** Adds `dst ⊇ vals` to the solver. */
  private flowInto(dst: number, vals: readonly Val[], fnIdx: number, file: string): void {
    for (const v of vals) {
      switch (v.k) {
        case 'ident': {
          const fnTargets = this.symbols.functionsNamed(v.name, file);
          if (fnTargets.length) {
            for (const d of fnTargets) this.solver.addOrigin(dst, this.origin(this.defIndex.get(d.facts)!, v.site, fnIdx));
          } else if (this.symbols.globalNamed(v.name, file)) {
            this.solver.addEdge(this.solver.node(this.symbols.globalKey(v.name, file)), dst);
          } else if (this.symbols.prototypes.has(v.name)) {
            this.solver.addOrigin(dst, this.origin(this.external(v.name), v.site, fnIdx));
          }
          break;
        }
        case 'read':
          for (const k of this.readKeys(v.loc, fnIdx, file)) this.solver.addEdge(this.solver.node(k), dst);
          break;
        case 'ret': {
          const defs = this.symbols.functionsNamed(v.fn, file);
          for (const d of defs) this.solver.addEdge(this.solver.node(`R${this.defIndex.get(d.facts)}`), dst);
          break;
        }
      }
    }
  }

  private generateConstraints(): void {
    // Field keys must all exist before reads through unknown types expand to them.
    const pending: (() => void)[] = [];
    for (const f of this.files) {
      for (const flow of f.globalFlows) {
        const key = this.locKey(flow.to, -1, f.file);
        if (!key || !this.mayHoldFunction(flow.to, f.file)) continue;
        if (key.startsWith('G:')) this.globalsWithFlows.add(key);
        pending.push(() => this.flowInto(this.solver.node(key), flow.from, -1, f.file));
      }
      for (const fn of f.functions) {
        const fnIdx = this.defIndex.get(fn)!;
        for (const name of fn.addressTaken) this.addressTaken.add(name);
        for (const flow of fn.flows) {
          const key = this.locKey(flow.to, fnIdx, f.file);
          if (!key || !this.mayHoldFunction(flow.to, f.file)) continue;
          if (key.startsWith('G:')) this.globalsWithFlows.add(key);
          pending.push(() => this.flowInto(this.solver.node(key), flow.from, fnIdx, f.file));
        }
        for (const call of fn.calls) if (call.callee.k === 'ptr') this.locKey(call.callee.loc, fnIdx, f.file);
      }
    }
    for (const p of pending) p();
    // Arguments into parameters: directly for named callees, on demand for pointer callees.
    for (const f of this.files) {
      for (const fn of f.functions) {
        const fnIdx = this.defIndex.get(fn)!;
        for (const call of fn.calls) {
          if (call.callee.k === 'name') {
            const defs = this.symbols.functionsNamed(call.callee.name, f.file);
            if (defs.length) {
              for (const d of defs) this.connectArguments(call, fnIdx, f.file, this.defIndex.get(d.facts)!);
              continue;
            }
            if (!this.symbols.globalNamed(call.callee.name, f.file)) continue;
          }
          const keys = this.calleeKeys(call, fnIdx, f.file);
          const seen = new Set<number>();
          for (const k of keys) {
            this.solver.watch(this.solver.node(k), (o) => {
              const target = this.origins[o].target;
              if (seen.has(target)) return;
              seen.add(target);
              this.connectArguments(call, fnIdx, f.file, target);
            });
          }
        }
      }
    }
  }

  private calleeKeys(call: CallFact, fnIdx: number, file: string): string[] {
    if (call.callee.k === 'ptr') return this.readKeys(call.callee.loc, fnIdx, file);
    if (call.callee.k === 'name') return [this.symbols.globalKey(call.callee.name, file)];
    if (call.callee.k === 'ret') return this.symbols.functionsNamed(call.callee.fn, file).map((d) => `R${this.defIndex.get(d.facts)}`);
    return [];
  }

  private connectArguments(call: CallFact, fnIdx: number, file: string, target: number): void {
    const facts = this.fns[target].facts;
    if (!facts) return;
    const n = Math.min(call.args.length, facts.params.length);
    for (let i = 0; i < n; i++) {
      const p = facts.params[i];
      if (!p.name || !call.args[i].length || !this.symbols.mayHoldFunction(p.type)) continue;
      this.flowInto(this.solver.node(`L${target}:${p.name}`), call.args[i], fnIdx, file);
    }
  }

  /** Function indices (with origins) a list of values may denote, after solving. */
  private resolveVals(vals: readonly Val[], fnIdx: number, file: string): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const add = (target: number, origin: number) => {
      const list = out.get(target);
      if (list) list.push(origin);
      else out.set(target, [origin]);
    };
    for (const v of vals) {
      if (v.k === 'ident') {
        const defs = this.symbols.functionsNamed(v.name, file);
        if (defs.length) for (const d of defs) { const t = this.defIndex.get(d.facts)!; add(t, this.origin(t, v.site, fnIdx)); }
        else if (this.symbols.globalNamed(v.name, file)) this.addPointsTo(this.symbols.globalKey(v.name, file), add);
        else if (this.symbols.prototypes.has(v.name)) { const t = this.external(v.name); add(t, this.origin(t, v.site, fnIdx)); }
      } else if (v.k === 'read') {
        for (const k of this.readKeys(v.loc, fnIdx, file)) this.addPointsTo(k, add);
      } else {
        for (const d of this.symbols.functionsNamed(v.fn, file)) this.addPointsTo(`R${this.defIndex.get(d.facts)}`, add);
      }
    }
    return out;
  }

  private addPointsTo(key: string, add: (target: number, origin: number) => void): void {
    const node = this.solver.lookup(key);
    if (node === undefined) return;
    for (const o of this.solver.pointsTo(node)) add(this.origins[o].target, o);
  }

  // ---------------------------------------------------------------- edges

  private addEdge(from: number, to: number, edge: Omit<Edge, 'from' | 'to'>, origins?: number[]): number {
    // Edges are unique by (caller, callee, kind, site). When the site is in the caller's file
    // (nearly always) the key is a number in a per-caller map: building and hashing a string key
    // per call was a good part of linking.
    const site = edge.site;
    const numeric = site.file === this.fns[from].node.file && to < 65536 && site.line < 2097152 && site.col < 8192;
    const key = numeric ? ((to * 8 + EDGE_KIND_CODE[edge.kind]) * 2097152 + site.line) * 8192 + site.col : `${from}>${to}|${edge.kind}|${site.file}:${site.line}:${site.col}`;
    const keys = numeric ? (this.edgeKeysByCaller[from] ??= new Map()) : this.edgeKeys;
    let idx = keys.get(key as never);
    if (idx === undefined) {
      idx = this.edges.length;
      this.edges.push({ from: this.fns[from].node.id, to: this.fns[to].node.id, ...edge });
      keys.set(key as never, idx);
    }
    if (origins?.length) {
      let set = this.edgeOrigins.get(idx);
      if (!set) this.edgeOrigins.set(idx, (set = new Set()));
      for (const o of origins) set.add(o);
    }
    return idx;
  }

  private buildCallEdges(): { total: number; resolved: number; unresolved: number } {
    let total = 0;
    let resolved = 0;
    this.callEdges = this.fns.map(() => []);
    const dispatcherTargets = this.collectDispatcherTargets();
    for (const f of this.files) {
      for (const fn of f.functions) {
        const fnIdx = this.defIndex.get(fn)!;
        const perCall: number[][] = [];
        this.callEdges[fnIdx] = perCall;
        fn.calls.forEach((call, ci) => {
          const produced: number[] = [];
          perCall[ci] = produced;
          const base = { site: call.site, ...(call.macro ? { macro: call.macro } : {}) };
          if (call.callee.k === 'name') {
            const name = call.callee.name;
            // `(T)(x)`, a cast tree-sitter parsed as a call: no call at all.
            if (this.symbols.isTypeOnlyName(name, f.file)) return;
            const defs = this.symbols.functionsNamed(name, f.file);
            const global = defs.length ? undefined : this.symbols.globalNamed(name, f.file);
            if (!global) {
              const kind: EdgeKind = call.macro ? 'macro' : 'direct';
              for (const t of this.resolveFunctionName(name, f.file)) {
                const how = call.macro ? `call in the expansion of macro ${call.macro}` : 'direct call';
                produced.push(this.addEdge(fnIdx, t, { kind, ...base, evidence: call.selection ? `${how}: one of the functions ${call.selection} selects by the type of its operand` : how }));
              }
              this.profileEdges(call, fnIdx, f.file, produced, dispatcherTargets);
              return;
            }
            // A call through a global pointer variable.
            total++;
            const key = this.symbols.globalKey(name, f.file);
            const targets = this.resolveVals([{ k: 'read', loc: { k: 'global', name } }], fnIdx, f.file);
            if (targets.size) {
              resolved++;
              for (const [t, os] of targets) produced.push(this.addEdge(fnIdx, t, { kind: 'indirect', ...base, via: call.text, evidence: `${name} may hold ${this.fns[t].node.name} (address taken at ${fmtSites(os.map((o) => this.origins[o].site))})` }, os));
            } else if (this.profile.apiPointerPrefixes.some((p) => name.startsWith(p)) || (!this.globalsWithFlows.has(key) && this.addressTaken.has(name))) {
              // Nothing in the tree stores a function of its own into it, and it is a host API
              // pointer (RedisModule_*, filled at load time through RedisModule_GetApi, whatever
              // a test shim assigns: `RedisModule_Alloc = malloc;`) or its address is handed out
              // to be filled: treat it as the external API it names.
              total--;
              this.externalApiCalls++;
              produced.push(this.addEdge(fnIdx, this.external(name), { kind: call.macro ? 'macro' : 'direct', ...base, evidence: `call through API pointer ${name}, into which nothing in the tree stores a function of its own` }));
              this.profileEdges(call, fnIdx, f.file, produced, dispatcherTargets);
            } else {
              this.unresolved.push({ function: this.fns[fnIdx].node.id, site: call.site, text: call.text, reason: `no function address reaches global ${name}` });
            }
            return;
          }
          if (call.callee.k === 'ret' && this.symbols.isTypeOnlyName(call.callee.fn, f.file)) return;
          total++;
          if (call.callee.k === 'opaque') {
            this.unresolved.push({ function: this.fns[fnIdx].node.id, site: call.site, text: call.text, reason: 'the callee is computed by an expression lockpath does not model' });
            return;
          }
          if (call.callee.k === 'ret') {
            const targets = this.resolveVals([{ k: 'ret', fn: call.callee.fn }], fnIdx, f.file);
            if (!targets.size) {
              this.unresolved.push({ function: this.fns[fnIdx].node.id, site: call.site, text: call.text, reason: `no function address is returned by ${call.callee.fn}` });
              return;
            }
            resolved++;
            for (const [t, os] of targets) produced.push(this.addEdge(fnIdx, t, { kind: 'indirect', ...base, via: call.text, evidence: `${call.callee.fn} may return ${this.fns[t].node.name} (address taken at ${fmtSites(os.map((o) => this.origins[o].site))})` }, os));
            return;
          }
          const loc = call.callee.loc;
          // `((cast)f)(x)`: the "pointer" is a function name.
          if (loc.k === 'global' && this.symbols.functionsNamed(loc.name, f.file).length && !this.symbols.globalNamed(loc.name, f.file)) {
            resolved++;
            for (const t of this.resolveFunctionName(loc.name, f.file)) produced.push(this.addEdge(fnIdx, t, { kind: 'indirect', ...base, via: call.text, evidence: 'call through a cast of the function' }));
            return;
          }
          const targets = this.resolveVals([{ k: 'read', loc }], fnIdx, f.file);
          if (!targets.size) {
            this.unresolved.push({ function: this.fns[fnIdx].node.id, site: call.site, text: call.text, reason: describeUnresolved(loc) });
            return;
          }
          resolved++;
          for (const [t, os] of targets) {
            produced.push(this.addEdge(fnIdx, t, {
              kind: 'indirect', ...base, via: call.text,
              evidence: `${call.text} may hold ${this.fns[t].node.name} (address taken at ${fmtSites(os.map((o) => this.origins[o].site))})`,
            }, os));
          }
        });
      }
    }
    return { total, resolved, unresolved: total - resolved };
  }

  /** Callbacks registered anywhere with an event-loop registrar, per dispatcher API. */
  private collectDispatcherTargets(): Map<string, Map<number, { site: Site; api: string }>> {
    const byRegistrar = new Map<string, Map<number, { site: Site; api: string }>>();
    for (const f of this.files) {
      for (const fn of f.functions) {
        const fnIdx = this.defIndex.get(fn)!;
        for (const call of fn.calls) {
          if (call.callee.k !== 'name') continue;
          const args = this.registrarArgs.get(call.callee.name);
          if (!args) continue;
          let map = byRegistrar.get(call.callee.name);
          if (!map) byRegistrar.set(call.callee.name, (map = new Map()));
          for (const a of args) {
            for (const t of this.resolveVals(call.args[a] ?? [], fnIdx, f.file).keys()) if (!map.has(t)) map.set(t, { site: call.site, api: call.callee.name });
          }
        }
      }
    }
    const out = new Map<string, Map<number, { site: Site; api: string }>>();
    for (const d of this.profile.dispatchers) {
      const merged = new Map<number, { site: Site; api: string }>();
      for (const r of d.registrars) for (const [t, info] of byRegistrar.get(r.api) ?? []) if (!merged.has(t)) merged.set(t, info);
      out.set(d.api, merged);
    }
    return out;
  }

  /** Registration, thread-creation and dispatcher edges for calls to profile APIs. */
  private profileEdges(call: CallFact, fnIdx: number, file: string, produced: number[], dispatcherTargets: Map<string, Map<number, { site: Site; api: string }>>): void {
    if (call.callee.k !== 'name') return;
    const api = call.callee.name;
    const reg = this.registrations.get(api);
    if (reg) {
      for (const cb of reg.callbacks) {
        for (const [t, os] of this.resolveVals(call.args[cb.arg] ?? [], fnIdx, file)) {
          const name = reg.nameArg !== undefined ? call.argTexts[reg.nameArg] : undefined;
          produced.push(this.addEdge(fnIdx, t, {
            kind: 'registration', site: call.site, via: api, entryKind: cb.kind,
            evidence: `${this.fns[t].node.name} is passed to ${api} as its ${cb.kind} callback${name ? ` for ${name}` : ''}`,
          }, os));
          this.addEntry(t, { kind: cb.kind, api, site: call.site, ...(name ? { name } : {}) });
        }
      }
    }
    const startArg = this.threadCreators.get(api);
    if (startArg !== undefined) {
      for (const [t, os] of this.resolveVals(call.args[startArg] ?? [], fnIdx, file)) {
        produced.push(this.addEdge(fnIdx, t, {
          kind: 'handoff', site: call.site, via: api, threadRoot: this.fns[t].node.id,
          evidence: `${this.fns[t].node.name} is started as a new thread by ${api}`,
        }, os));
        const node = this.fns[t].node;
        (node.threadRoot ??= []).push({ api, site: call.site });
      }
    }
    const dispatched = dispatcherTargets.get(api);
    if (dispatched) {
      for (const [t, info] of dispatched) {
        produced.push(this.addEdge(fnIdx, t, {
          kind: 'indirect', site: call.site, via: `${api} → ${info.api} callback`,
          evidence: `${api} runs ${this.fns[t].node.name} on this thread: it is registered with ${info.api} at ${fmtSites([info.site])}`,
        }));
      }
    }
  }

  private addEntry(fnIdx: number, entry: EntryPoint): void {
    const node = this.fns[fnIdx].node;
    const list = (node.entry ??= []);
    if (!list.some((e) => e.kind === entry.kind && e.site.file === entry.site.file && e.site.line === entry.site.line)) list.push(entry);
  }

  private markEntriesAndThreads(): void {
    for (const e of this.profile.namedEntries) {
      for (const d of this.symbols.definitions.get(e.name) ?? []) {
        const idx = this.defIndex.get(d.facts)!;
        this.addEntry(idx, { kind: e.kind, api: 'by name', site: d.facts.site });
      }
    }
    for (const name of this.profile.namedThreadRoots) {
      for (const d of this.symbols.definitions.get(name) ?? []) {
        const node = this.fns[this.defIndex.get(d.facts)!].node;
        (node.threadRoot ??= []).push({ api: 'model file', site: d.facts.site });
      }
    }
    for (const d of this.symbols.definitions.get('main') ?? []) {
      const idx = this.defIndex.get(d.facts)!;
      this.addEntry(idx, { kind: 'main', api: 'by name', site: d.facts.site });
    }
  }

  // ---------------------------------------------------------------- hand-offs

  /**
   * A function address taken in F and invoked only from code that F does not reach synchronously,
   * but that a thread root reaches, is a hand-off: F queues it for that thread.
   */
  private inferHandoffs(): void {
    const syncOut = this.syncAdjacency();
    const roots = this.fns.map((f, i) => (f.node.threadRoot ? i : -1)).filter((i) => i >= 0);
    const rootsReaching = new Map<number, number[]>();
    for (const r of roots) for (const n of reachable(r, syncOut)) {
      const list = rootsReaching.get(n);
      if (list) list.push(r);
      else rootsReaching.set(n, [r]);
    }
    const syncReachCache = new Map<number, Set<number>>();
    const syncReach = (f: number) => {
      let s = syncReachCache.get(f);
      if (!s) syncReachCache.set(f, (s = reachable(f, syncOut)));
      return s;
    };
    const snapshot = this.edges.length;
    for (let ei = 0; ei < snapshot; ei++) {
      const e = this.edges[ei];
      if (e.kind !== 'indirect') continue;
      const origins = this.edgeOrigins.get(ei);
      if (!origins) continue;
      const invoker = this.idToIndex.get(e.from)!;
      const rootsHere = rootsReaching.get(invoker);
      if (!rootsHere) continue;
      for (const o of origins) {
        const { inFn, site, target } = this.origins[o];
        if (inFn < 0 || inFn === invoker || syncReach(inFn).has(invoker)) continue;
        const root = rootsHere[0];
        const via = this.passingApi(inFn, site) ?? 'a stored function pointer';
        this.addEdge(inFn, target, {
          kind: 'handoff', site, via, threadRoot: this.fns[root].node.id,
          evidence: `${this.fns[target].node.name} is passed to ${via} here and only invoked at ${fmtSites([e.site])} (${e.via ?? ''}) in ${this.fns[invoker].node.name}, which thread ${this.fns[root].node.name} runs and ${this.fns[inFn].node.name} does not call`,
        });
      }
    }
  }

  /** The callee of the call in `fnIdx` whose arguments contain the address taken at `site`. */
  private passingApi(fnIdx: number, site: Site): string | undefined {
    const facts = this.fns[fnIdx].facts;
    if (!facts) return undefined;
    for (const call of facts.calls) {
      for (const arg of call.args) {
        if (arg.some((v) => v.k === 'ident' && v.site.line === site.line && v.site.col === site.col)) return call.text;
      }
    }
    return undefined;
  }

  private syncAdjacency(): number[][] {
    const out: number[][] = this.fns.map(() => []);
    for (const e of this.edges) {
      if (!SYNC_EDGE_KINDS.includes(e.kind)) continue;
      out[this.idToIndex.get(e.from)!].push(this.idToIndex.get(e.to)!);
    }
    return out;
  }

  private adjacency(): { out: number[][]; inn: number[][]; edgeFrom: Int32Array; edgeTo: Int32Array } {
    const out: number[][] = this.fns.map(() => []);
    const inn: number[][] = this.fns.map(() => []);
    const edgeFrom = new Int32Array(this.edges.length);
    const edgeTo = new Int32Array(this.edges.length);
    this.edges.forEach((e, i) => {
      const from = this.idToIndex.get(e.from)!;
      const to = this.idToIndex.get(e.to)!;
      edgeFrom[i] = from;
      edgeTo[i] = to;
      out[from].push(i);
      inn[to].push(i);
    });
    return { out, inn, edgeFrom, edgeTo };
  }
}

function reachable(start: number, adj: number[][]): Set<number> {
  const seen = new Set<number>([start]);
  const stack = [start];
  while (stack.length) {
    const n = stack.pop()!;
    for (const m of adj[n]) if (!seen.has(m)) { seen.add(m); stack.push(m); }
  }
  return seen;
}

function fmtSites(sites: Site[]): string {
  const uniq = [...new Set(sites.map((s) => `${s.file}:${s.line}`))];
  return uniq.length > 3 ? `${uniq.slice(0, 3).join(', ')} and ${uniq.length - 3} more` : uniq.join(', ');
}

function describeUnresolved(loc: Loc): string {
  switch (loc.k) {
    case 'local': return `no function address reaches variable or parameter '${loc.name}'`;
    case 'global': return `no function address reaches '${loc.name}'`;
    case 'field': return `no function address is stored in field '${loc.field}'`;
    default: return 'no function address reaches this pointer';
  }
}
