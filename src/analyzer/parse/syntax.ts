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

export interface SyntaxTree { readonly rootNode: SyntaxNode; delete?(): void }

export interface ParserBackend {
  readonly name: BackendName;
  parse(text: string): SyntaxTree;
}

export type BackendName = 'wasm' | 'native';
