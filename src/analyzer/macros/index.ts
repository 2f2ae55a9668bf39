export { tokenizeC, tokensToText } from './lexer';
export type { Token, TokenKind } from './lexer';
export { scanMacroDefinitions, MacroTable, preferredDefinition } from './definitions';
export type { MacroDef } from './definitions';
export { expandText } from './expand';
export type { ExpandOptions, ExpansionResult } from './expand';
