import type { BackendName } from './parse/syntax';
import type { ExtractJob } from './extract/extractBatch';
import type { MacroDef } from './macros';

export interface WorkerRequest {
  parser: BackendName;
  jobs: ExtractJob[];
  /** The header macros, sent with a worker's first request only (null afterwards). */
  sharedMacros: MacroDef[] | null;
  /** Each .c file's own macros; null: the worker scans each file when it extracts it. */
  localMacros: [string, MacroDef[]][] | null;
}

/** `results` is the JSON text of an ExtractResult[]. */
/** `startedAt` is the request's start in ms since the epoch (performance.timeOrigin-based), for
 * the debug timeline. */
export type WorkerResponse = { ok: true; results: string; ms: number; startedAt: number; stringifyMs: number } | { ok: false; error: string };
