import type { Finding, FindingsSummary, PathHop, ThreadTrace } from '../concurrency/types';
import { FINDING_CLASSES } from '../concurrency/types';
import { awaitedName, describeOtherPools, describePoolCaveat, fmtSite, shortName } from './formats';

// Text output reads like a two-thread stack trace: the lock holder's path down to the wait, then
// each awaited thread's path to where it takes the lock.

function hopLine(h: PathHop, indent: string): string {
  const how = h.kind === 'direct' ? '' : h.kind === 'macro' ? ` [macro ${h.macro}]` : h.kind === 'indirect' ? ` [indirect${h.macro ? `, macro ${h.macro}` : ''}: ${h.via}]` : h.kind === 'handoff' ? ` [hand-off to thread ${shortName(h.threadRoot ?? '')}]` : ` [${h.kind}]`;
  const lock = h.lockState ? `  (${h.lockState.replace(/-/g, ' ')})` : '';
  return `${indent}→ ${shortName(h.to)}${how}   at ${fmtSite(h.site)}${lock}`;
}

function threadTraceLines(t: ThreadTrace, i: number): string[] {
  const e = t.entry;
  const mode = (m: string) => (m === 'exclusive' ? '' : ` (${m})`);
  const lines = ['', `   thread ${i + 1}: ${t.context === 'entries' ? 'Redis main thread' : `thread ${shortName(t.context)} (started by ${e.api} at ${fmtSite(e.site)})`}`];
  lines.push(`     ${shortName(e.function)}  — ${e.kind}${e.kind === 'thread-root' ? '' : ` registered with ${e.api}${e.name ? ` ${e.name}` : ''} at ${fmtSite(e.site)}`}`);
  const sinceEntry = t.holds.function === e.function && fmtSite(t.holds.site) === fmtSite(e.site);
  lines.push(`       🔒 holds ${t.holds.lock}${mode(t.holds.mode)}: ${sinceEntry ? `held since the ${e.kind} started` : `taken in ${shortName(t.holds.function)} at ${fmtSite(t.holds.site)}`}`);
  for (const h of t.path) lines.push(hopLine(h, '       '));
  lines.push(`       ⏸ takes ${t.acquires.lock}${mode(t.acquires.mode)} in ${shortName(t.acquires.function)} at ${fmtSite(t.acquires.site)}`);
  return lines;
}

export function findingToText(f: Finding, index: number): string {
  const lines: string[] = [];
  const tag = f.suppressed ? ' [suppressed]' : '';
  lines.push(`${index}. ${f.class}${f.yielding ? ' (yielding)' : ''}${tag}  ${f.lock}  id ${f.id}`);
  lines.push(`   ${f.message}`);
  if (f.threads) {
    f.threads.forEach((t, i) => lines.push(...threadTraceLines(t, i)));
    if (f.suppressed) lines.push('', `   suppressed by the model file at ${fmtSite(f.suppressed.rule)}: ${f.suppressed.reason}`);
    return lines.join('\n');
  }
  const e = f.entry;
  lines.push('', `   thread 1: ${e.kind === 'thread-root' ? `thread ${shortName(e.function)} (started by ${e.api} at ${fmtSite(e.site)})` : f.deferredRelease ? 'Redis main thread' : `Redis main thread, holding the ${f.lock}`}`);
  const how = e.kind === 'thread-root' ? '' : e.api === 'by name' ? ` (entry point by its name, ${fmtSite(e.site)})` : ` registered with ${e.api}${e.name ? ` ${e.name}` : ''} at ${fmtSite(e.site)}`;
  lines.push(`     ${shortName(e.function)}  — ${e.kind}${how}`);
  for (const h of f.path) lines.push(hopLine(h, '       '));
  if (f.wait) {
    lines.push(`       ⏸ waits: ${f.wait.expression}   at ${fmtSite(f.wait.site)}  (${f.wait.kind}${f.wait.bounded ? ', bounded' : ''}${f.wait.yielding ? ', yields' : ''})`);
    lines.push(`         ${f.wait.evidence}`);
  }
  if (f.call) lines.push(`       ✗ calls ${f.call.api} without the ${f.lock}   at ${fmtSite(f.call.site)}`);
  f.awaited.forEach((a, i) => {
    lines.push('', `   thread ${i + 2}: ${awaitedName(a)} — releases the wait: ${a.releaser.action} in ${shortName(a.releaser.function)} at ${fmtSite(a.releaser.site)}`);
    lines.push(`     ${shortName(a.threadRoot)}${a.mainThread ? `  — registered at ${fmtSite(a.takesLock?.site ?? a.releaser.site)}` : ''}`);
    for (const h of a.pathToReleaser) lines.push(hopLine(h, '       '));
    if (f.deferredRelease) {
      const d = f.deferredRelease;
      lines.push(`       🔒 takes ${d.lock}${d.heldBy.mode === 'exclusive' ? '' : ` (${d.heldBy.mode})`} in ${shortName(d.heldBy.function)} at ${fmtSite(d.heldBy.site)} and never releases it on this thread`);
      lines.push(`     the release runs only in ${shortName(d.releasedIn.function)} (${d.releasedIn.entryKind} callback${d.releasedIn.registeredAt ? `, registered at ${fmtSite(d.releasedIn.registeredAt)}` : ''}) on the main thread, which is blocked in thread 1`);
    } else if (a.mainThread) {
      lines.push(`     Redis runs ${shortName(a.threadRoot)} on its main thread only holding the ${f.lock}: it cannot start while thread 1 holds it`);
    } else if (a.takesLock) {
      lines.push(`     but first it may take the ${f.lock}:`);
      lines.push(`     ${shortName(a.threadRoot)}`);
      for (const h of a.takesLock.path) lines.push(hopLine(h, '       '));
      const retry = a.takesLock.tryLock;
      lines.push(retry
        ? `       ⏸ tries the ${f.lock} at ${fmtSite(a.takesLock.site)} in the loop at ${fmtSite(retry.loop)}, ${retry.why} — spins while thread 1 holds it`
        : `       ⏸ takes the ${f.lock} at ${fmtSite(a.takesLock.site)} — blocked while thread 1 holds it`);
      if (a.takesLock.poolCaveat) lines.push(`     ⚠ ${describePoolCaveat(a.takesLock.poolCaveat, `the ${f.lock}`)}`);
    } else if (a.lockInOtherPools) {
      lines.push(`     it never takes the ${f.lock} before releasing: ${describeOtherPools(a.lockInOtherPools, `the ${f.lock}`)} (${f.lock} taken at ${fmtSite(a.lockInOtherPools.site)})`);
      const reaches = a.lockInOtherPools.waitedPoolReaches;
      if (reaches?.length) lines.push(`     ${a.lockInOtherPools.waitedPools.join(', ')}'s value only reaches: ${reaches.join(', ')}`);
    } else if (a.triesLock) {
      lines.push(`     it never blocks on the ${f.lock} before releasing; it only tries it in ${shortName(a.triesLock.function)} at ${fmtSite(a.triesLock.site)}: ${a.triesLock.why}`);
    } else {
      lines.push(`     it never takes the ${f.lock} before releasing`);
    }
  });
  if (f.wait && !f.awaited.length) lines.push('', '   no thread that releases this wait was found');
  if (f.sequencedAfter.length) {
    lines.push('', '   never runs while the wait blocks (sequenced after it on thread 1):');
    for (const s of f.sequencedAfter.slice(0, 8)) {
      lines.push(`     ${s.macro ? `${s.macro}() → ` : ''}${s.text} at ${fmtSite(s.site)} in ${shortName(s.function)} → ${s.reaches.map(shortName).join(', ')}`);
    }
    if (f.sequencedAfter.length > 8) lines.push(`     … and ${f.sequencedAfter.length - 8} more calls`);
  }
  if (f.alsoThrough?.length) lines.push('', `   the entry also reaches the wait through: ${f.alsoThrough.map(shortName).join(', ')}`);
  if (f.suppressed) lines.push('', `   suppressed by the model file at ${fmtSite(f.suppressed.rule)}: ${f.suppressed.reason}`);
  return lines.join('\n');
}

