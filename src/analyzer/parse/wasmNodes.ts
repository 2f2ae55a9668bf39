import type { TreeEdit, Point, SyntaxNode, SyntaxTree } from './syntax';

// Syntax nodes of web-tree-sitter trees, read straight from the WASM heap.
//
// web-tree-sitter's own Node marshals itself into a transfer buffer through the generic
// `setValue(ptr, v, 'i32')` on every property read (`type`, `endIndex`, `text` each cost a call
// into WASM, every time) and allocates a Node plus a position object per child. The extractor
// reads `type` about 2.7 million times on RediSearch, so that marshalling, not the extractor's
// own logic, dominated extraction. These nodes call the same exported functions with the same
// transfer-buffer layout, but write the buffer through HEAP32 directly and remember what they
// have read (a tree is edited only to be handed back to the parser as the old tree, after which
// nothing reads its nodes, so a node's values never change while it is read).
//
// The layout is web-tree-sitter's (pinned in package.json): a node is 5 int32 in the transfer
// buffer (id, start index in UTF-16 code units, start row, start column, context), and child
// lists come back as a count and a malloc'ed array of such records. `wasmRuntimeSupported`
// checks the exports are there; the backend falls back to the library's nodes otherwise.

/** The emscripten module object web-tree-sitter initialised (its `C`). */
export interface WasmRuntime {
  HEAP32: Int32Array;
  _free(ptr: number): void;
  _ts_init(): number;
  _ts_tree_root_node_wasm(tree: number): void;
  _ts_node_symbol_wasm(tree: number): number;
  _ts_node_end_index_wasm(tree: number): number;
  _ts_node_end_point_wasm(tree: number): void;
  _ts_node_has_error_wasm(tree: number): number;
  _ts_node_is_missing_wasm(tree: number): number;
  _ts_node_children_wasm(tree: number): void;
  _ts_node_named_children_wasm(tree: number): void;
  _ts_node_child_by_field_id_wasm(tree: number, field: number): void;
}

const REQUIRED = [
  '_free', '_ts_init', '_ts_tree_root_node_wasm', '_ts_node_symbol_wasm', '_ts_node_end_index_wasm', '_ts_node_end_point_wasm',
  '_ts_node_has_error_wasm', '_ts_node_is_missing_wasm', '_ts_node_children_wasm', '_ts_node_named_children_wasm',
  '_ts_node_child_by_field_id_wasm',
];

export function wasmRuntimeSupported(runtime: Record<string, unknown>): boolean {
  return runtime.HEAP32 instanceof Int32Array && REQUIRED.every((name) => typeof runtime[name] === 'function');
}

/** What every node of one tree shares. */
class TreeContext {
  /** int32 index of the transfer buffer in HEAP32. */
  readonly tb: number;

  constructor(
    readonly rt: WasmRuntime,
    transferBuffer: number,
    /** The tree's address. */
    readonly ptr: number,
    readonly types: readonly (string | undefined)[],
    readonly fieldIds: ReadonlyMap<string, number>,
    readonly text: string,
  ) {
    this.tb = transferBuffer >> 2;
  }

  /** The node record at `tb` as a node (null for the null node). */
  read(index: number): WasmNode | null {
    const h = this.rt.HEAP32;
    const id = h[index];
    if (id === 0) return null;
    return new WasmNode(this, id, h[index + 1], h[index + 2], h[index + 3], h[index + 4]);
  }

  /** The children the last `*_children_wasm` call left in the transfer buffer. */
  readList(): WasmNode[] {
    const h = this.rt.HEAP32;
    const count = h[this.tb];
    const buffer = h[this.tb + 1];
    const out = new Array<WasmNode>(count);
    if (count > 0) {
      let at = buffer >> 2;
      for (let i = 0; i < count; i++, at += 5) out[i] = new WasmNode(this, h[at], h[at + 1], h[at + 2], h[at + 3], h[at + 4]);
      this.rt._free(buffer);
    }
    return out;
  }
}

export class WasmNode implements SyntaxNode {
  private typeCache: string | undefined;
  private endCache = -1;
  private textCache: string | undefined;
  private startCache: Point | undefined;
  private childrenCache: WasmNode[] | undefined;
  private namedCache: WasmNode[] | undefined;
  /** hasError and isMissing, once read: bit 0/1 hasError known/value, bit 2/3 isMissing. */
  private flags = 0;

  constructor(
    private readonly ctx: TreeContext,
    private readonly id: number,
    readonly startIndex: number,
    private readonly row: number,
    private readonly column: number,
    private readonly context: number,
  ) {}

