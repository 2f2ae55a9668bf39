// The analyzer's JSON contract (documented in the README). The CLI prints it, the language server
// and the webview consume it: change it only compatibly.
import type { EntryKind } from './profile/profile';
import type { Site } from './model';

export type { Site } from './model';
export type { EntryKind } from './profile/profile';

export type EdgeKind = 'direct' | 'macro' | 'indirect' | 'handoff' | 'registration';
export const EDGE_KINDS: readonly EdgeKind[] = ['direct', 'macro', 'indirect', 'handoff', 'registration'];
/** Edges along which a call runs synchronously on the caller's thread. */
export const SYNC_EDGE_KINDS: readonly EdgeKind[] = ['direct', 'macro', 'indirect'];

export interface EntryPoint { kind: EntryKind; api: string; site: Site; name?: string }

export interface FunctionNode {
  /** Unique: the name, or `name@file` for static functions and for names defined in several files. */
  id: string;
  name: string;
  /** Absent for external functions (called or declared, never defined in the tree). */
  file?: string;
  line?: number;
  col?: number;
  endLine?: number;
  static: boolean;
  defined: boolean;
  definedByMacro?: string;
  /** The body had syntax the grammar could not parse; calls were recovered around it. */
  partial?: boolean;
  entry?: EntryPoint[];
  /** Set when the function is started as a thread (or run by a thread-creation API). */
  threadRoot?: { api: string; site: Site }[];
}

export interface Edge {
  from: string;
  to: string;
  kind: EdgeKind;
  /** The call site (for hand-off and registration: where the function pointer is passed). */
  site: Site;
  /** The macro written at the call site when the call exists only in its expansion. */
  macro?: string;
  /** indirect: the pointer expression; handoff/registration: the API that receives the pointer. */
  via?: string;
  /** handoff: the thread-root function whose thread runs the callee. */
  threadRoot?: string;
  /** registration: the kind of entry point the callee becomes. */
  entryKind?: EntryKind;
  /** Why the analyzer believes this edge exists, in words. */
  evidence?: string;
}

export interface UnresolvedCall { function: string; site: Site; text: string; reason: string }

export interface SkippedFile { file: string; reason: 'too-large' | 'binary' | 'not-utf8' | 'unreadable' | 'parse-failed'; detail?: string }

export interface Stats {
  filesParsed: number;
  filesSkipped: number;
  filesWithErrors: number;
  functions: number;
  externalFunctions: number;
  edges: Record<EdgeKind, number>;
  indirectSites: { total: number; resolved: number; unresolved: number };
  /** Calls through global API pointers that nothing in the tree assigns (e.g. `RedisModule_*`). */
  externalApiCalls: number;
  parseMs: number;
  analysisMs: number;
  peakRssMb: number;
  parser: string;
  workers: number;
}

export interface GraphJson {
  version: 1;
  root: string;
  functions: FunctionNode[];
  edges: Edge[];
  unresolved: UnresolvedCall[];
  skipped: SkippedFile[];
  notes: { site: Site; message: string }[];
  /** What may make the results misleading for this tree as a whole (several programs in one tree). */
  warnings: string[];
  stats: Stats;
}
