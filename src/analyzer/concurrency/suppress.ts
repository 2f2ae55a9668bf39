import type { AllowRule } from '../modelFile/modelFile';
import { shortName } from '../report/formats';
import type { Finding } from './types';

function nameMatches(pattern: string | undefined, id: string | undefined): boolean {
  return pattern === undefined || (id !== undefined && (pattern === id || pattern === shortName(id)));
}

/** Marks findings matched by an `allow` rule; they stay in the output with the written reason. */
export function applyAllowRules(findings: Finding[], rules: readonly AllowRule[]): void {
  for (const f of findings) {
    const rule = rules.find((r) => (r.class === '*' || r.class === f.class)
      && nameMatches(r.entry, f.entry.function)
      && nameMatches(r.wait, f.wait?.function)
      && (r.call === undefined || r.call === f.call?.api || nameMatches(r.call, f.call?.function)));
    if (rule) f.suppressed = { reason: rule.reason, rule: rule.site };
  }
}
