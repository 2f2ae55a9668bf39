import type { ParserBackend, SyntaxNode, SyntaxTree } from '../parse/syntax';
import type {
  Access, CallFact, Callee, FileFacts, Flow, FunctionFacts, GlobalFacts, Loc, Site, Stmt, StructFacts, TypeRef, Val,
} from '../model';
import type { MacroTable } from '../macros';
import { expandText } from '../macros';
import { WINDOWS_MACROS, excludesWindows, requiresWindows } from '../macros/platform';
import type { ExpansionResult } from '../macros';
import { LineIndex, blankCommentsAndStrings, knrHeader, matchParen, nextSignificant } from './textScan';
import {
  baseTypeName, compactText, declaratorName, field, functionDeclaratorOf, hasStorageClass, isArrayDeclarator, isPointerDeclarator, isUntaggedAggregate,
  isFunctionPointerDeclarator, named, stripParens,
} from './syntaxHelpers';

/** The type recorded for a parameter or variable declared as a function pointer. */
export const FUNCTION_POINTER_TYPE = '(*)()';

/** Names a macro may resolve to inside its own expansion (the C "blue paint" rule) are calls. */
const EXPANSION_FN = '__lockpath_expansion__';
const MAX_ARG_TEXT = 80;

interface BodyContext {
  fn: FunctionFacts;
  locals: Map<string, string>;
  /** Set while extracting from a macro's expansion: every call there is attributed to this site. */
  macro?: { name: string; site: Site; skip: Set<string> };
  /** Inside a macro's arguments: only calls the expansion keeps are real. */
  argFilter?: Set<string>;
  /** Set while walking a repaired re-parse of a body: maps its positions back to the file. */
  remap?: BodyRemap;
  /** Local names assigned inside the loops being walked (innermost last). */
  loopLocalWrites?: Set<string>[];
  /**
   * `static` locals, with their declared types: storage that outlives the call, kept as the
   * global `fn::name` (a dispatch table `static handler_fn table[] = {…}`; `table[i](x)`).
   */
  staticLocals?: Map<string, string>;
}

/** The global key of a `static` local (not shadowed by a plain local), or undefined. */
function staticLocalKey(ctx: BodyContext | null | undefined, name: string): string | undefined {
  return ctx?.staticLocals?.has(name) && !ctx.locals.has(name) ? `${ctx.fn.name}::${name}` : undefined;
}

/** Positions in a re-parsed, macro-repaired body mapped back to the original file. */
interface BodyRemap {
  site(node: SyntaxNode): Site;
  /** The statement macro whose expansion covers this offset of the re-parsed text. */
  spanAt(index: number): { name: string; site: Site } | undefined;
}

/**
 * Turns one parsed C file into FileFacts. Macro-heavy code is the norm (RediSearch: ~half of the
 * files have ERROR nodes), so every pass works on whatever structure tree-sitter recovered and
 * expands macros itself where the grammar could not see through them.
 */
