// The subset of the tree-sitter node API both backends (web-tree-sitter and the native binding)
// provide identically, so the extractor runs unchanged on either and produces the same graph.

export interface Point { row: number; column: number }

export interface SyntaxNode {
  readonly type: string;
  readonly text: string;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly startPosition: Point;
  readonly endPosition: Point;
  readonly isMissing: boolean;
  readonly hasError: boolean;
  readonly namedChildren: (SyntaxNode | null)[];
  readonly children: (SyntaxNode | null)[];
  childForFieldName(name: string): SyntaxNode | null;
}

/**
 * A text edit in tree-sitter's terms. Both backends parse JS strings as UTF-16, so indices and
 * columns are UTF-16 code units (the same unit as LSP positions); rows count '\n' only.
 */
export interface TreeEdit {
  startIndex: number; oldEndIndex: number; newEndIndex: number;
  startPosition: Point; oldEndPosition: Point; newEndPosition: Point;
}

export interface SyntaxTree { readonly rootNode: SyntaxNode; delete?(): void; edit?(edit: TreeEdit): void }

export interface ParserBackend {
  readonly name: BackendName;
  /** `oldTree`, already edited to match `text`, lets tree-sitter reuse its unchanged subtrees. */
  parse(text: string, oldTree?: SyntaxTree): SyntaxTree;
}

export type BackendName = 'wasm' | 'native';