  /** Writes this node into the transfer buffer, as web-tree-sitter's marshalNode does. */
  private marshal(): number {
    const ctx = this.ctx;
    const h = ctx.rt.HEAP32;
    const tb = ctx.tb;
    h[tb] = this.id;
    h[tb + 1] = this.startIndex;
    h[tb + 2] = this.row;
    h[tb + 3] = this.column;
    h[tb + 4] = this.context;
    return ctx.ptr;
  }

  get type(): string {
    if (this.typeCache === undefined) this.typeCache = this.ctx.types[this.ctx.rt._ts_node_symbol_wasm(this.marshal())] || 'ERROR';
    return this.typeCache;
  }

  get endIndex(): number {
    if (this.endCache < 0) this.endCache = this.ctx.rt._ts_node_end_index_wasm(this.marshal());
    return this.endCache;
  }

  get text(): string {
    // web-tree-sitter slices the parsed string the same way (indices are UTF-16 code units).
    if (this.textCache === undefined) this.textCache = this.ctx.text.slice(this.startIndex, this.endIndex);
    return this.textCache;
  }

  get startPosition(): Point {
    return (this.startCache ??= { row: this.row, column: this.column });
  }

  get endPosition(): Point {
    const rt = this.ctx.rt;
    rt._ts_node_end_point_wasm(this.marshal());
    const h = rt.HEAP32;
    return { row: h[this.ctx.tb] >>> 0, column: h[this.ctx.tb + 1] >>> 0 };
  }

  get isMissing(): boolean {
    if (!(this.flags & 4)) this.flags |= 4 | (this.ctx.rt._ts_node_is_missing_wasm(this.marshal()) === 1 ? 8 : 0);
    return (this.flags & 8) !== 0;
  }

  get hasError(): boolean {
    if (!(this.flags & 1)) this.flags |= 1 | (this.ctx.rt._ts_node_has_error_wasm(this.marshal()) === 1 ? 2 : 0);
    return (this.flags & 2) !== 0;
  }

  get children(): WasmNode[] {
    if (!this.childrenCache) {
      this.ctx.rt._ts_node_children_wasm(this.marshal());
      this.childrenCache = this.ctx.readList();
    }
    return this.childrenCache;
  }

  get namedChildren(): WasmNode[] {
    if (!this.namedCache) {
      this.ctx.rt._ts_node_named_children_wasm(this.marshal());
      this.namedCache = this.ctx.readList();
    }
    return this.namedCache;
  }

  /** A new node object on every call, like web-tree-sitter's (callers compare nodes by identity). */
  childForFieldName(name: string): WasmNode | null {
    const fieldId = this.ctx.fieldIds.get(name);
    if (fieldId === undefined) return null;
    this.ctx.rt._ts_node_child_by_field_id_wasm(this.marshal(), fieldId);
    return this.ctx.read(this.ctx.tb);
  }
}

/** Field name → id, as web-tree-sitter's `language.fields.indexOf(name)` (first occurrence). */
export function fieldIdsOf(fields: readonly (string | null | undefined)[]): Map<string, number> {
  const ids = new Map<string, number>();
  fields.forEach((name, id) => {
    if (name && !ids.has(name)) ids.set(name, id);
  });
  return ids;
}

/** Wraps a parsed web-tree-sitter tree so its nodes are WasmNodes. */
/** The library tree behind a WasmNode tree: what tree-sitter's incremental re-parse needs as the old tree. */
export const LIBRARY_TREE = Symbol('lockpath.libraryTree');

export function wasmTree(
  rt: WasmRuntime, transferBuffer: number, tree: { 0: number; delete(): void; edit(e: TreeEdit): void }, types: readonly (string | undefined)[],
  fieldIds: ReadonlyMap<string, number>, text: string,
): SyntaxTree {
  const ctx = new TreeContext(rt, transferBuffer, tree[0], types, fieldIds, text);
  let root: WasmNode | null | undefined;
  return {
    get rootNode(): SyntaxNode {
      if (root === undefined) {
        rt._ts_tree_root_node_wasm(ctx.ptr);
        root = ctx.read(ctx.tb);
      }
      return root!;
    },
    delete: () => tree.delete(),
    // An edited tree is only handed back to the parser as the old tree; nodes read from it before
    // the edit keep their cached (pre-edit) values, which nothing reads afterwards.
    edit: (e: TreeEdit) => { root = undefined; tree.edit(e); },
    [LIBRARY_TREE]: tree,
  } as SyntaxTree;
}