export class FileExtractor {
  private readonly facts: FileFacts;
  private readonly snippets: SnippetCache;
  private readonly expansionCache: Map<string, ExpansionResult>;
  private lines: LineIndex | undefined;

  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly macros: MacroTable,
    private readonly parser: ParserBackend,
    caches?: { snippets: SnippetCache; expansions: Map<string, ExpansionResult> },
  ) {
    this.snippets = caches?.snippets ?? new SnippetCache(parser);
    this.expansionCache = caches?.expansions ?? new Map();
    this.facts = {
      file, functions: [], prototypes: [], globals: [], globalFlows: [], structs: [], typedefs: [], macros: [],
      errorNodes: 0, notes: [],
    };
  }

  /** `parsed`: a tree of this text the caller keeps (for incremental re-parsing); not deleted here. */
  extract(parsed?: SyntaxTree): FileFacts {
    const tree = parsed ?? this.parser.parse(this.text);
    try {
      const root = tree.rootNode;
      this.facts.errorNodes = root.hasError ? countErrors(root) : 0;
      const included = quotedIncludesOf(this.text);
      if (included.length) this.facts.quotedIncludes = included;
      this.visitTopLevel(root);
      this.functionsFromDefinitionMacros();
    } finally {
      if (!parsed) tree.delete?.();
    }
    return this.facts;
  }

  private site(node: SyntaxNode): Site {
    return { file: this.file, line: node.startPosition.row + 1, col: node.startPosition.column + 1 };
  }

  // ---------------------------------------------------------------- top level

  private visitTopLevel(node: SyntaxNode): void {
    this.visitTopLevelChildren(named(node), node.startIndex);
  }

  private visitTopLevelChildren(children: readonly SyntaxNode[], containerStart: number): void {
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      switch (child.type) {
        case 'function_definition':
          this.functionDefinition(child);
          break;
        case 'declaration':
          this.topLevelDeclaration(child);
          break;
        case 'type_definition':
          this.typeDefinition(child);
          break;
        case 'struct_specifier':
        case 'union_specifier':
          this.collectStructs(child, null);
          break;
        case 'preproc_def':
        case 'preproc_function_def':
          this.macroDefinition(child);
          break;
        case 'preproc_if':
        case 'preproc_ifdef':
        case 'preproc_elif':
        case 'preproc_else':
        case 'preproc_elifdef':
        case 'linkage_specification':
        case 'declaration_list':
          this.visitTopLevel(child);
          break;
        case 'ERROR':
          this.recoverFromError(child);
          break;
        case 'compound_statement':
          // A body whose header tree-sitter could not attach (e.g. `DEFINE_HANDLER(x) {` after
          // an unparsable line): recover the header from the text before it.
          this.functionFromLooseBody(child, i > 0 ? children[i - 1].endIndex : containerStart);
          break;
        default:
          break;
      }
    }
  }

  private recoverFromError(node: SyntaxNode): void {
    const children = named(node);
    let headerStart = node.startIndex;
    for (const child of children) {
      if (child.type === 'compound_statement') {
        this.functionFromLooseBody(child, headerStart);
      } else if (child.type === 'function_definition' || child.type === 'declaration' || child.type === 'type_definition'
        || child.type.startsWith('preproc_') || child.type === 'ERROR' || child.type === 'struct_specifier') {
        this.visitTopLevelChildren([child], child.startIndex);
      }
      const lastChar = this.text[child.endIndex - 1];
      if (lastChar === ';' || lastChar === '}' || child.type.startsWith('preproc_')) headerStart = child.endIndex;
    }
  }

  private macroDefinition(node: SyntaxNode): void {
    const name = field(node, 'name');
    if (!name) return;
    const params = node.type === 'preproc_function_def'
      ? named(field(node, 'parameters') ?? node).filter((p) => p.type === 'identifier' || p.text === '...').map((p) => p.text)
      : null;
    const value = field(node, 'value');
    this.facts.macros.push({ name: name.text, params, body: value ? compactText(value.text, 400) : '', site: this.site(name) });
  }

  private typeDefinition(node: SyntaxNode): void {
    const typeNode = field(node, 'type');
    const declarators = named(node).filter((c) => c !== typeNode && c.type !== 'type_qualifier' && c.type !== 'storage_class_specifier');
    let firstName: string | null = null;
    for (const decl of declarators) {
      const id = declaratorName(decl);
      if (!id) continue;
      firstName ??= id.text;
      this.facts.typedefs.push({
        name: id.text,
        target: baseTypeName(typeNode) || id.text,
        isFunctionPointer: isFunctionPointerDeclarator(decl),
        site: this.site(id),
      });
    }
    if (typeNode) this.collectStructs(typeNode, firstName);
  }

  /**
   * Records struct/union definitions (nested ones too), keyed by tag or, if it has none, by the
   * name given (a typedef's, or one made up for an untagged type by `collectFields` or
   * `declaredType`).
   */
  private collectStructs(node: SyntaxNode, typedefName: string | null): void {
    if (node.type !== 'struct_specifier' && node.type !== 'union_specifier') return;
    const body = field(node, 'body');
    if (!body) return;
    const tag = field(node, 'name');
    const key = tag ? tag.text : typedefName;
    const struct: StructFacts = { key: key ?? '', kind: node.type === 'union_specifier' ? 'union' : 'struct', fields: [], site: this.site(node) };
    this.collectFields(body, key, struct.fields, 0);
    if (key) this.facts.structs.push(struct);
  }

  /**
   * The fields declared in a struct or union body. A member of an untagged aggregate type gets a
   * type of its own (`S::member`), so that `e->v.val` and `s->u.val` are told apart instead of
   * meeting under the field name `val`; an unnamed member (C11 `union { … };`) adds its fields to
   * the enclosing aggregate, where C code reaches them.
   */
  private collectFields(body: SyntaxNode, key: string | null, fields: StructFacts['fields'], depth: number): void {
    for (const decl of named(body)) {
      if (decl.type !== 'field_declaration') continue;
      const typeNode = field(decl, 'type');
      const declarators = named(decl).filter((c) => c !== typeNode && (c.type.endsWith('declarator') || c.type === 'field_identifier'));
      let type = baseTypeName(typeNode);
      if (typeNode && isUntaggedAggregate(typeNode)) {
        const innerBody = field(typeNode, 'body')!;
        if (!declarators.length) {
          if (depth < 8) this.collectFields(innerBody, key, fields, depth + 1);
          continue;
        }
        const first = declaratorName(declarators[0]);
        type = key && first && !declarators.some(isPointerDeclarator) ? memberTypeName(key, first.text) : '';
        this.collectStructs(typeNode, type || null);
      } else if (typeNode) this.collectStructs(typeNode, null);
      for (const d of declarators) {
        const id = declaratorName(d);
        if (id) fields.push({ name: id.text, type, isFunctionPointer: isFunctionPointerDeclarator(d) });
      }
    }
  }

  /**
   * The type of a variable declared with an aggregate type written in place: the definition is
   * recorded, an untagged one under a name made after the variable (`x@file`, or `fn::x@file` for
   * a local), so that its fields — a command table's handlers, say — are keyed by that type, not
   * by field name only. A pointer to an untagged type, or to a struct defined inside the function,
   * stays untyped (its fields match by name): such a type is mostly a mirror through which C code
   * reads memory of another type it is handed as `void *` (`struct m { … } *m = (void *)p;`, as
   * Redis reads a module's type methods).
   */
  private declaredType(typeNode: SyntaxNode | null, declarators: readonly SyntaxNode[], ctx: BodyContext | null): string {
    if (!typeNode) return '';
    const aggregate = typeNode.type === 'struct_specifier' || typeNode.type === 'union_specifier';
    const untagged = isUntaggedAggregate(typeNode);
    const recordable = !ctx || (!ctx.macro && !ctx.remap);
    const localTags = ctx ? this.localUse.get(ctx.fn)?.structTags : undefined;
    if (aggregate && !untagged) {
      const tag = field(typeNode, 'name')!.text;
      if (field(typeNode, 'body')) {
        if (recordable) this.collectStructs(typeNode, null);
        localTags?.add(tag);
      }
      return localTags?.has(tag) && declarators.some(isPointerDeclarator) ? '' : tag;
    }
    if (!untagged) return baseTypeName(typeNode);
    if (declarators.some(isPointerDeclarator) || !recordable) return '';
    const first = declarators.map((d) => declaratorName(d)).find((id) => id);
    if (!first) return '';
    const name = `${ctx ? `${ctx.fn.name}::` : ''}${first.text}@${this.file}`;
    this.collectStructs(typeNode, name);
    return name;
  }

  private topLevelDeclaration(node: SyntaxNode): void {
    if (this.declarationThroughMacro(node)) return;
    this.declarationFacts(node, (n) => this.site(n), true);
  }

  /**
   * A declaration whose declarator is written with a function-like macro, as module API headers
   * do: `GEARS_API void MODULE_API_FUNC(RedisGears_LockHanlderAcquire)(RedisModuleCtx *ctx);` with
   * `#define MODULE_API_FUNC(x) (*x)` declares a function-pointer global, which the grammar reads
   * as a function named MODULE_API_FUNC (RedisGears, RedisAI), or cannot read at all
   * (`MODULE_API_FUNC(RSIndex*, RediSearch_CreateIndex)(…)` with `extern T(*N)`, RediSearch).
   * The expanded text says what the compiler sees; names keep the place they are written at.
   * Initializers are left out: their values' places cannot be told in the expansion.
   */
  private declarationThroughMacro(node: SyntaxNode): boolean {
    const text = node.text;
    if (text.length > 2000 || text.includes('{')) return false;
    const declaratorMacro = named(node).some((d) => d.type.endsWith('declarator') && this.macros.isFunctionLike(declaratorName(d)?.text ?? ''));
    if (!declaratorMacro && !(node.hasError && [...text.matchAll(/([A-Za-z_]\w*)\s*\(/g)].some((m) => this.macros.isFunctionLike(m[1])))) return false;
    const expansion = this.expand(text);
    if (!expansion.macrosUsed.length) return false;
    const snippet = this.parseSnippet(expansion.text);
    const declarations = snippet ? named(snippet).filter((c) => c.type === 'declaration' && !c.hasError) : [];
    if (!declarations.length) return false;
    const siteOf = (n: SyntaxNode): Site => {
      const at = findIdentifier(text, n.text);
      return at >= 0 ? this.positionAt(node.startIndex + at) : this.site(node);
    };
    for (const d of declarations) this.declarationFacts(d, siteOf, false);
    return true;
  }

  /** Globals and prototypes a declaration makes; `withBodies`: also its struct definitions and initializers. */
  private declarationFacts(node: SyntaxNode, siteOf: (n: SyntaxNode) => Site, withBodies: boolean): void {
    const typeNode = field(node, 'type');
    const type = withBodies ? this.declaredType(typeNode, named(node).filter((d) => d !== typeNode && d.type.endsWith('declarator')), null) : baseTypeName(typeNode);
    const isStatic = hasStorageClass(node, 'static');
    const isExtern = hasStorageClass(node, 'extern');
    for (const decl of named(node)) {
      if (decl === typeNode || !(decl.type.endsWith('declarator') || decl.type === 'identifier')) continue;
      const fnDecl = functionDeclaratorOf(decl.type === 'init_declarator' ? field(decl, 'declarator') : decl);
      const id = declaratorName(decl);
      if (!id) continue;
      if (fnDecl) {
        // Parameters of prototypes are not needed: arguments flow into definitions' parameters.
        this.facts.prototypes.push({ name: id.text, isStatic, site: siteOf(id), returnType: type, params: [] });
        continue;
      }
      const global: GlobalFacts = {
        name: id.text, isStatic, isExtern, type, isFunctionPointer: isFunctionPointerDeclarator(decl), site: siteOf(id),
      };
      this.facts.globals.push(global);
      if (decl.type === 'init_declarator' && withBodies) {
        const value = field(decl, 'value');
        if (value) this.initializerFlows({ k: 'global', name: id.text }, { t: 'name', name: type }, isArrayDeclarator(decl), value, this.facts.globalFlows, null);
      }
    }
  }

  private parameters(list: SyntaxNode | null): { name: string; type: string }[] {
    if (!list) return [];
    const out: { name: string; type: string }[] = [];
    for (const p of named(list)) {
      if (p.type !== 'parameter_declaration') continue;
      const declarator = field(p, 'declarator');
      const id = declaratorName(declarator);
      // `int (*cmp)(void *, void *)` is a function pointer, not an int.
      out.push({ name: id ? id.text : '', type: isFunctionPointerDeclarator(declarator) ? FUNCTION_POINTER_TYPE : baseTypeName(field(p, 'type')) });
    }
    return out;
  }

  // ---------------------------------------------------------------- functions

  private functionDefinition(node: SyntaxNode): void {
    const body = field(node, 'body');
    if (!body) return;
    const declarator = field(node, 'declarator');
    const fnDecl = functionDeclaratorOf(declarator);
    const nameNode = fnDecl ? declaratorName(field(fnDecl, 'declarator')) : null;
    // `CONFIG_SETTER(name) { ... }` parses as a definition whose "type" is the macro, or whose
    // declarator name is a function-like macro: expand the header to learn the real signature.
    const typeNode = field(node, 'type');
    const headerIsMacro = !fnDecl || !nameNode
      || (nameNode && this.macros.isFunctionLike(nameNode.text))
      || (typeNode?.type === 'type_identifier' && this.macros.isFunctionLike(typeNode.text) && !fnDecl);
    if (headerIsMacro) {
      if (this.functionFromMacroHeader(node.startIndex, body, node)) return;
      if (!nameNode) return;
    }
    this.buildFunction({
      name: nameNode!.text,
      nameSite: this.site(nameNode!),
      isStatic: hasStorageClass(node, 'static'),
      returnType: baseTypeName(typeNode),
      params: this.parameters(fnDecl ? field(fnDecl, 'parameters') : null),
      body,
    });
  }

  private functionFromLooseBody(body: SyntaxNode, headerStart: number): void {
    if (this.functionFromMacroHeader(headerStart, body, null)) return;
    this.functionFromKnrHeader(body);
  }

  /** `name(a, b) int a; char *b; {` and implicit-int `name() {`, which tree-sitter splits apart. */
  private functionFromKnrHeader(body: SyntaxNode): boolean {
    const from = Math.max(0, body.startIndex - 2000);
    const region = blankCommentsAndStrings(this.text.slice(from, body.startIndex));
    const lastBrace = region.lastIndexOf('}');
    const header = knrHeader(lastBrace >= 0 ? region.slice(lastBrace + 1) : region);
    if (!header || this.macros.isFunctionLike(header.name)) return false;
    const offset = from + (lastBrace >= 0 ? lastBrace + 1 : 0) + header.nameOffset;
    this.buildFunction({
      name: header.name,
      nameSite: this.positionAt(offset),
      isStatic: /\bstatic\b/.test(region.slice(Math.max(0, header.nameOffset - 40), header.nameOffset)),
      returnType: header.returnType,
      params: header.params.map((name) => ({ name, type: '' })),
      body,
    });
    return true;
  }

  /**
   * Functions a macro defines whole, body included (`DEFINE_GETTER(width)` expanding to
   * `int get_width(...) { ... }`): no body exists in the source, so read the invocation from the
   * text, expand it and extract the functions of the expansion, attributed to the use site.
   */
  private functionsFromDefinitionMacros(): void {
    const definers = new Set<string>();
    const lineRe = /(^|\n)[ \t]*([A-Za-z_]\w*)[ \t]*\(/g;
    for (let m = lineRe.exec(this.text); m; m = lineRe.exec(this.text)) {
      const name = m[2];
      if (!definers.has(name)) {
        const def = this.macros.get(name);
        if (!def || def.params === null || !/\)\s*\{/.test(def.body)) continue;
        definers.add(name);
      }
      const nameStart = this.text.indexOf(name, m.index + m[1].length);
      const open = this.text.indexOf('(', nameStart + name.length);
      const close = matchParen(this.text, open);
      if (close < 0) continue;
      const site = this.positionAt(nameStart);
      if (this.facts.functions.some((f) => f.bodyStartLine <= site.line && site.line <= f.endLine && !f.definedByMacro)) continue;
      const invocation = this.text.slice(nameStart, close);
      const root = this.parseSnippet(this.expand(invocation).text);
      for (const def of root ? named(root).filter((c) => c.type === 'function_definition') : []) {
        const fnDecl = functionDeclaratorOf(field(def, 'declarator'));
        const id = fnDecl ? declaratorName(field(fnDecl, 'declarator')) : null;
        const fnBody = field(def, 'body');
        if (!id || !fnBody) continue;
        const fnName = id.text;
        if (this.facts.functions.some((f) => f.name === fnName && f.site.line === site.line)) continue;
        const at = findIdentifier(invocation, fnName);
        this.buildFunction({
          name: fnName,
          nameSite: at >= 0 ? this.positionAt(nameStart + at) : site,
          isStatic: hasStorageClass(def, 'static'),
          returnType: baseTypeName(field(def, 'type')),
          params: this.parameters(field(fnDecl!, 'parameters')),
          body: fnBody,
          definedByMacro: name,
          macroSite: site,
        });
        // The function spans the invocation's lines.
        this.facts.functions[this.facts.functions.length - 1].endLine = this.positionAt(close).line;
        this.facts.functions[this.facts.functions.length - 1].bodyStartLine = site.line;
      }
    }
  }

  /**
   * Expands the text before `{` and parses it as a declaration header. Handles function-defining
   * macros and bodies whose headers ended up inside ERROR nodes. Returns false when no function
   * header can be recognised.
   */
  private functionFromMacroHeader(headerStart: number, body: SyntaxNode, definition: SyntaxNode | null): boolean {
    const rawHeader = this.text.slice(headerStart, body.startIndex);
    const header = rawHeader.replace(/^[\s;]+/, '');
    if (!header.trim() || header.length > 2000 || !/[A-Za-z_]\w*\s*\(/.test(header)) return false;
    const expansion = expandText(header, this.macros);
    const snippet = this.parseSnippet(`${expansion.text} {}`);
    // Whole-definition macros before the header expand to complete functions of their own; the
    // real header is the last definition, the one that receives the `{}` appended here.
    const def = snippet ? named(snippet).filter((c) => c.type === 'function_definition').pop() : undefined;
    const fnDecl = def ? functionDeclaratorOf(field(def, 'declarator')) : null;
    const nameNode = fnDecl ? declaratorName(field(fnDecl, 'declarator')) : null;
    if (!def || !fnDecl || !nameNode || this.macros.has(nameNode.text) && !expansion.macrosUsed.length) return false;
    const name = nameNode.text;
    // A name this file declares as a type is an expression macro misread as a header (xxhash's
    // `XXH_mult32to64(xxh_u64 x, …)` under an #if where it is a function, expanded with the
    // macro's `((xxh_u64)(xxh_u32)(x) * …)`): no function.
    if (this.facts.typedefs.some((t) => t.name === name)) return false;
    // Point at the name as written in the source when it appears there (the macro argument).
    const offsetInHeader = findIdentifier(rawHeader, name);
    const namePos = offsetInHeader >= 0 ? this.positionAt(headerStart + offsetInHeader) : this.site(definition ?? body);
    const macroName = expansion.macrosUsed[0];
    this.buildFunction({
      name,
      nameSite: namePos,
      isStatic: hasStorageClass(def, 'static') || /\bstatic\b/.test(header),
      returnType: baseTypeName(field(def, 'type')),
      params: this.parameters(field(fnDecl, 'parameters')),
      body,
      definedByMacro: macroName,
    });
    return true;
  }

  private positionAt(index: number): Site {
    this.lines ??= new LineIndex(this.text);
    return { file: this.file, ...this.lines.position(index) };
  }

  private buildFunction(spec: {
    name: string; nameSite: Site; isStatic: boolean; returnType: string; params: { name: string; type: string }[];
    body: SyntaxNode; definedByMacro?: string;
    /** The whole definition comes from a macro used here: every call is attributed to this site. */
    macroSite?: Site;
  }): void {
    const fn: FunctionFacts = {
      name: spec.name,
      isStatic: spec.isStatic,
      site: spec.nameSite,
      endLine: spec.body.endPosition.row + 1,
      bodyStartLine: spec.body.startPosition.row + 1,
      params: spec.params,
      returnType: spec.returnType,
      calls: [],
      flows: [],
      writes: [],
      addressTaken: [],
      body: [],
      partial: spec.body.hasError,
    };
    if (spec.definedByMacro) fn.definedByMacro = spec.definedByMacro;
    const ctx: BodyContext = { fn, locals: new Map() };
    if (spec.macroSite) ctx.macro = { name: spec.definedByMacro ?? '', site: spec.macroSite, skip: new Set() };
    for (const p of spec.params) if (p.name) ctx.locals.set(p.name, p.type);
    const use: LocalUse = { declared: new Map(spec.params.filter((p) => p.name).map((p) => [p.name, 1])), unstable: new Set(), guards: new Set(), paths: new Map(), structTags: new Set() };
    this.localUse.set(fn, use);
    const repaired = spec.macroSite ? null : this.repairBody(spec.body);
    if (repaired) {
      ctx.remap = repaired.remap;
      fn.body = this.statements(repaired.body, ctx);
    } else {
      fn.body = this.statements(spec.body, ctx);
    }
    this.localUse.delete(fn);
    const keepsValue = (local: string) => use.declared.get(local) === 1 && !use.unstable.has(local);
    const stable = [...use.guards].filter(keepsValue);
    if (stable.length) fn.guardLocals = stable.sort();
    // A path read through a local only when that local keeps its value; through a global, always
    // (whether the global or a field on the path is written is the analysis' question).
    // Only those that guard two `if`s or more can correlate branches.
    const paths = [...use.paths].filter(([, p]) => p.uses >= 2 && (use.declared.has(p.root) ? keepsValue(p.root) : !ctx.locals.has(p.root)));
    if (paths.length) fn.guardPaths = paths.map(([name, p]) => ({ name, root: p.root, fields: p.fields })).sort((a, b) => (a.name < b.name ? -1 : 1));
    this.facts.functions.push(fn);
  }

  /** How the function being extracted uses its locals, to tell which can guard correlated branches. */
  private readonly localUse = new Map<FunctionFacts, LocalUse>();

  /** Records the ALL-CAPS names in what a local is assigned (see `FunctionFacts.localConstants`). */
  private noteLocalConstants(ctx: BodyContext, local: string, value: SyntaxNode): void {
    if (value.endIndex - value.startIndex > 200) return;
    const names = value.text.match(ALL_CAPS_NAME);
    if (!names) return;
    const table = (ctx.fn.localConstants ??= {});
    const list = (table[local] ??= []);
    for (const n of names) if (!list.includes(n)) list.push(n);
  }

  /** A local that is declared again, assigned after its declaration, declared in a loop or address-taken cannot guard. */
  private unstableLocal(ctx: BodyContext, name: string): void {
    this.localUse.get(ctx.fn)?.unstable.add(name);
  }

  /**
   * Statement macros used without a semicolon (`LOCK_STATE`, `GUARD(x)`, `FOREACH(l, it) {`)
   * make tree-sitter invent declarations and nested definitions that swallow the real calls.
   * When a body shows that damage, rewrite those macro uses — known ones by their expansion,
   * unknown ALL-CAPS ones by adding the missing semicolon — keeping every line where it was, and
   * re-parse. Calls inside an expansion are attributed to the macro at its use site.
   */
  private repairBody(body: SyntaxNode): { body: SyntaxNode; remap: BodyRemap } | null {
    if (!body.hasError && !named(body).some((c) => this.looksLikeMacroMisparse(c))) return null;
    const original = this.text.slice(body.startIndex, body.endIndex);
    if (original.length > 500_000) return null;
    const edits: { start: number; end: number; text: string; name: string }[] = [];
    const lineRe = /(^|\n)([ \t]*)([A-Za-z_]\w*)/g;
    for (let m = lineRe.exec(original); m; m = lineRe.exec(original)) {
      const start = m.index + m[1].length + m[2].length;
      if (edits.length && start < edits[edits.length - 1].end) continue;
      const name = m[3];
      let end = start + name.length;
      const afterName = nextSignificant(original, end);
      const invoked = afterName.ch === '(';
      if (invoked) {
        const close = matchParen(original, afterName.index);
        if (close < 0) continue;
        end = close;
      }
      const after = nextSignificant(original, end);
      // Only uses that end their line (or open a block) are statement macros missing a semicolon.
      if (!after.newlineBefore && after.ch !== '{' && after.ch !== '}') continue;
      if (after.ch === ';' || after.ch === ',' || after.ch === ')' || after.ch === '=' || after.ch === '(' && !invoked) continue;
      const def = this.macros.get(name);
      if (def && invoked && after.ch !== '{') {
        // `MACRO(args)` ending its line: the missing semicolon is all that is wrong; the normal
        // macro-call handling then expands it, keeping calls in the arguments at their own sites.
        edits.push({ start: end, end, text: ';', name: '' });
      } else if (def && (def.params === null || invoked)) {
        const expansion = this.expand(original.slice(start, end)).text.replace(/\s*\n\s*/g, ' ');
        const needsSemicolon = after.ch !== '{' && !/[;}]\s*$/.test(expansion);
        const newlines = original.slice(start, end).split('\n').length - 1;
        edits.push({ start, end, text: expansion + (needsSemicolon ? ';' : '') + '\n'.repeat(newlines), name });
      } else if (!def && /^[A-Z][A-Z0-9_]*$/.test(name) && after.newlineBefore && after.ch !== '{') {
        edits.push({ start: end, end, text: ';', name: '' });
      }
    }
    if (!edits.length) return null;
    let rewritten = '';
    let last = 0;
    const spans: { start: number; end: number; name: string; site: Site }[] = [];
    const prefix = `void ${EXPANSION_FN}(void) `;
    for (const e of edits) {
      rewritten += original.slice(last, e.start);
      if (e.name) spans.push({ start: prefix.length + rewritten.length, end: prefix.length + rewritten.length + e.text.length, name: e.name, site: this.positionAt(body.startIndex + e.start) });
      rewritten += e.text;
      last = e.end;
    }
    rewritten += original.slice(last);
    const root = this.parseSnippet(prefix + rewritten);
    const def = root ? named(root).find((c) => c.type === 'function_definition') : undefined;
    const newBody = def ? field(def, 'body') : null;
    if (!newBody) return null;
    const bodyLine = body.startPosition.row + 1;
    const bodyCol = body.startPosition.column + 1;
    const remap: BodyRemap = {
      site: (node) => {
        const row = node.startPosition.row;
        return { file: this.file, line: bodyLine + row, col: row === 0 ? bodyCol + node.startPosition.column - prefix.length : node.startPosition.column + 1 };
      },
      spanAt: (index) => spans.find((sp) => index >= sp.start && index < sp.end),
    };
    return { body: newBody, remap };
  }

  /** A statement that is really a macro use: `MACRO x;` or `MACRO(a) {…}` parsed as a declaration/definition. */
  private looksLikeMacroMisparse(stmt: SyntaxNode): boolean {
    if (stmt.type !== 'declaration' && stmt.type !== 'function_definition') return false;
    const first = named(stmt)[0];
    if (!first) return false;
    const name = first.type === 'macro_type_specifier' ? named(first)[0]?.text : first.type === 'type_identifier' ? first.text : undefined;
    return !!name && (this.macros.has(name) || stmt.type === 'function_definition');
  }

  // ---------------------------------------------------------------- statements

  private statements(node: SyntaxNode, ctx: BodyContext): Stmt[] {
    const out: Stmt[] = [];
    this.statementInto(node, ctx, out);
    return out;
  }

  private statementInto(node: SyntaxNode, ctx: BodyContext, out: Stmt[]): void {
    const line = this.lineOf(node, ctx);
    switch (node.type) {
      case 'compound_statement':
      case 'translation_unit':
        for (const c of named(node)) this.statementInto(c, ctx, out);
        return;
      case 'declaration':
        this.localDeclaration(node, ctx, out);
        return;
      case 'struct_specifier':
      case 'union_specifier':
        // `struct ops { … };` inside a function (positions are the file's only outside macros and repairs).
        this.declaredType(node, [], ctx);
        return;
      case 'expression_statement':
        for (const c of named(node)) this.expression(c, ctx, out);
        return;
      case 'if_statement': {
        const cond: Stmt[] = [];
        const condition = field(node, 'condition');
        if (condition) this.expression(condition, ctx, cond);
        const consequence = field(node, 'consequence');
        let alternative = field(node, 'alternative');
        if (alternative?.type === 'else_clause') alternative = named(alternative)[0] ?? null;
        const tested = condition ? guardOf(condition, ctx.locals) : undefined;
        // A `static` local's writes are recorded under its global key: the path's root must match.
        if (tested?.path) tested.path.root = staticLocalKey(ctx, tested.path.root) ?? tested.path.root;
        const use = this.localUse.get(ctx.fn);
        if (tested?.path) {
          const seen = use?.paths.get(tested.name);
          if (seen) seen.uses++;
          else use?.paths.set(tested.name, { ...tested.path, uses: 1 });
        }
        else if (tested) use?.guards.add(tested.name);
        out.push({
          s: 'if', line, cond,
          then: consequence ? this.statements(consequence, ctx) : [],
          else: alternative ? this.statements(alternative, ctx) : [],
          ...(tested ? { guard: { name: tested.name, when: tested.when } } : {}),
        });
        return;
      }
      case 'while_statement':
      case 'do_statement': {
        const condition = field(node, 'condition');
        const body = field(node, 'body');
        out.push(this.loop(node.type === 'while_statement' ? 'while' : 'do', line, condition, body, null, ctx, node));
        return;
      }
      case 'for_statement': {
        const init = field(node, 'initializer');
        if (init) this.statementInto(init.type === 'declaration' ? init : init, ctx, out);
        out.push(this.loop('for', line, field(node, 'condition'), field(node, 'body'), field(node, 'update'), ctx, node));
        return;
      }
      case 'switch_statement': {
        const cond: Stmt[] = [];
        const condition = field(node, 'condition');
        if (condition) this.expression(condition, ctx, cond);
        const cases: Stmt[][] = [];
        const body = field(node, 'body');
        for (const c of body ? named(body) : []) {
          if (c.type === 'case_statement') {
            const stmts: Stmt[] = [];
            for (const s of named(c)) if (s !== field(c, 'value')) this.statementInto(s, ctx, stmts);
            cases.push(stmts);
          } else {
            if (!cases.length) cases.push([]);
            this.statementInto(c, ctx, cases[cases.length - 1]);
          }
        }
        out.push({ s: 'switch', line, cond, cases });
        return;
      }
      case 'return_statement': {
        const value: Stmt[] = [];
        const expr = named(node)[0];
        if (expr) {
          this.expression(expr, ctx, value);
          this.addFlow(ctx, { k: 'ret', fn: ctx.fn.name }, this.values(expr, ctx));
        }
        out.push({ s: 'return', line, value });
        return;
      }
      case 'break_statement':
        out.push({ s: 'break', line });
        return;
      case 'continue_statement':
        out.push({ s: 'continue', line });
        return;
      case 'goto_statement':
        out.push({ s: 'goto', line, label: field(node, 'label')?.text ?? '' });
        return;
      case 'labeled_statement': {
        out.push({ s: 'label', line, label: field(node, 'label')?.text ?? '' });
        for (const c of named(node)) if (c.type !== 'statement_identifier') this.statementInto(c, ctx, out);
        return;
      }
      case 'comment':
      case 'preproc_def':
      case 'preproc_function_def':
      case 'preproc_call':
      case 'type_definition':
        return;
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_elif':
      case 'preproc_elifdef':
        out.push(...this.conditionalArms(node, ctx));
        return;
      case 'preproc_else':
        for (const c of named(node)) this.statementInto(c, ctx, out);
        return;
      case 'function_definition': {
        // Only reachable through ERROR recovery of a body; treat its body as statements here.
        const body = field(node, 'body');
        if (body) this.statementInto(body, ctx, out);
        return;
      }
      default:
        // Expressions in statement position, ERROR nodes and anything unusual: take the calls
        // in source order so nothing the grammar recovered is lost.
        this.expression(node, ctx, out);
    }
  }

  private lineOf(node: SyntaxNode, ctx: BodyContext): number {
    return ctx.macro || ctx.remap ? this.callSite(node, ctx).line : node.startPosition.row + 1;
  }

  private loop(kind: 'while' | 'for' | 'do', line: number, condition: SyntaxNode | null, body: SyntaxNode | null,
    update: SyntaxNode | null, ctx: BodyContext, at: SyntaxNode): Stmt {
    const cond: Stmt[] = [];
    const condReads: Access[] = [];
    const condLocals = new Set<string>();
    if (condition) {
      this.expression(condition, ctx, cond);
      this.collectReads(condition, ctx, condReads);
      collectLocalNames(condition, ctx.locals, condLocals);
    }
    const writesBefore = ctx.fn.writes.length;
    const localWrites = new Set<string>();
    (ctx.loopLocalWrites ??= []).push(localWrites);
    const bodyStmts = body ? this.statements(body, ctx) : [];
    if (update) this.expression(update, ctx, bodyStmts);
    ctx.loopLocalWrites.pop();
    const bodyWrites = ctx.fn.writes.slice(writesBefore);
    const condText = condition ? compactText(condition.text, 160) : '';
    const infinite = !condition || /^\(?\s*(1|true)\s*\)?$/.test(condText);
    const callSense = condition ? callResultSense(condition) : undefined;
    return {
      s: 'loop', line, col: this.callSite(at, ctx).col, kind, cond, condReads, condText,
      condLocals: [...condLocals], bodyLocalWrites: [...localWrites], body: bodyStmts, bodyWrites, infinite,
      ...(callSense ? { callSense } : {}),
    };
  }

  private localDeclaration(node: SyntaxNode, ctx: BodyContext, out: Stmt[]): void {
    const typeNode = field(node, 'type');
    const type = this.declaredType(typeNode, named(node).filter((d) => d !== typeNode && (d.type.endsWith('declarator') || d.type === 'identifier')), ctx);
    for (const decl of named(node)) {
      if (decl === typeNode || !(decl.type.endsWith('declarator') || decl.type === 'identifier')) continue;
      const id = declaratorName(decl);
      if (!id) continue;
      const isStaticLocal = hasStorageClass(node, 'static');
      if (!isStaticLocal) ctx.locals.set(id.text, type);
      else {
        ctx.locals.delete(id.text);
        (ctx.staticLocals ??= new Map()).set(id.text, type);
      }
      const use = this.localUse.get(ctx.fn);
      if (use) {
        use.declared.set(id.text, (use.declared.get(id.text) ?? 0) + 1);
        if (isStaticLocal || ctx.loopLocalWrites?.length || decl.type !== 'init_declarator') use.unstable.add(id.text);
      }
      if (decl.type !== 'init_declarator') continue;
      const value = field(decl, 'value');
      if (!value) continue;
      const target: Loc = isStaticLocal ? { k: 'global', name: `${ctx.fn.name}::${id.text}` } : { k: 'local', name: id.text };
      if (!isStaticLocal) this.noteLocalConstants(ctx, id.text, value);
      if (value.type === 'initializer_list') {
        this.initializerFlows(target, { t: 'name', name: type }, isArrayDeclarator(decl), value, ctx.fn.flows, ctx);
        this.expression(value, ctx, out);
      } else {
        this.expression(value, ctx, out);
        this.addFlow(ctx, target, this.values(value, ctx));
      }
    }
  }

  /** Flows from `{ .cb = f, g, [2] = { .x = h } }` into fields of `base` (or the variable itself for arrays of pointers). */
  private initializerFlows(target: Loc, base: TypeRef, isArray: boolean, list: SyntaxNode, flows: Flow[], ctx: BodyContext | null, depth = 0): void {
    if (list.type !== 'initializer_list') {
      const vals = this.values(list, ctx);
      if (vals.length) flows.push({ to: target, from: vals });
      return;
    }
    if (depth > 8 || !mayNameSomething(list.text)) return;
    let index = 0;
    for (const element of named(list)) {
      if (element.type === 'comment') continue;
      if (element.type === 'initializer_pair') {
        const designators = named(element).filter((c) => c !== field(element, 'value'));
        const value = field(element, 'value');
        // `.hooks.probe = f`: the field `probe` of the member `hooks` (array designators on the
        // way, `.ops[1].cb`, stay the same abstract location).
        const fieldNames = designators.filter((d) => d.type === 'field_designator' || d.type === 'field_identifier').map((d) => (named(d)[0] ?? d).text);
        const fieldName = fieldNames.length ? fieldNames[fieldNames.length - 1] : null;
        let owner = base;
        for (let i = 0; i < fieldNames.length - 1; i++) owner = { t: 'field', of: owner, field: fieldNames[i] };
        if (value && fieldName) {
          const loc: Loc = { k: 'field', base: owner, field: fieldName };
          // `.vars = { {…}, {…} }`: a field that is an array of structs.
          const isArrayOfLists = value.type === 'initializer_list' && named(value).length > 0 && named(value).every((c) => c.type === 'initializer_list' || c.type === 'comment');
          if (value.type === 'initializer_list') this.initializerFlows(loc, { t: 'field', of: owner, field: fieldName }, isArrayOfLists, value, flows, ctx, depth + 1);
          else this.initializerFlows(loc, owner, false, value, flows, ctx, depth + 1);
        } else if (value) {
          // `[i] = x`: an array element, the same abstract location as the array.
          this.initializerFlows(target, base, isArray, value, flows, ctx, depth + 1);
        }
      } else if (element.type === 'initializer_list') {
        if (isArray) this.initializerFlows(target, base, false, element, flows, ctx, depth + 1);
      } else if (isArray) {
        this.initializerFlows(target, base, false, element, flows, ctx, depth + 1);
      } else {
        const vals = this.values(element, ctx);
        if (vals.length) flows.push({ to: { k: 'posField', base, index }, from: vals });
      }
      index++;
    }
  }

  // ---------------------------------------------------------------- expressions

  /** Walks an expression in evaluation order, recording calls (as statements), flows and writes. */
  private expression(node: SyntaxNode, ctx: BodyContext, out: Stmt[]): void {
    const type = node.type;
    // Most of a C file's nodes are small expressions with nothing to record; reading their text
    // is far cheaper than materialising their children.
    if (SKIPPABLE.has(type) && !ctx.macro && !ctx.remap && !this.mayRecord(node.startIndex, node.endIndex)) return;
    switch (type) {
      case 'call_expression':
        this.call(node, ctx, out);
        return;
      case 'assignment_expression': {
        const [left, right] = named(node);
        if (right) this.expression(right, ctx, out);
        if (left) {
          if (left.type !== 'identifier') this.expression(left, ctx, out);
          const loc = this.locationOf(left, ctx);
          if (loc) {
            const op = node.children[1]?.type;
            const plain = op === '=';
            if (loc.k === 'local' && right) this.noteLocalConstants(ctx, loc.name, right);
            this.recordWrite(loc, left, ctx, !plain, op === '+=' ? 1 : op === '-=' ? -1 : undefined);
            if (right && plain) this.addFlow(ctx, loc, this.values(right, ctx));
          }
        }
        return;
      }
      case 'conditional_expression': {
        // `c ? a() : b()` runs one branch: the calls of each are a branch of an `if`, so that a
        // lock, a wait or an exit in one of them (`likely(e) ? (void)0 : (assert_fail(), abort())`)
        // is not taken to run on every path.
        // Positional, as elsewhere here (field lookups allocate): `c ? a : b`, or GNU `c ?: b`.
        const kids = named(node).filter((k) => k.type !== 'comment');
        const cond = kids[0];
        const consequence = kids.length >= 3 ? kids[1] : undefined;
        const alternative = kids.length >= 2 ? kids[kids.length - 1] : undefined;
        if (cond) this.expression(cond, ctx, out);
        const then: Stmt[] = [];
        const otherwise: Stmt[] = [];
        if (consequence) this.expression(consequence, ctx, then);
        if (alternative) this.expression(alternative, ctx, otherwise);
        if (then.length || otherwise.length) out.push({ s: 'if', line: this.lineOf(node, ctx), cond: [], then, else: otherwise });
        return;
      }
      case 'binary_expression': {
        const kids = named(node).filter((k) => k.type !== 'comment');
        const left = kids[0];
        const right = kids[kids.length - 1];
        // The operator, read from the text between the operands (cheaper than the child list).
        const op = kids.length === 2 ? node.text.slice(left.endIndex - node.startIndex, right.startIndex - node.startIndex).replace(COMMENTS, '').trim() : '';
        if (op === '&&' || op === '||') {
          // The right operand runs only when the left one does not decide: a branch.
          if (left) this.expression(left, ctx, out);
          const rhs: Stmt[] = [];
          if (right) this.expression(right, ctx, rhs);
          if (rhs.length) out.push({ s: 'if', line: this.lineOf(node, ctx), cond: [], then: rhs, else: [] });
          return;
        }
        for (const c of kids) this.expression(c, ctx, out);
        return;
      }
      case 'unary_expression':
      case 'parenthesized_expression':
      case 'argument_list':
      case 'initializer_list':
      case 'subscript_expression':
      case 'field_expression':
      case 'comma_expression':
      case 'cast_expression':
      case 'pointer_expression':
        for (const c of named(node)) this.expression(c, ctx, out);
        return;
      case 'update_expression': {
        const arg = named(node)[0];
        if (arg) {
          const loc = this.locationOf(arg, ctx);
          const op = node.children.find((c) => c?.type === '++' || c?.type === '--')?.type;
          if (loc) this.recordWrite(loc, arg, ctx, true, op === '++' ? 1 : op === '--' ? -1 : undefined);
          if (arg.type !== 'identifier') this.expression(arg, ctx, out);
        }
        return;
      }
      case 'compound_literal_expression': {
        const value = field(node, 'value');
        const typeNode = field(node, 'type');
        if (value) {
          this.initializerFlows({ k: 'global', name: '' }, { t: 'name', name: baseTypeName(typeNode) }, false, value, ctx.fn.flows, ctx);
          this.expression(value, ctx, out);
        }
        return;
      }
      case 'identifier':
        this.objectLikeMacro(node, ctx, out);
        return;
      case 'string_literal':
      case 'number_literal':
      case 'char_literal':
      case 'comment':
      case 'sizeof_expression':
      case 'field_identifier':
      case 'type_descriptor':
      case 'primitive_type':
      case 'type_identifier':
        return;
      case 'declaration':
      case 'compound_statement':
      case 'if_statement':
      case 'while_statement':
      case 'for_statement':
      case 'do_statement':
      case 'return_statement':
      case 'switch_statement':
      case 'expression_statement':
        // Statements inside ERROR nodes or statement expressions: keep their structure.
        this.statementInto(node, ctx, out);
        return;
      default:
        for (const c of named(node)) this.expression(c, ctx, out);
    }
  }

  private callMacros: Set<string> | undefined;

  /**
   * Whether source text may hold something the walk records: a call or macro invocation `(`, an
   * assignment, `++`/`--`, or an object-like macro that expands to a call.
   */
  private mayRecord(start: number, end: number): boolean {
    const t = this.text;
    for (let i = start; i < end; i++) {
      const c = t.charCodeAt(i);
      if (c === 40 /* ( */) return true;
      if (c === 61 /* = */) {
        const prev = t.charCodeAt(i - 1);
        const next = t.charCodeAt(i + 1);
        if (next !== 61 && prev !== 61 && prev !== 33 && prev !== 60 && prev !== 62) return true;
        if ((prev === 60 || prev === 62) && t.charCodeAt(i - 2) === prev) return true; // <<= >>=
        if (next === 61) i++;
      } else if ((c === 43 || c === 45) && t.charCodeAt(i + 1) === c) {
        return true;
      } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
        let j = i + 1;
        while (j < end) {
          const d = t.charCodeAt(j);
          if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95) j++;
          else break;
        }
        if (this.isCallMacro(t.slice(i, j))) return true;
        i = j - 1;
      } else if (c === 34 /* " */ || c === 39 /* ' */) {
        for (i++; i < end && t.charCodeAt(i) !== c; i++) if (t.charCodeAt(i) === 92) i++;
      }
    }
    return false;
  }

  private isCallMacro(name: string): boolean {
    if (!this.callMacros) {
      this.callMacros = new Set();
      // Cheap upper bound: object-like macros are only consulted when their name is seen.
    }
    if (this.callMacros.has(name)) return true;
    const def = this.macros.has(name) ? this.macros.get(name) : undefined;
    if (def && def.params === null && def.body.includes('(')) {
      this.callMacros.add(name);
      return true;
    }
    return false;
  }

  /** `update`: the write changes the value relative to itself (`x++`, `x -= n`), by `delta` (+1 adds, -1 takes away) when known. */
  private recordWrite(loc: Loc, node: SyntaxNode, ctx: BodyContext, update = false, delta?: 1 | -1): void {
    if (loc.k === 'local') this.unstableLocal(ctx, loc.name);
    if (loc.k === 'local' && ctx.loopLocalWrites) for (const set of ctx.loopLocalWrites) set.add(loc.name);
    if (loc.k === 'local' && !this.isDerefLike(node)) return;
    const access: Access = { loc, text: compactText(node.text, 80), site: this.callSite(node, ctx) };
    if (update) access.update = true;
    if (delta) access.delta = delta;
    ctx.fn.writes.push(access);
  }

  /** `*p = x` and `p->f = x` write shared memory even though `p` is local. */
  private isDerefLike(node: SyntaxNode): boolean {
    const n = stripParens(node);
    return n.type === 'pointer_expression' || n.type === 'field_expression' || n.type === 'subscript_expression';
  }

  private collectReads(node: SyntaxNode, ctx: BodyContext, out: Access[]): void {
    const n = stripParens(node);
    if (n.type === 'field_expression' || n.type === 'subscript_expression' || n.type === 'pointer_expression' && field(n, 'operator')?.text === '*') {
      const loc = this.locationOf(n, ctx);
      if (loc) out.push({ loc, text: compactText(n.text, 80), site: this.callSite(n, ctx) });
      // Still look inside for nested reads (e.g. `a->b[c->d]`).
      for (const c of named(n)) if (c.type !== 'field_identifier') this.collectReads(c, ctx, []);
      return;
    }
    if (n.type === 'identifier') {
      if (!ctx.locals.has(n.text) && !this.macros.has(n.text)) out.push({ loc: { k: 'global', name: staticLocalKey(ctx, n.text) ?? n.text }, text: n.text, site: this.callSite(n, ctx) });
      return;
    }
    if (n.type === 'call_expression') {
      const args = field(n, 'arguments');
      if (args) for (const a of named(args)) this.collectReads(a, ctx, out);
      return;
    }
    for (const c of named(n)) this.collectReads(c, ctx, out);
  }

  private callSite(node: SyntaxNode, ctx: BodyContext): Site {
    if (ctx.macro) return ctx.macro.site;
    return this.bodySite(node, ctx);
  }

  /** A node's site in the file, for nodes of the body being walked (possibly a repaired copy). */
  private bodySite(node: SyntaxNode, ctx: BodyContext): Site {
    if (!ctx.remap) return this.site(node);
    return ctx.remap.spanAt(node.startIndex)?.site ?? ctx.remap.site(node);
  }

  private call(node: SyntaxNode, ctx: BodyContext, out: Stmt[]): void {
    // Positional access: call_expression is (function, argument_list); field lookups allocate.
    const kids = named(node);
    const fnNode = kids[0];
    const last = kids[kids.length - 1];
    const argsNode = last && last.type === 'argument_list' && last !== fnNode ? last : null;
    if (!fnNode) return;
    const calleeNode = stripParens(fnNode);
    if (calleeNode.type === 'string_literal' || calleeNode.type === 'concatenated_string' || calleeNode.type === 'number_literal') {
      // `"text" UNKNOWN_MACRO(x)` (an unexpanded stringizing macro) is not a call.
      if (argsNode) for (const a of named(argsNode)) this.expression(a, ctx, out);
      return;
    }
    const macroName = this.macroNameAt(calleeNode, ctx);
    if (macroName) {
      this.macroCall(node, macroName, ctx, out);
      return;
    }
    // Evaluation order: the callee expression and the arguments run before the call itself.
    if (calleeNode.type !== 'identifier') this.expression(calleeNode, ctx, out);
    const argNodes = argsNode ? named(argsNode).filter((a) => a.type !== 'comment') : [];
    for (const a of argNodes) this.expression(a, ctx, out);

    // `_Generic(x, long long: f, double: g)(args)` calls the one function the type of `x` selects:
    // one call per association, as branches of which exactly one runs.
    // Argument values and texts are read only for calls that are kept (and once for all the
    // choices of a selection).
    let argInfo: { args: Val[][]; argTexts: string[] } | undefined;
    const argsOf = () => (argInfo ??= {
      args: argNodes.map((a) => this.values(a, ctx)),
      // The first argument (the object: a lock, a fd, a context), string literals (command names),
      // and flag expressions (`fl | O_NONBLOCK`), which profiles read; other texts are not kept.
      argTexts: argNodes.map((a, i) => (i === 0 || a.type === 'string_literal' || a.type === 'binary_expression' ? compactText(a.text, MAX_ARG_TEXT) : '')),
    });
    if (calleeNode.type !== 'generic_expression') {
      const call = this.recordCall(node, fnNode, this.calleeOf(calleeNode, ctx), argsOf, ctx, false);
      if (call >= 0) out.push({ s: 'call', call });
      return;
    }
    // `_Generic(x, long long: f, double: g)(args)` calls the one function the type of `x` selects:
    // one call per association, as branches of which exactly one runs.
    const branches: Stmt[][] = [];
    for (const choice of genericAssociations(calleeNode)) {
      const call = this.recordCall(node, fnNode, this.calleeOf(stripParens(choice), ctx), argsOf, ctx, true);
      if (call >= 0) branches.push([{ s: 'call', call }]);
    }
    if (branches.length === 1) out.push(...branches[0]);
    else if (branches.length > 1) {
      const line = this.lineOf(node, ctx);
      out.push(branches.reduceRight((rest, branch) => [{ s: 'if', line, cond: [], then: branch, else: rest }] as Stmt[])[0]);
    }
  }

  /** Adds a call fact to the function; its index, or -1 when the call is not kept. */
  private recordCall(node: SyntaxNode, fnNode: SyntaxNode, callee: Callee, argsOf: () => { args: Val[][]; argTexts: string[] }, ctx: BodyContext, selection: boolean): number {
    // Written in the macro's arguments: already recorded at its real site.
    if (ctx.macro && callee.k === 'name' && ctx.macro.skip.has(callee.name)) return -1;
    if (ctx.argFilter && callee.k === 'name' && !ctx.argFilter.has(callee.name)) return -1;
    const { args, argTexts } = argsOf();
    const fact: CallFact = { site: this.callSite(node, ctx), callee, text: compactText(fnNode.text, 100), args, argTexts };
    if (ctx.macro) fact.macro = ctx.macro.name;
    else if (ctx.remap) {
      const span = ctx.remap.spanAt(node.startIndex);
      if (span) fact.macro = span.name;
    }
    if (selection) fact.selection = '_Generic';
    ctx.fn.calls.push(fact);
    return ctx.fn.calls.length - 1;
  }

  /** The macro a callee is written with: `M(x)` or `M(x)(y)` (a macro that produces a function name). */
  private macroNameAt(callee: SyntaxNode, ctx: BodyContext): string | null {
    if (ctx.macro) return null;
    let cur: SyntaxNode | undefined = callee;
    for (let guard = 0; cur && guard < 8; guard++) {
      if (cur.type === 'identifier') return !ctx.locals.has(cur.text) && this.macros.has(cur.text) ? cur.text : null;
      if (cur.type !== 'call_expression') return null;
      cur = named(cur)[0];
      if (cur) cur = stripParens(cur);
    }
    return null;
  }

  private calleeOf(node: SyntaxNode, ctx: BodyContext): Callee {
    if (node.type === 'call_expression') {
      const inner = named(node)[0];
      const innerCallee = inner ? stripParens(inner) : null;
      if (innerCallee?.type === 'identifier' && !ctx.locals.has(innerCallee.text)) return { k: 'ret', fn: innerCallee.text };
      return { k: 'opaque' };
    }
    if (node.type === 'identifier') {
      if (ctx.locals.has(node.text)) return { k: 'ptr', loc: { k: 'local', name: node.text } };
      const key = staticLocalKey(ctx, node.text);
      return key ? { k: 'ptr', loc: { k: 'global', name: key } } : { k: 'name', name: node.text };
    }
    const loc = this.locationOf(node, ctx);
    return loc ? { k: 'ptr', loc } : { k: 'opaque' };
  }

  /**
   * A call to a function-like macro (or an object-like macro used as a callee): expand it and
   * extract the calls of the expansion, attributed to this site. Calls written inside the
   * arguments are recorded first at their own sites, as ordinary calls.
   */
  private macroCall(node: SyntaxNode, name: string, ctx: BodyContext, out: Stmt[]): void {
    const expansion = this.expand(node.text);
    // Calls written in the arguments are recorded at their own sites as ordinary calls — but only
    // if the expansion keeps them (`IGNORE(f())` discards its argument).
    const kept = calledNames(expansion.text);
    const skip = new Set<string>();
    const before = ctx.fn.calls.length;
    const argsHolder = named(node);
    const argLists = argsHolder.filter((c) => c.type === 'argument_list');
    const inner = argsHolder[0]?.type === 'call_expression' ? named(argsHolder[0]).filter((c) => c.type === 'argument_list') : [];
    const filtered: BodyContext = { ...ctx, argFilter: kept };
    for (const list of [...inner, ...argLists]) for (const a of named(list)) this.expression(a, filtered, out);
    for (const c of ctx.fn.calls.slice(before)) if (c.callee.k === 'name') skip.add(c.callee.name);
    this.expandInto(expansion, name, this.bodySite(node, ctx), skip, ctx, out);
  }

  private expand(text: string): ExpansionResult {
    let expansion = this.expansionCache.get(text);
    if (!expansion) {
      expansion = expandText(text, this.macros);
      this.expansionCache.set(text, expansion);
    }
    return expansion;
  }

  private objectLikeMacro(node: SyntaxNode, ctx: BodyContext, out: Stmt[]): void {
    if (ctx.macro || ctx.locals.has(node.text)) return;
    const def = this.macros.get(node.text);
    if (!def || def.params !== null || !def.body.includes('(')) return;
    this.expandInto(this.expand(node.text), node.text, this.bodySite(node, ctx), new Set(), ctx, out);
  }

  private expandInto(expansion: ExpansionResult, name: string, site: Site, skip: Set<string>, ctx: BodyContext, out: Stmt[]): void {
    if (expansion.truncated) this.facts.notes.push({ site, message: `expansion of macro '${name}' was cut at the depth/size limit` });
    const snippet = this.parseSnippet(`void ${EXPANSION_FN}(void) { ${expansion.text} ; }`);
    const def = snippet ? named(snippet).find((c) => c.type === 'function_definition') : undefined;
    const body = def ? field(def, 'body') : null;
    if (!body) return;
    const inner: BodyContext = { fn: ctx.fn, locals: ctx.locals, macro: { name, site, skip } };
    if (ctx.remap) inner.remap = ctx.remap;
    this.statementInto(body, inner, out);
  }

  private parseSnippet(text: string): SyntaxNode | null {
    return this.snippets.parse(text);
  }

  // ---------------------------------------------------------------- values and locations

  private addFlow(ctx: BodyContext, to: Loc, from: Val[]): void {
    if (from.length) ctx.fn.flows.push({ to, from });
  }

  /**
   * The arms of an `#if` in a body, as alternatives: lockpath does not know the build's
   * configuration, but a build compiles one arm (`#ifdef USE_SPIN spin_lock(&l); #else
   * mutex_lock(&m); #endif` takes one lock, not both in turn). An arm only a Windows build
   * compiles is left out (see macros/platform.ts).
   */
  private conditionalArms(node: SyntaxNode, ctx: BodyContext): Stmt[] {
    const alternative = field(node, 'alternative');
    const condition = field(node, 'condition') ?? field(node, 'name');
    // Field lookups make new node objects: tell the children apart by where they start.
    const skip = new Set([condition?.startIndex, alternative?.startIndex]);
    const directive = node.children[0]?.type ?? '';
    const text = condition?.text ?? '';
    // Arms only a Windows build compiles are not walked at all: their calls are no calls here.
    const thenWindowsOnly = directive === '#ifdef' ? WINDOWS_MACROS.has(text) : directive !== '#ifndef' && requiresWindows(text);
    const elseWindowsOnly = directive === '#ifndef' ? WINDOWS_MACROS.has(text) : directive === '#if' && excludesWindows(text);
    const then: Stmt[] = [];
    if (!thenWindowsOnly) for (const c of named(node)) if (!skip.has(c.startIndex)) this.statementInto(c, ctx, then);
    let otherwise: Stmt[] = [];
    if (elseWindowsOnly || !alternative) otherwise = [];
    else if (alternative.type === 'preproc_else') for (const c of named(alternative)) this.statementInto(c, ctx, otherwise);
    else otherwise = this.conditionalArms(alternative, ctx);
    if (thenWindowsOnly) return otherwise;
    if (elseWindowsOnly) return then;
    if (!then.length && !otherwise.length) return [];
    return [{ s: 'if', line: this.callSite(node, ctx).line, cond: [], then, else: otherwise }];
  }

  /** The function-address values an expression may evaluate to. */
  private values(node: SyntaxNode, ctx: BodyContext | null, depth = 0): Val[] {
    if (depth > 32) return [];
    const n = stripParens(node);
    switch (n.type) {
      case 'identifier': {
        if (ctx?.locals.has(n.text)) return [{ k: 'read', loc: { k: 'local', name: n.text } }];
        const staticKey = staticLocalKey(ctx, n.text);
        if (staticKey) return [{ k: 'read', loc: { k: 'global', name: staticKey } }];
        const expanded = ctx?.macro ? null : this.macroValues(n, n.text, ctx, depth);
        return expanded ?? [{ k: 'ident', name: n.text, site: ctx ? this.callSite(n, ctx) : this.site(n) }];
      }
      case 'pointer_expression': {
        const arg = named(n)[0];
        if (!arg) return [];
        if (ctx && arg.type === 'identifier' && n.children[0]?.type === '&') {
          if (!ctx.locals.has(arg.text)) ctx.fn.addressTaken.push(arg.text);
          else this.unstableLocal(ctx, arg.text);
        }
        // `&f` is f's address; `*fp` conflates the pointer with its target.
        return this.values(arg, ctx, depth + 1);
      }
      case 'cast_expression': {
        const kids = named(n);
        const v = kids[kids.length - 1];
        return v && v.type !== 'type_descriptor' ? this.values(v, ctx, depth + 1) : [];
      }
      case 'conditional_expression': {
        const out: Val[] = [];
        for (const f of ['consequence', 'alternative']) {
          const c = field(n, f);
          if (c) out.push(...this.values(c, ctx, depth + 1));
        }
        return out;
      }
      case 'comma_expression': {
        const r = field(n, 'right');
        return r ? this.values(r, ctx, depth + 1) : [];
      }
      case 'generic_expression':
        return genericAssociations(n).flatMap((c) => this.values(c, ctx, depth + 1));
      case 'assignment_expression': {
        const r = field(n, 'right');
        return r ? this.values(r, ctx, depth + 1) : [];
      }
      case 'field_expression':
      case 'subscript_expression': {
        const loc = this.locationOf(n, ctx);
        return loc ? [{ k: 'read', loc }] : [];
      }
      case 'call_expression': {
        const f = named(n)[0];
        const callee = f ? stripParens(f) : null;
        if (callee?.type !== 'identifier' || ctx?.locals.has(callee.text)) return [];
        return (ctx?.macro ? null : this.macroValues(n, callee.text, ctx, depth)) ?? [{ k: 'ret', fn: callee.text }];
      }
      default:
        return [];
    }
  }

  /**
   * The values of a macro used as a value (`register(DEFAULT_HANDLER)`, `set_cb(PICK(x))`): those
   * of its expansion, attributed to the macro's site. Null when `name` is not a macro of that form
   * (object-like for an identifier, function-like for a call) in scope. Expansions that name
   * nothing (numbers, strings) are not parsed; the others are the texts call extraction parsed
   * already, so the snippet cache answers.
   */
  private macroValues(n: SyntaxNode, name: string, ctx: BodyContext | null, depth: number): Val[] | null {
    // Most names are not macros, and the same ones recur through a file: remember the answer.
    let functionLike = this.macroForms.get(name);
    if (functionLike === undefined) {
      const def = this.macros.has(name) ? this.macros.get(name) : undefined;
      functionLike = def ? def.params !== null : null;
      this.macroForms.set(name, functionLike);
    }
    if (functionLike === null || functionLike === (n.type === 'identifier')) return null;
    const expr = this.expansionExpression(this.expand(n.text));
    if (!expr) return [];
    const site = ctx ? this.bodySite(n, ctx) : this.site(n);
    // At file scope (initializers) there is no function: the expansion's address-taking goes nowhere.
    const inner: BodyContext = { fn: ctx?.fn ?? detachedFunction(), locals: ctx?.locals ?? new Map(), macro: { name, site, skip: new Set() } };
    return this.values(expr, inner, depth + 1);
  }

  /** Per name: null for no macro, else whether the macro in scope is function-like. */
  private readonly macroForms = new Map<string, boolean | null>();

  /** Parsed expansions used as values, by expansion (this file's expansions are cached by text). */
  private readonly expansionExpressions = new Map<ExpansionResult, SyntaxNode | null>();

  /** The expansion as one expression (null when it names nothing or is not one expression). */
  private expansionExpression(expansion: ExpansionResult): SyntaxNode | null {
    let expr = this.expansionExpressions.get(expansion);
    if (expr === undefined) {
      expr = null;
      if (mayNameSomething(expansion.text)) {
        const snippet = this.parseSnippet(`void ${EXPANSION_FN}(void) { ${expansion.text} ; }`);
        const fnDef = snippet ? named(snippet).find((c) => c.type === 'function_definition') : undefined;
        const stmts = fnDef ? named(field(fnDef, 'body') ?? fnDef) : [];
        if (stmts.length === 1 && stmts[0].type === 'expression_statement') expr = named(stmts[0])[0] ?? null;
      }
      this.expansionExpressions.set(expansion, expr);
    }
    return expr;
  }

  /** The abstract location an lvalue (or a callee expression) denotes. */
  private locationOf(node: SyntaxNode, ctx: BodyContext | null, depth = 0): Loc | null {
    if (depth > 32) return null;
    const n = stripParens(node);
    switch (n.type) {
      case 'identifier':
        return ctx?.locals.has(n.text) ? { k: 'local', name: n.text } : { k: 'global', name: staticLocalKey(ctx, n.text) ?? n.text };
      case 'field_expression': {
        const [arg, f] = named(n);
        if (!arg || !f || f.type !== 'field_identifier') return null;
        return { k: 'field', base: this.typeOf(arg, ctx, depth + 1), field: f.text };
      }
      case 'subscript_expression':
      case 'pointer_expression': {
        const arg = named(n)[0];
        return arg ? this.locationOf(arg, ctx, depth + 1) : null;
      }
      case 'cast_expression': {
        const kids = named(n);
        const arg = kids[kids.length - 1];
        return arg && arg.type !== 'type_descriptor' ? this.locationOf(arg, ctx, depth + 1) : null;
      }
      default:
        return null;
    }
  }

  private typeOf(node: SyntaxNode, ctx: BodyContext | null, depth = 0): TypeRef {
    if (depth > 32) return { t: 'unknown' };
    const n = stripParens(node);
    switch (n.type) {
      case 'identifier': {
        const local = ctx?.locals.get(n.text) ?? (staticLocalKey(ctx, n.text) ? ctx!.staticLocals!.get(n.text) : undefined);
        if (local !== undefined) return local ? { t: 'name', name: local } : { t: 'unknown' };
        return { t: 'var', name: n.text };
      }
      case 'field_expression': {
        const [arg, f] = named(n);
        return arg && f ? { t: 'field', of: this.typeOf(arg, ctx, depth + 1), field: f.text } : { t: 'unknown' };
      }
      case 'subscript_expression':
      case 'pointer_expression': {
        const arg = named(n)[0];
        return arg ? this.typeOf(arg, ctx, depth + 1) : { t: 'unknown' };
      }
      case 'cast_expression':
        return { t: 'name', name: baseTypeName(field(n, 'type')) };
      case 'call_expression': {
        const f = named(n)[0];
        return f && f.type === 'identifier' ? { t: 'ret', fn: f.text } : { t: 'unknown' };
      }
      default:
        return { t: 'unknown' };
    }
  }
}

