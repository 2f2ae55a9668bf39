#!/usr/bin/env python3
"""Per-thread CPU time of one command (Linux): where a multi-threaded analysis spends its CPU.

  python3 scripts/thread-cpu.py node bin/lockpath.js stats <dir> --format json

Runs the command, samples /proc/<pid>/task/*/stat every 5 ms until it exits, and prints the CPU
time (user + system) of its busiest threads: for lockpath, the main thread, the extraction worker,
and V8's helper threads (garbage collection, background compilation) taken together. When the
command prints lockpath's JSON stats, their analysisMs (wall time) is printed too.
"""
import json
import os
import subprocess
import sys
import threading
import time

if len(sys.argv) < 2:
    sys.exit(__doc__)
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out = []
reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))
reader.start()
ticks = os.sysconf('SC_CLK_TCK')
cpu = {}
while proc.poll() is None:
    try:
        tids = os.listdir(f'/proc/{proc.pid}/task')
    except OSError:
        break
    for tid in tids:
        try:
            with open(f'/proc/{proc.pid}/task/{tid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            cpu[tid] = (int(fields[11]) + int(fields[12])) * 1000 // ticks
        except (OSError, IndexError, ValueError):
            pass
    time.sleep(0.005)
reader.join()
times = sorted(cpu.values(), reverse=True)
wall = '?'
try:
    wall = json.loads(out[0])['stats']['analysisMs']
except (ValueError, KeyError, IndexError, TypeError):
    pass
first = times[0] if times else 0
second = times[1] if len(times) > 1 else 0
print(f'analysisMs {wall} | busiest thread {first} ms, second {second} ms, the other {len(times) - 2 if len(times) > 2 else 0} threads {sum(times[2:])} ms, total {sum(times)} ms CPU')
sys.exit(proc.returncode or 0)
