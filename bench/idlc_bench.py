#!/usr/bin/env python3
"""Time shade-idlc on a generated IDL file (doc/performance.md).

usage: bench/idlc_bench.py [LINES] [RUNS]

Generates LINES lines of IDL with bench/gen_idl.py (default 10000), then
runs `shade-idlc --check` and a full generation RUNS times (default 21)
and prints the median CPU time (user + system of shade-idlc and the
preprocessor it runs) and the fastest wall time of each.  CPU time is
the figure to compare: wall time moves with the load of the machine.
Run from the top of the tree after `make`; SHADE_BUILD picks the build.
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def measure(args, runs):
    cpu, wall = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        rc = subprocess.run(args, stdout=subprocess.DEVNULL).returncode
        wall.append((time.perf_counter() - t0) * 1000)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if rc != 0:
            sys.exit("%s failed (%d)" % (" ".join(args), rc))
        cpu.append(((r1.ru_utime - r0.ru_utime) +
                    (r1.ru_stime - r0.ru_stime)) * 1000)
    return statistics.median(cpu), min(wall)


def main():
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 21
    build = os.environ.get("SHADE_BUILD", "build")
    idlc = os.path.join(build, "bin", "shade-idlc")
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "big.idl")
        with open(src, "w") as f:
            subprocess.run([sys.executable, os.path.join(here, "gen_idl.py"),
                            str(lines)], stdout=f, check=True)
        n = sum(1 for _ in open(src))
        for name, args in (("check", [idlc, "--check", src]),
                           ("generate", [idlc, "-o", tmp, src])):
            cpu, wall = measure(args, runs)
            print("idlc %-8s %6d lines: cpu %6.1f ms (median), "
                  "wall %6.1f ms (best)" % (name, n, cpu, wall))
        out = sum(os.path.getsize(os.path.join(tmp, "big." + e))
                  for e in ("h", "c"))
        print("idlc output: %.1f MB of C" % (out / 1e6))


if __name__ == "__main__":
    main()