function countErrors(root: SyntaxNode): number {
  let count = 0;
  const stack: SyntaxNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (!n.hasError) continue;
    if (n.type === 'ERROR' || n.isMissing) count++;
    for (const c of n.children) if (c && (c.hasError || c.isMissing)) stack.push(c);
  }
  return count;
}

function collectLocalNames(node: SyntaxNode, locals: ReadonlyMap<string, string>, out: Set<string>): void {
  if (node.type === 'identifier') {
    if (locals.has(node.text)) out.add(node.text);
    return;
  }
  for (const c of named(node)) if (c.type !== 'field_identifier') collectLocalNames(c, locals, out);
}

/** Expression kinds whose subtrees can be skipped when their text holds nothing to record. */
/** C comments, to read an operator between two operands. */
const COMMENTS = /\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;

const SKIPPABLE = new Set([
  'binary_expression', 'unary_expression', 'parenthesized_expression', 'subscript_expression', 'field_expression',
  'conditional_expression', 'comma_expression', 'cast_expression', 'pointer_expression', 'argument_list',
  'sizeof_expression', 'alignof_expression', 'concatenated_string', 'char_literal', 'true', 'false', 'null',
]);

/** Names that appear called (`name(`) in expanded text. */
function calledNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/([A-Za-z_]\w*)\s*\(/g)) out.add(m[1]);
  return out;
}