/**
 * Findings grouped by where they block (a wait, a lock cycle, an API call): lockpath reports one
 * finding per entry point that reaches the place, so a pool drain reached from 35 commands is 35
 * findings, and a reviewer wants the 14 places first.
 */
export function findingsAtAGlance(findings: readonly Finding[]): string[] {
  const groups = new Map<string, { f: Finding; first: number; entries: string[] }>();
  findings.forEach((f, i) => {
    const place = f.wait ? `wait ${fmtSite(f.wait.site)}` : f.call ? `call ${fmtSite(f.call.site)} ${f.call.api}` : `locks ${f.lock}`;
    const key = `${f.class}|${f.suppressed ? 's' : ''}|${place}`;
    const g = groups.get(key) ?? groups.set(key, { f, first: i + 1, entries: [] }).get(key)!;
    g.entries.push(shortName(f.entry.function));
  });
  const rank = (c: Finding['class']) => FINDING_CLASSES.indexOf(c);
  const sorted = [...groups.values()].sort((a, b) => rank(a.f.class) - rank(b.f.class) || b.entries.length - a.entries.length || a.first - b.first);
  const lines = [`at a glance: ${findings.length} findings at ${groups.size} places (one finding per entry point that reaches a place; numbers below are the first finding of each)`];
  for (const { f, first, entries } of sorted) {
    const where = f.wait
      ? `${shortName(f.wait.function)} waits (${f.wait.kind}${f.wait.yielding ? ', yields' : ''}) at ${fmtSite(f.wait.site)}`
      : f.call ? `${shortName(f.call.function)} calls ${f.call.api} at ${fmtSite(f.call.site)}` : f.lock;
    const distinct = [...new Set(entries)];
    const from = distinct.length > 3 ? `${distinct.slice(0, 3).join(', ')} and ${distinct.length - 3} more` : distinct.join(', ');
    lines.push(`  ${`#${first}`.padEnd(5)} ${String(entries.length).padStart(3)} × ${f.class}${f.suppressed ? ' [suppressed]' : ''}  ${where} — from ${from}`);
  }
  return lines;
}

export function findingsToText(findings: readonly Finding[], summary: FindingsSummary): string {
  const parts = findings.map((f, i) => findingToText(f, i + 1));
  // Only worth reading when several findings share a place.
  const glance = findingsAtAGlance(findings);
  if (glance.length - 1 < findings.length) parts.unshift(glance.join('\n'));
  const counts = FINDING_CLASSES.map((c) => `${summary.counts[c]} ${c}`).join(', ');
  parts.push(`${findings.length ? '' : 'no findings\n'}summary: ${counts}${summary.suppressed ? `, ${summary.suppressed} suppressed` : ''} (${summary.waits} waits found, ${summary.contexts} thread contexts; ${summary.locks.locks.length} locks, ${summary.locks.wrappers.length} lock wrappers, ${summary.locks.orderEdges} lock-order facts${summary.locks.cycleSearchTruncated ? '; the lock-cycle search hit its budget, so cycles may be missing' : ''}${summary.deadEnds?.calls ? `; ${summary.deadEnds.calls} calls on the way to an abort or failed exit not followed` : ''})`);
  return parts.join('\n\n');
}
