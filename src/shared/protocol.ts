// The typed custom protocol between the lockpath language server, the VS Code client and the
// webview. Result shapes are the analyzer's JSON contract (see README).
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { Edge, FunctionNode, Site } from '../analyzer/graph';
import type { Finding, FindingClass, HeldState } from '../analyzer/concurrency/types';

export type { Edge, FunctionNode, Site, Finding, FindingClass, HeldState };

/** A thread context a function runs in: `entries` (main thread, entry points) or a thread root's id, with the state of one lock there. */
export interface FunctionContextJson { context: string; lock: string; state: HeldState }
/** Per function id in the result: the contexts it runs in (absent: reached in none). */
export type ContextsJson = Record<string, FunctionContextJson[]>;

/** Every request names the workspace folder it is about (its URI); omitted: the first one. */
interface FolderScoped { folder?: string }

export interface TraceParams extends FolderScoped { from: string; to: string; via?: string[]; maxPaths?: number }
export interface TracePathJson { length: number; functions: string[]; hops: Edge[] }
export interface TraceResultJson { from: FunctionNode; to: FunctionNode; via: { name: string; kind: 'function' | 'macro' }[]; paths: TracePathJson[]; functions: FunctionNode[]; contexts?: ContextsJson }
export const TraceRequest = new RequestType<TraceParams, TraceResultJson, void>('lockpath/trace');

export interface GraphParams extends FolderScoped { around: string; depth?: number; direction?: 'in' | 'out' | 'both'; maxNodes?: number }
export interface GraphResultJson { center: string; depth: number; direction: 'in' | 'out' | 'both'; functions: FunctionNode[]; edges: Edge[]; truncated: boolean; contexts?: ContextsJson }
export const GraphRequest = new RequestType<GraphParams, GraphResultJson, void>('lockpath/graph');

export interface FindingParams extends FolderScoped { id: string }
export const FindingRequest = new RequestType<FindingParams, Finding | null, void>('lockpath/finding');

export interface FindingListItem { id: string; class: FindingClass; message: string; entry: string; site: Site; suppressed: boolean; folder: string }
export const FindingsRequest = new RequestType<FolderScoped, FindingListItem[], void>('lockpath/findings');

export const FunctionNamesRequest = new RequestType<FolderScoped, string[], void>('lockpath/functionNames');

export const SarifRequest = new RequestType<FolderScoped, object, void>('lockpath/sarif');

export interface StatusParams {
  state: 'indexing' | 'ready' | 'error';
  folder: string;
  parsed?: number;
  total?: number;
  deadlockRisks?: number;
  findings?: number;
  message?: string;
}
export const StatusNotification = new NotificationType<StatusParams>('lockpath/status');

/** Options the client passes in `initializationOptions`. */
export interface InitializationOptions { cacheDir?: string }

/** Commands the server's CodeLens and hover links invoke; the client registers them. */
export const COMMANDS = {
  traceBetween: 'lockpath.traceBetween',
  showGraph: 'lockpath.showGraph',
  showFindingTrace: 'lockpath.showFindingTrace',
  exportSarif: 'lockpath.exportSarif',
  restartServer: 'lockpath.restartServer',
} as const;