/**
 * The name of the untagged type of member `member` of `owner`: `dictEntry::v`; for an owner named
 * after a variable the file stays last (`state::inner@src/x.c`), where `describeLock` reads it.
 */
function memberTypeName(owner: string, member: string): string {
  const at = owner.indexOf('@');
  return at < 0 ? `${owner}::${member}` : `${owner.slice(0, at)}::${member}${owner.slice(at)}`;
}

interface LocalUse {
  /** Declarations per name (parameters count as one). */
  declared: Map<string, number>;
  unstable: Set<string>;
  /** Locals some `if` tests on its own. */
  guards: Set<string>;
  /** Globals and field paths some `if` tests on their own, by guard name, with how many `if`s do. */
  paths: Map<string, { root: string; fields: string[]; uses: number }>;
  /** Tags of the structs and unions defined in the function. */
  structTags: Set<string>;
}

const NULLISH = new Set(['NULL', '0', 'false', 'nullptr']);

const ALL_CAPS_NAME = /\b[A-Z][A-Z0-9_]{2,}\b/g;

const QUOTED_INCLUDE = /^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"/gm;

/** `#include "…"` targets, as written. */
function quotedIncludesOf(text: string): string[] {
  if (!text.includes('include')) return [];
  return [...text.matchAll(QUOTED_INCLUDE)].map((m) => m[1].trim());
}

