#!/usr/bin/env python3
"""Time shade-idlc on a generated IDL file and size its output
(doc/performance.md).

usage: bench/idlc_bench.py [LINES] [RUNS]

Generates LINES lines of IDL with bench/gen_idl.py (default 10000), then
runs `shade-idlc --check` and a full generation RUNS times (default 21)
and prints the median CPU time (user + system of shade-idlc and the
preprocessor it runs) and the fastest wall time of each.  CPU time is
the figure to compare: wall time moves with the load of the machine.

Then the generated code: its size (FILE.h + FILE.c; with --no-tables
too, every codec and stub as code) and the CPU time of
compiling FILE.c with `cc -O0`, beside omniidl's C++ back end on the same
file in the same run (its size, its own time, and `c++ -O0` on its
skeleton file when the omniORB headers are installed), each with its
goal: no larger, no slower to compile.  COMPILE_RUNS (default 1) sets
how many compilations of each are timed (the fastest counts).  omniidl
is Debian's omniidl package, the headers libomniorb4-dev; without them
those figures are n/a.

Run from the top of the tree after `make`; SHADE_BUILD picks the build.
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def measure(args, runs, cwd=None):
    cpu, wall = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        rc = subprocess.run(args, stdout=subprocess.DEVNULL,
                            cwd=cwd).returncode
        wall.append((time.perf_counter() - t0) * 1000)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if rc != 0:
            return None, None
        cpu.append(((r1.ru_utime - r0.ru_utime) +
                    (r1.ru_stime - r0.ru_stime)) * 1000)
    return statistics.median(cpu), min(wall)


def size(tmp, names):
    return sum(os.path.getsize(os.path.join(tmp, n)) for n in names)


def compile_cpu(args, runs, cwd):
    """The fastest CPU time of `runs` compilations, in seconds."""
    best = None
    for _ in range(runs):
        cpu, _ = measure(args, 1, cwd)
        if cpu is None:
            return None
        best = cpu if best is None else min(best, cpu)
    return best / 1000


def figure(name, value, unit, goal=None, note=""):
    line = "bench %s %s %s" % (name, value, unit)
    if goal:
        line += " (goal %s)" % goal
    if note:
        line += " [%s]" % note
    print(line)


def na(name, why):
    print("bench %s n/a (%s)" % (name, why))


def main():
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 21
    cruns = int(os.environ.get("COMPILE_RUNS", "1"))
    build = os.environ.get("SHADE_BUILD", "build")
    idlc = os.path.join(build, "bin", "shade-idlc")
    here = os.path.dirname(os.path.abspath(__file__))
    include = os.path.join(os.path.dirname(here), "runtime", "include")
    cc = os.environ.get("CC", "cc")
    cxx = os.environ.get("CXX", "c++")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "big.idl")
        with open(src, "w") as f:
            subprocess.run([sys.executable, os.path.join(here, "gen_idl.py"),
                            str(lines)], stdout=f, check=True)
        n = sum(1 for _ in open(src))
        for name, args in (("check", [idlc, "--check", src]),
                           ("generate", [idlc, "-o", tmp, src])):
            cpu, wall = measure(args, runs)
            if cpu is None:
                sys.exit("%s failed" % " ".join(args))
            print("idlc %-8s %6d lines: cpu %6.1f ms (median), "
                  "wall %6.1f ms (best)" % (name, n, cpu, wall))
        ours = size(tmp, ("big.h", "big.c"))
        cdir = os.path.join(tmp, "code")
        code = None
        if subprocess.run([idlc, "--no-tables", "-o", cdir, src]).returncode == 0:
            code = size(cdir, ("big.h", "big.c"))
        ours_cc = compile_cpu([cc, "-O0", "-c", "-I", include, "-I", tmp,
                               "big.c", "-o", "big.o"], cruns, tmp)

        omni = shutil.which("omniidl")
        theirs = theirs_cc = None
        why = "omniidl not installed (Debian package omniidl)"
        if omni:
            odir = os.path.join(tmp, "omni")
            os.mkdir(odir)
            cpu, wall = measure([omni, "-bcxx", "-C", odir, src], 1)
            if cpu is None:
                why = "omniidl -bcxx failed"
            else:
                print("omniidl -bcxx %6d lines: cpu %6.1f ms, wall %6.1f ms"
                      % (n, cpu, wall))
                theirs = size(odir, ("big.hh", "bigSK.cc"))
                if os.path.exists("/usr/include/omniORB4/CORBA.h"):
                    theirs_cc = compile_cpu([cxx, "-O0", "-c", "bigSK.cc",
                                             "-o", "bigSK.o"], cruns, odir)
                    why = "c++ -O0 bigSK.cc failed"
                else:
                    why = ("omniORB headers not installed "
                           "(Debian package libomniorb4-dev)")

        print("idlc output: %.1f MB of C" % (ours / 1e6))
        goal = "<= omniidl's %.1f MB" % (theirs / 1e6) if theirs else None
        figure("idlc.output_mb", "%.2f" % (ours / 1e6), "MB", goal,
               "%d lines: FILE.h + FILE.c" % n)
        if code:
            figure("idlc.output_mb.no_tables", "%.2f" % (code / 1e6), "MB",
                   note="--no-tables: every codec and stub as code")
        if theirs:
            figure("idlc.omniidl_output_mb", "%.2f" % (theirs / 1e6), "MB",
                   note="omniidl -bcxx: FILE.hh + FILESK.cc")
            figure("ratio.idlc_output_vs_omniidl", "%.2f" % (ours / theirs),
                   "x", "<= 1")
        else:
            na("idlc.omniidl_output_mb", why)
        if ours_cc is None:
            na("idlc.compile_s", "cc -O0 big.c failed")
        else:
            figure("idlc.compile_s", "%.1f" % ours_cc, "s",
                   "<= omniidl's" if theirs_cc else None,
                   "cc -O0 -c FILE.c, CPU, best of %d" % cruns)
        if theirs_cc is None:
            na("idlc.omniidl_compile_s", why)
        else:
            figure("idlc.omniidl_compile_s", "%.1f" % theirs_cc, "s",
                   note="c++ -O0 -c FILESK.cc, CPU, best of %d" % cruns)
            if ours_cc is not None:
                figure("ratio.idlc_compile_vs_omniidl",
                       "%.2f" % (ours_cc / theirs_cc), "x", "<= 1")


if __name__ == "__main__":
    main()
