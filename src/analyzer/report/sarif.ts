import type { Finding, FindingClass, PathHop, ThreadTrace } from '../concurrency/types';
import { findingSite } from '../concurrency/types';
import type { Site } from '../graph';
import { shortName } from './formats';

// SARIF 2.1.0 for code review: one result per finding, a code flow with one thread flow per
// thread (the lock holder, each awaited thread), and a fingerprint that survives line moves.

const RULES: Record<FindingClass, { name: string; short: string; full: string; level: 'error' | 'warning' | 'note' }> = {
  'deadlock-risk': { name: 'DeadlockRisk', short: 'Blocking wait under a global lock for threads that may need that lock', full: 'A thread holding a global lock (the Redis GIL) waits without a timeout for threads that may themselves block taking that lock: neither can proceed.', level: 'error' },
  'lock-order': { name: 'LockOrderInversion', short: 'Two threads take the same locks in opposite orders', full: 'One thread holds lock A and takes lock B while another thread, which can run at the same time, holds B and takes A: each can wait for the other forever.', level: 'error' },
  stall: { name: 'Stall', short: 'Unbounded wait while holding a global lock', full: 'A thread holding a global lock waits without a timeout; every other user of the lock stalls until the awaited threads finish.', level: 'warning' },
  bounded: { name: 'BoundedWait', short: 'Bounded wait while holding a global lock', full: 'A thread holding a global lock waits with a timeout or retry limit.', level: 'note' },
  'gil-required-api': { name: 'GilRequiredApi', short: 'API that needs the GIL called without it', full: 'A Redis Module API call that needs the GIL is made from a thread that does not hold it.', level: 'warning' },
};

function location(site: Site, message?: string): object {
  return {
    physicalLocation: { artifactLocation: { uri: site.file, uriBaseId: 'SRCROOT' }, region: { startLine: site.line, startColumn: site.col } },
    ...(message ? { message: { text: message } } : {}),
  };
}

function threadFlowOf(t: ThreadTrace): object {
  const mode = (m: string) => (m === 'exclusive' ? '' : ` (${m})`);
  return {
    message: { text: `${t.context === 'entries' ? 'main thread' : `thread ${shortName(t.context)}`}: holds ${t.holds.lock}${mode(t.holds.mode)}, takes ${t.acquires.lock}${mode(t.acquires.mode)}` },
    locations: [
      { location: location(t.entry.site, `${shortName(t.entry.function)}: ${t.entry.kind}`), nestingLevel: 0, kinds: ['entry'] },
      { location: location(t.holds.site, `takes ${t.holds.lock}${mode(t.holds.mode)}`), nestingLevel: 1, kinds: ['acquire'] },
      ...hopLocations(t.path),
      { location: location(t.acquires.site, `takes ${t.acquires.lock}${mode(t.acquires.mode)} while holding ${t.holds.lock}`), nestingLevel: 1, kinds: ['acquire'] },
    ],
  };
}

function hopLocations(hops: PathHop[], nestingLevel = 1): object[] {
  return hops.map((h) => ({
    location: location(h.site, `${h.kind === 'handoff' ? 'hand-off to ' : 'calls '}${shortName(h.to)}${h.macro ? ` (macro ${h.macro})` : ''}${h.kind === 'indirect' ? ` through ${h.via}` : ''}${h.lockState ? `; lock ${h.lockState}` : ''}`),
    nestingLevel,
    kinds: [h.kind === 'handoff' ? 'handoff' : 'call'],
  }));
}

export function toSarif(findings: readonly Finding[], toolVersion = '0.1.0'): object {
  const ruleIds = Object.keys(RULES) as FindingClass[];
  const results = findings.map((f) => {
    const primary = findingSite(f);
    const holder = f.threads ? threadFlowOf(f.threads[0]) : {
      message: { text: `${f.entry.kind === 'thread-root' ? 'thread' : 'main thread (holds the lock)'} ${shortName(f.entry.function)}` },
      locations: [
        { location: location(f.entry.site, `${shortName(f.entry.function)}: ${f.entry.kind}`), nestingLevel: 0, kinds: ['entry'] },
        ...hopLocations(f.path),
        ...(f.wait ? [{ location: location(f.wait.site, `waits: ${f.wait.expression}`), nestingLevel: 1, kinds: ['wait'] }] : []),
        ...(f.call ? [{ location: location(f.call.site, `calls ${f.call.api} without the ${f.lock}`), nestingLevel: 1, kinds: ['call'] }] : []),
      ],
    };
    const awaited = f.threads ? f.threads.slice(1).map(threadFlowOf) : f.awaited.map((a) => ({
      message: { text: `thread ${shortName(a.threadRoot)}: releases the wait (${a.releaser.action})${a.takesLock ? `, but may first block taking the ${f.lock}` : ''}` },
      locations: [
        ...hopLocations(a.pathToReleaser, 0),
        { location: location(a.releaser.site, a.releaser.action), nestingLevel: 0, kinds: ['release'] },
        ...(a.takesLock ? [...hopLocations(a.takesLock.path, 0), { location: location(a.takesLock.site, a.takesLock.tryLock ? `retries a try-lock of the ${f.lock} until it succeeds` : `takes the ${f.lock}`), nestingLevel: 0, kinds: ['acquire'] }] : []),
      ],
    }));
    const result: Record<string, unknown> = {
      ruleId: f.class,
      ruleIndex: ruleIds.indexOf(f.class),
      level: RULES[f.class].level,
      message: { text: f.message },
      locations: [location(primary)],
      partialFingerprints: { 'lockpath/v1': f.id },
      codeFlows: [{ message: { text: f.message }, threadFlows: [holder, ...awaited] }],
      relatedLocations: [
        { id: 0, ...location(f.entry.site, `entry: ${shortName(f.entry.function)} (${f.entry.kind})`) },
        ...f.path.map((h, i) => ({ id: i + 1, ...location(h.site, `${shortName(h.from)} → ${shortName(h.to)} (${h.kind})`) })),
        ...f.sequencedAfter.slice(0, 10).map((s, i) => ({ id: 100 + i, ...location(s.site, `never runs while the wait blocks: ${s.text} → ${s.reaches.slice(0, 6).map(shortName).join(', ')}`) })),
      ],
      properties: { lock: f.lock, yielding: f.yielding, entry: f.entry.function, ...(f.wait ? { waitKind: f.wait.kind, bounded: f.wait.bounded } : {}) },
    };
    if (f.suppressed) result.suppressions = [{ kind: 'external', justification: f.suppressed.reason, location: location(f.suppressed.rule) }];
    return result;
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'lockpath',
          version: toolVersion,
          rules: ruleIds.map((id) => ({
            id,
            name: RULES[id].name,
            shortDescription: { text: RULES[id].short },
            fullDescription: { text: RULES[id].full },
            defaultConfiguration: { level: RULES[id].level },
          })),
        },
      },
      originalUriBaseIds: { SRCROOT: { description: { text: 'The analysed directory' } } },
      results,
    }],
  };
}