/**
 * An `if` condition that only tests a local or a field path (`x`, `!x`, `x != NULL`, `x == 0`,
 * `mod->needs_lock`…). `when` is the tested value's truth for which the `then` branch runs; a
 * path comes with its root and fields.
 */
function guardOf(condition: SyntaxNode, locals: ReadonlyMap<string, string>): { name: string; when: boolean; path?: { root: string; fields: string[] } } | undefined {
  // A guard is a short condition (`(!should_lock)`, `(ctx != NULL)`): skip the others unread.
  if (condition.endIndex - condition.startIndex > 64) return undefined;
  const n = stripParens(condition);
  if (n.type === 'identifier' || n.type === 'field_expression' || n.type === 'assignment_expression') {
    const subject = guardSubject(n, locals);
    return subject ? { ...subject, when: true } : undefined;
  }
  if (n.type === 'unary_expression' && n.children[0]?.type === '!') {
    const inner = named(n)[0];
    const g = inner ? guardOf(inner, locals) : undefined;
    return g ? { ...g, when: !g.when } : undefined;
  }
  if (n.type === 'binary_expression') {
    const op = n.children[1]?.type;
    if (op !== '==' && op !== '!=') return undefined;
    const [a, b] = named(n).map(stripParens);
    if (!a || !b) return undefined;
    const [subject, other] = NULLISH.has(b.text) ? [guardSubject(a, locals), b] : NULLISH.has(a.text) ? [guardSubject(b, locals), a] : [undefined, null];
    if (!subject || !other) return undefined;
    return { ...subject, when: op === '!=' };
  }
  return undefined;
}

