import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { analyzeTree } from './analyze';
import type { Analysis, AnalyzeOptions } from './analyze';
import { analyzeConcurrency } from './concurrency/findings';
import { applyAllowRules } from './concurrency/suppress';
import type { Finding, FindingsSummary } from './concurrency/types';
import { FINDING_CLASSES } from './concurrency/types';
import { LockpathError } from './errors';
import { checkModelNames, formatDiagnostic, parseModelFile } from './modelFile/modelFile';
import type { ModelDiagnostic, ModelFile } from './modelFile/modelFile';
import { mergeProfiles } from './profile/profile';
import { redisModuleProfile } from './profile/redisModule';
import { suggest } from './query/resolveName';

export const MODEL_FILE_NAME = '.lockpath';

export interface ProjectOptions extends AnalyzeOptions {
  /** A model file; default: `<dir>/.lockpath` when it exists. */
  modelPath?: string;
}

export interface ProjectAnalysis {
  analysis: Analysis;
  findings: Finding[];
  summary: FindingsSummary;
  model: ModelFile | null;
  /** Warnings about the model (unknown names); errors throw. */
  modelWarnings: string[];
}

export async function loadModel(dir: string, modelPath?: string): Promise<ModelFile | null> {
  const file = modelPath ?? path.join(dir, MODEL_FILE_NAME);
  if (!modelPath && !existsSync(file)) return null;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new LockpathError(`${file}: cannot read the model file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const model = parseModelFile(text, path.relative(dir, file) || file);
  const errors = model.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new LockpathError(errors.map((d: ModelDiagnostic) => formatDiagnostic(file, d)).join('\n'));
  return model;
}

/** The whole job: graph, concurrency findings, model-file facts and suppressions. */
export async function analyzeProject(dir: string, options: ProjectOptions = {}): Promise<ProjectAnalysis> {
  const model = await loadModel(path.resolve(dir), options.modelPath);
  const profile = model ? mergeProfiles(options.profile ?? redisModuleProfile, model.profile) : options.profile ?? redisModuleProfile;
  const analysis = await analyzeTree(dir, { ...options, profile });
  const { findings, summary } = analyzeConcurrency(analysis.program, profile);
  let modelWarnings: string[] = [];
  if (model) {
    applyAllowRules(findings, model.allows);
    const known = new Set(analysis.program.functions.map((f) => f.name));
    modelWarnings = checkModelNames(model, known, (n) => suggest(known, n)).map((d) => formatDiagnostic(model.file, d));
    summary.suppressed = findings.filter((f) => f.suppressed).length;
    for (const c of FINDING_CLASSES) summary.counts[c] = findings.filter((f) => f.class === c && !f.suppressed).length;
  }
  return { analysis, findings, summary, model, modelWarnings };
}
