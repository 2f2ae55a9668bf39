import type { SyntaxNode } from '../parse/syntax';

// Small, stateless readers of tree-sitter-c shapes, shared by the extractor's passes.

/** The node's named children. Shared with the node (no copy when there is no null to drop): read only. */
export function named(node: SyntaxNode): readonly SyntaxNode[] {
  const children = node.namedChildren;
  for (const c of children) {
    if (!c) return children.filter((x): x is SyntaxNode => !!x);
  }
  return children as readonly SyntaxNode[];
}

export function field(node: SyntaxNode, name: string): SyntaxNode | null {
  return node.childForFieldName(name);
}

/** Collapses whitespace so texts shown to users stay on one line. */
export function compactText(text: string, max = 120): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

const WRAPPERS = new Set(['pointer_declarator', 'array_declarator', 'init_declarator', 'parenthesized_declarator', 'attributed_declarator', 'function_declarator']);

/** The identifier a declarator declares (`*(*name)[3]` → `name`). */
export function declaratorName(decl: SyntaxNode | null): SyntaxNode | null {
  let cur = decl;
  for (let guard = 0; cur && guard < 64; guard++) {
    if (cur.type === 'identifier' || cur.type === 'field_identifier' || cur.type === 'type_identifier') return cur;
    if (!WRAPPERS.has(cur.type)) return null;
    const inner: SyntaxNode | null = field(cur, 'declarator') ?? named(cur).find((c) => c.type !== 'parameter_list' && c.type !== 'attribute_specifier') ?? null;
    cur = inner;
  }
  return null;
}

/** The function_declarator that makes a declarator a function (not a pointer to one), if any. */
export function functionDeclaratorOf(decl: SyntaxNode | null): SyntaxNode | null {
  let cur = decl;
  for (let guard = 0; cur && guard < 64; guard++) {
    if (cur.type === 'function_declarator') {
      // `(*name)(args)` declares a pointer, not a function — unless the name inside is itself a
      // function declarator: `int (*pick(int k))(int, int)` is a function returning a pointer.
      const inner = field(cur, 'declarator');
      if (inner && declaresPointerToFunction(inner)) return innerFunctionDeclarator(inner);
      return cur;
    }
    if (cur.type === 'pointer_declarator' || cur.type === 'attributed_declarator' || cur.type === 'init_declarator') {
      cur = field(cur, 'declarator');
      continue;
    }
    if (cur.type === 'parenthesized_declarator') {
      const inner = named(cur)[0] ?? null;
      if (inner && inner.type === 'pointer_declarator') return null;
      cur = inner;
      continue;
    }
    return null;
  }
  return null;
}

function innerFunctionDeclarator(decl: SyntaxNode): SyntaxNode | null {
  let cur: SyntaxNode | null = decl;
  for (let guard = 0; cur && guard < 64; guard++) {
    if (cur.type === 'function_declarator') return cur;
    if (cur.type === 'parenthesized_declarator') cur = named(cur)[0] ?? null;
    else if (cur.type === 'pointer_declarator' || cur.type === 'attributed_declarator') cur = field(cur, 'declarator');
    else return null;
  }
  return null;
}

function declaresPointerToFunction(decl: SyntaxNode): boolean {
  return decl.type === 'parenthesized_declarator' && named(decl).some((c) => c.type === 'pointer_declarator');
}

/** True when the declarator declares a function pointer (possibly an array of them). */
export function isFunctionPointerDeclarator(decl: SyntaxNode | null): boolean {
  let cur = decl;
  for (let guard = 0; cur && guard < 64; guard++) {
    if (cur.type === 'function_declarator') {
      const inner = field(cur, 'declarator');
      return !!inner && inner.type === 'parenthesized_declarator';
    }
    if (!WRAPPERS.has(cur.type)) return false;
    cur = field(cur, 'declarator') ?? named(cur)[0] ?? null;
  }
  return false;
}

/**
 * Whether the declared variable is an array: the declarator nearest its name decides (`a[4]`,
 * `*a[4]` and `(*const table[])(int)`, an array of function pointers, are arrays; `(*p)[4]`, a
 * pointer to an array, is not).
 */
export function isArrayDeclarator(decl: SyntaxNode | null): boolean {
  let cur = decl;
  let nearest: string | null = null;
  for (let guard = 0; cur && guard < 64; guard++) {
    if (cur.type === 'array_declarator' || cur.type === 'pointer_declarator' || cur.type === 'function_declarator') nearest = cur.type;
    else if (cur.type !== 'init_declarator' && cur.type !== 'parenthesized_declarator') break;
    cur = field(cur, 'declarator') ?? (cur.type === 'parenthesized_declarator' ? cur.namedChildren[0] ?? null : null);
  }
  return nearest === 'array_declarator';
}

/** `*p`, `(*p)[4]`, `p = …` with a pointer declarator: the variable holds a pointer. */
export function isPointerDeclarator(decl: SyntaxNode | null): boolean {
  let cur = decl;
  for (let guard = 0; cur && guard < 64; guard++) {
    if (cur.type === 'pointer_declarator') return true;
    if (cur.type === 'init_declarator' || cur.type === 'array_declarator' || cur.type === 'parenthesized_declarator') { cur = field(cur, 'declarator') ?? cur.namedChildren[0] ?? null; continue; }
    return false;
  }
  return false;
}

/**
 * The name that keys a type's fields: `struct job *` → `job`, `const job_t` → `job_t`.
 * Typedef chains are resolved later by the linker, which sees every file.
 */
export function baseTypeName(typeNode: SyntaxNode | null): string {
  if (!typeNode) return '';
  switch (typeNode.type) {
    case 'struct_specifier':
    case 'union_specifier':
    case 'enum_specifier': {
      const n = field(typeNode, 'name');
      return n ? n.text : '';
    }
    case 'type_identifier':
    case 'primitive_type':
    case 'sized_type_specifier':
      return typeNode.text;
    case 'macro_type_specifier':
    case 'type_descriptor': {
      const t = field(typeNode, 'type');
      return t ? baseTypeName(t) : '';
    }
    default:
      return typeNode.text.replace(/\b(const|volatile|struct|union|enum|restrict)\b/g, '').replace(/[*\s]/g, '');
  }
}

export function hasStorageClass(node: SyntaxNode, cls: string): boolean {
  // storage_class_specifier is a named node: the named children, usually read already, suffice.
  for (const c of node.namedChildren) if (c && c.type === 'storage_class_specifier' && c.text === cls) return true;
  return false;
}

export function stripParens(node: SyntaxNode): SyntaxNode {
  let cur = node;
  for (let guard = 0; guard < 64 && cur.type === 'parenthesized_expression'; guard++) {
    const inner = named(cur)[0];
    if (!inner) break;
    cur = inner;
  }
  return cur;
}

/** A struct or union written with a body and no tag: `struct { … }`. */
export function isUntaggedAggregate(typeNode: SyntaxNode): boolean {
  return (typeNode.type === 'struct_specifier' || typeNode.type === 'union_specifier') && !field(typeNode, 'name') && !!field(typeNode, 'body');
}