/**
 * What a guard tests: a local, a global (`if (evsig_base_lock) lock(evsig_base_lock)`, libevent's
 * optional locks), or a field path from a local or global (`active.mod->needs_lock`, at most 4
 * fields).
 */
function guardSubject(node: SyntaxNode, locals: ReadonlyMap<string, string>): { name: string; path?: { root: string; fields: string[] } } | undefined {
  if (node.type === 'identifier') return locals.has(node.text) ? { name: node.text } : { name: node.text, path: { root: node.text, fields: [] } };
  // `if ((held = bucket_trylock(hv)))`: the test is of the local just assigned.
  if (node.type === 'assignment_expression' && field(node, 'operator')?.text === '=') {
    const left = field(node, 'left');
    return left?.type === 'identifier' && locals.has(left.text) ? { name: left.text } : undefined;
  }
  const fields: string[] = [];
  let n: SyntaxNode | null = node;
  while (n && n.type === 'field_expression' && fields.length <= 4) {
    const f = field(n, 'field');
    if (!f) return undefined;
    fields.unshift(f.text);
    n = field(n, 'argument');
    n = n && stripParens(n);
  }
  if (!n || n.type !== 'identifier' || !fields.length || fields.length > 4) return undefined;
  return { name: `${n.text}.${fields.join('.')}`, path: { root: n.text, fields } };
}

