// Preloaded into the benchmark's child processes (`node --require`): reports the process's CPU
// time (all threads) on stderr at exit, so a run on a shared machine can be told apart from
// the work it did. Output: one line `lockpath-bench-cpu {"ms":N}`.
'use strict';
process.on('exit', () => {
  const u = process.cpuUsage();
  process.stderr.write(`\nlockpath-bench-cpu ${JSON.stringify({ ms: Math.round((u.user + u.system) / 1000) })}\n`);
});
