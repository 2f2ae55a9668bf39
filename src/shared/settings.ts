// The one source of truth for lockpath's settings: package.json's contributes.configuration is
// checked against this by a test, and the server reads its defaults from here.

import { DEFAULT_SELECTION } from '../analyzer/files';

export type Severity = 'error' | 'warning' | 'information' | 'hint' | 'off';

export interface LockpathSettings {
  include: string[];
  exclude: string[];
  modelFile: string;
  parser: 'wasm' | 'native';
  severity: { 'deadlock-risk': Severity; 'lock-order': Severity; stall: Severity; bounded: Severity; 'gil-required-api': Severity };
  codeLens: { enabled: boolean };
  hover: { enabled: boolean };
}

export const DEFAULT_SETTINGS: LockpathSettings = {
  // The analyzer's own defaults, so the CLI and the editor select the same files.
  include: DEFAULT_SELECTION.include,
  exclude: DEFAULT_SELECTION.exclude,
  modelFile: '',
  parser: 'wasm',
  severity: { 'deadlock-risk': 'error', 'lock-order': 'error', stall: 'warning', bounded: 'information', 'gil-required-api': 'warning' },
  codeLens: { enabled: true },
  hover: { enabled: true },
};

const SEVERITIES: Severity[] = ['error', 'warning', 'information', 'hint', 'off'];

/** package.json `contributes.configuration.properties`, generated from the defaults above. */
export const SETTINGS_SCHEMA: Record<string, { type: string; default: unknown; enum?: string[]; items?: { type: string }; description: string }> = {
  'lockpath.include': { type: 'array', items: { type: 'string' }, default: DEFAULT_SETTINGS.include, description: 'Files to analyse (globs relative to the workspace folder).' },
  'lockpath.exclude': { type: 'array', items: { type: 'string' }, default: DEFAULT_SETTINGS.exclude, description: 'Files and folders to skip (globs).' },
  'lockpath.modelFile': { type: 'string', default: DEFAULT_SETTINGS.modelFile, description: 'Path of the .lockpath model file, relative to the workspace folder (empty: .lockpath at the root when present).' },
  'lockpath.parser': { type: 'string', enum: ['wasm', 'native'], default: DEFAULT_SETTINGS.parser, description: 'tree-sitter backend: WASM (bundled) or the native binding.' },
  'lockpath.severity.deadlock-risk': { type: 'string', enum: SEVERITIES, default: DEFAULT_SETTINGS.severity['deadlock-risk'], description: 'Problem severity of deadlock-risk findings.' },
  'lockpath.severity.lock-order': { type: 'string', enum: SEVERITIES, default: DEFAULT_SETTINGS.severity['lock-order'], description: 'Problem severity of lock-order inversions (two threads taking the same locks in opposite orders).' },
  'lockpath.severity.stall': { type: 'string', enum: SEVERITIES, default: DEFAULT_SETTINGS.severity.stall, description: 'Problem severity of stall findings.' },
  'lockpath.severity.bounded': { type: 'string', enum: SEVERITIES, default: DEFAULT_SETTINGS.severity.bounded, description: 'Problem severity of bounded-wait findings.' },
  'lockpath.severity.gil-required-api': { type: 'string', enum: SEVERITIES, default: DEFAULT_SETTINGS.severity['gil-required-api'], description: 'Problem severity of GIL-required API calls made without the GIL.' },
  'lockpath.codeLens.enabled': { type: 'boolean', default: DEFAULT_SETTINGS.codeLens.enabled, description: 'Show CodeLens above functions that run with the GIL held or may block.' },
  'lockpath.hover.enabled': { type: 'boolean', default: DEFAULT_SETTINGS.hover.enabled, description: 'Explain blocking calls and thread contexts on hover.' },
};

/** Reads `lockpath.*` values as VS Code sends them (nested objects) over the defaults. */
export function resolveSettings(raw: unknown): LockpathSettings {
  const r = (raw ?? {}) as Partial<LockpathSettings> & Record<string, unknown>;
  return {
    include: Array.isArray(r.include) ? r.include.map(String) : DEFAULT_SETTINGS.include,
    exclude: Array.isArray(r.exclude) ? r.exclude.map(String) : DEFAULT_SETTINGS.exclude,
    modelFile: typeof r.modelFile === 'string' ? r.modelFile : DEFAULT_SETTINGS.modelFile,
    parser: r.parser === 'native' ? 'native' : 'wasm',
    severity: { ...DEFAULT_SETTINGS.severity, ...(typeof r.severity === 'object' && r.severity ? r.severity : {}) },
    codeLens: { enabled: (r.codeLens as { enabled?: boolean } | undefined)?.enabled ?? true },
    hover: { enabled: (r.hover as { enabled?: boolean } | undefined)?.enabled ?? true },
  };
}