/** A function record nothing keeps: the context of macro values expanded at file scope. */
function detachedFunction(): FunctionFacts {
  return { name: '', isStatic: false, site: { file: '', line: 0, col: 0 }, endLine: 0, bodyStartLine: 0, params: [], returnType: '', calls: [], flows: [], writes: [], addressTaken: [], body: [], partial: false };
}

/** The expressions a `_Generic` selection chooses among (each follows a `type:` or `default:`). */
function genericAssociations(node: SyntaxNode): SyntaxNode[] {
  const kids = named(node);
  const out: SyntaxNode[] = [];
  for (let i = 1; i < kids.length - 1; i++) if (kids[i].type === 'type_descriptor') out.push(kids[i + 1]);
  return out;
}

const FALLS_WHEN_LEFT: Record<string, boolean> = { '>': true, '>=': true, '!=': true, '<': false, '<=': false };

/**
 * For a loop condition that compares a call's result (`queue_pending(&pool->jobs) > limit`, or
 * tests it, `while (busy(pool))`), how that result must move for the loop to end: 'falls' or
 * 'rises'. Undefined for anything else (both sides call, `&&`, `==`).
 */
function callResultSense(condition: SyntaxNode): 'falls' | 'rises' | undefined {
  const n = stripParens(condition);
  if (n.type === 'call_expression') return 'falls';
  if (n.type === 'unary_expression' && n.children[0]?.type === '!') {
    const arg = named(n)[0];
    return arg && stripParens(arg).type === 'call_expression' ? 'rises' : undefined;
  }
  if (n.type !== 'binary_expression') return undefined;
  const op = n.children[1]?.type ?? '';
  const fallsIfLeft = FALLS_WHEN_LEFT[op];
  if (fallsIfLeft === undefined) return undefined;
  const [left, right] = named(n);
  if (!left || !right) return undefined;
  const leftCalls = hasCall(left);
  if (leftCalls === hasCall(right)) return undefined;
  // `!=` names no direction by itself; against 0 (`pending(q) != 0`) the count must fall.
  if (op === '!=' && stripParens(leftCalls ? right : left).text !== '0') return undefined;
  return leftCalls === fallsIfLeft ? 'falls' : 'rises';
}

function hasCall(node: SyntaxNode, depth = 0): boolean {
  if (node.type === 'call_expression') return true;
  if (depth > 8) return false;
  return named(node).some((c) => hasCall(c, depth + 1));
}

/** False for initializers made only of numbers, strings and punctuation (lookup tables). */
function mayNameSomething(text: string): boolean {
  return /(?<![0-9A-Za-z_.'"\\])[A-Za-z_]/.test(text.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""'));
}

function findIdentifier(text: string, name: string): number {
  const re = new RegExp(`(?<![A-Za-z0-9_])${name.replace(/[$]/g, '\\$')}(?![A-Za-z0-9_])`);
  const m = re.exec(text);
  return m ? m.index : -1;
}

/**
 * Parsed macro expansions, shared by the files of one batch (or of one worker's whole run): the
 * same expansion text recurs across files (logging and assertion macros), and parsing depends
 * only on the text. Trees are freed by `trim` between files, never while a file's extraction may
 * still be walking one of them.
 */
export class SnippetCache {
  private readonly roots = new Map<string, SyntaxNode>();
  private trees: SyntaxTree[] = [];

  constructor(private readonly parser: ParserBackend, private readonly maxEntries = 5000) {}

  parse(text: string): SyntaxNode | null {
    if (text.length > 200_000) return null;
    const cached = this.roots.get(text);
    if (cached) return cached;
    const tree = this.parser.parse(text);
    this.trees.push(tree);
    this.roots.set(text, tree.rootNode);
    return tree.rootNode;
  }

  /** Frees everything once over the limit. Call between files. */
  trim(): void {
    if (this.roots.size >= this.maxEntries) this.dispose();
  }

  dispose(): void {
    for (const t of this.trees) t.delete?.();
    this.trees = [];
    this.roots.clear();
  }
}
