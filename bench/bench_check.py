"""Benchmarks of `python -m review` (numbers to report, not timed tests).

    python bench/bench_check.py [--reps 5] [--growth 1,10,50] [--json FILE]

1. Side by side, interleaved, `--reps` times each:
     floor  python -c "import pulumi, pulumi_cloudflare, pulumiverse_vercel, pulumi_postgresql, pulumi_random"
     check  python -m review check --stack prod --stack preview          (lazy provider SDK imports)
     eager  python -m review check --stack prod --stack preview --eager-imports
   Wall time (median and min), CPU time of the whole process tree (user+sys, policy packs
   included) and peak RSS of the largest process. Target: check <= 1.3 x floor.
2. Growth: one `check` of N pull-request stacks (`--stack pr-1 … --stack pr-N`, each derived
   from stacks/pull_request.yaml) for each N in `--growth`: resources, wall time, CPU time and
   peak RSS, and the per-resource cost. CI checks one PR stack per pull request; this measures
   how far one process stretches.
3. The critical-path length of both stacks (`graph --format json`).
4. The cost of preview semantics: `plan --stack prod` as `pulumi preview` runs it (the default:
   a dry run planned against no state) against `plan --as-deployed` (every output from the
   mocks), interleaved `--reps` times; and one `diff --stack prod --base HEAD`, which now
   evaluates the base revision first and previews the working tree against it.

Results are printed as plain text and written as JSON to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
FLOOR = [PY, "-c", "import pulumi, pulumi_cloudflare, pulumiverse_vercel, pulumi_postgresql, pulumi_random"]
ANSWERS = ["--answers", "stacks/offline-answers.json"]
"""The stand-ins for the secrets the committed stack files lack (as `make check` passes them)."""
CHECK = [PY, "-m", "review", "check", "--stack", "prod", "--stack", "preview", *ANSWERS]


def run_once(cmd: list[str]) -> dict:
    """Run `cmd` once: wall s, CPU s of its process tree (reaped children included), peak RSS, output."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Drain the pipes in threads so a chatty child cannot block, then reap it with wait4 for its rusage.
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream) -> None:
        chunks[name] = stream.read()

    threads = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "code": proc.returncode, "stdout": chunks["out"].decode(errors="replace"),
            "stderr": chunks["err"].decode(errors="replace")}


def summarize(samples: list[dict]) -> dict:
    walls = [s["wall"] for s in samples]
    return {"median": statistics.median(walls), "min": min(walls),
            "cpu_median": statistics.median(s["cpu"] for s in samples),
            "rss_mib": max(s["rss_mib"] for s in samples), "runs": len(samples)}


def side_by_side(reps: int) -> dict:
    cases = {"floor": FLOOR, "check": CHECK, "eager": CHECK + ["--eager-imports"]}
    samples: dict[str, list[dict]] = {k: [] for k in cases}
    run_once(FLOOR)  # warm the page cache once
    for i in range(reps):
        order = list(cases) if i % 2 == 0 else list(reversed(cases))
        for name in order:
            result = run_once(cases[name])
            if result["code"] != 0:
                raise SystemExit(f"{name} failed ({result['code']}):\n{result['stderr'][-2000:]}")
            samples[name].append(result)
    return {k: summarize(v) for k, v in samples.items()}


def growth(ns: list[int], reps: int) -> list[dict]:
    rows = []
    for n in ns:
        cmd = [PY, "-m", "review", "check", "--format", "json", *ANSWERS]
        for i in range(1, n + 1):
            cmd += ["--stack", f"pr-{i}"]
        samples = []
        for _ in range(reps):
            result = run_once(cmd)
            if result["code"] not in (0, 1):
                raise SystemExit(f"growth N={n} failed ({result['code']}):\n{result['stderr'][-2000:]}")
            samples.append(result)
        stacks = json.loads(samples[0]["stdout"])["stacks"]
        row = {"n": n, "resources": sum(r["resources"] for r in stacks),
               "mandatory": sum(r["mandatory"] for r in stacks), **summarize(samples)}
        rows.append(row)
    return rows


def critical_paths() -> dict:
    out = {}
    for stack in ("prod", "preview"):
        result = run_once([PY, "-m", "review", "graph", "--stack", stack, "--format", "json", *ANSWERS])
        data = json.loads(result["stdout"])
        out[stack] = {"length": data["criticalPathLength"], "custom": data["criticalPathCustom"],
                      "resources": data["resources"], "widths": data["widths"]}
    return out


def preview_cost(reps: int) -> dict:
    plan = [PY, "-m", "review", "plan", "--stack", "prod", "--format", "json", *ANSWERS]
    cases = {"preview": plan, "as-deployed": plan + ["--as-deployed"]}
    samples: dict[str, list[dict]] = {k: [] for k in cases}
    for i in range(reps):
        for name in (list(cases) if i % 2 == 0 else list(reversed(cases))):
            result = run_once(cases[name])
            if result["code"] != 0:
                raise SystemExit(f"plan {name} failed ({result['code']}):\n{result['stderr'][-2000:]}")
            samples[name].append(result)
    out = {k: summarize(v) for k, v in samples.items()}
    unknown = json.loads(samples["preview"][0]["stdout"])
    out["unknown_values"] = json.dumps(unknown).count("04da6b54-80e4-46f7-96ec-b56ff0331ba9")
    diff = [run_once([PY, "-m", "review", "diff", "--stack", "prod", "--base", "HEAD", *ANSWERS]) for _ in range(2)]
    out["diff"] = summarize(diff)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--growth", default="1,10,50", help="N values for the growth benchmark")
    parser.add_argument("--growth-reps", type=int, default=2, help="runs per N (default 2)")
    parser.add_argument("--json", default=None, help="results file (default bench/results/<time>.json)")
    args = parser.parse_args()

    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg()}
    print(f"python {info['python']} on {info['machine']}, {info['cpus']} CPUs, load {info['loadavg_before']}")

    sbs = side_by_side(args.reps)
    floor = sbs["floor"]
    print(f"\n1. check of both stacks vs importing the provider SDKs ({args.reps} interleaved runs each)")
    print(f"   {'case':<8}{'median s':>10}{'min s':>8}{'cpu s':>8}{'peak MiB':>10}{'x floor (median/min)':>24}")
    for name, s in sbs.items():
        ratio = f"{s['median'] / floor['median']:.2f} / {s['min'] / floor['min']:.2f}"
        print(f"   {name:<8}{s['median']:>10.2f}{s['min']:>8.2f}{s['cpu_median']:>8.2f}{s['rss_mib']:>10.0f}"
              f"{ratio:>24}")

    ns = [int(x) for x in args.growth.split(",") if x]
    rows = growth(ns, args.growth_reps)
    print(f"\n2. growth: one check of N pull-request stacks pr-1..pr-N ({args.growth_reps} runs each)")
    print(f"   {'N':>4}{'resources':>11}{'median s':>10}{'cpu s':>8}{'peak MiB':>10}"
          f"{'ms/resource over N=' + str(ns[0]):>24}")
    base = rows[0]
    for r in rows:
        extra = r["resources"] - base["resources"]
        per = f"{1000 * (r['median'] - base['median']) / extra:.1f}" if extra else "-"
        print(f"   {r['n']:>4}{r['resources']:>11}{r['median']:>10.2f}{r['cpu_median']:>8.2f}{r['rss_mib']:>10.0f}"
              f"{per:>24}")

    cps = critical_paths()
    print("\n3. critical path (longest dependency chain, resources incl. the root stack)")
    for stack, c in cps.items():
        print(f"   {stack:<8} {c['length']} resources ({c['custom']} custom) of {c['resources']}; "
              f"resources per step {c['widths']}")

    cost = preview_cost(args.reps)
    print(f"\n4. preview semantics ({args.reps} interleaved runs of plan --stack prod each; diff twice)")
    for name in ("preview", "as-deployed", "diff"):
        c = cost[name]
        print(f"   {name:<12}{c['median']:>8.2f} s median{c['min']:>8.2f} s min{c['cpu_median']:>8.2f} s cpu"
              f"{c['rss_mib']:>8.0f} MiB")
    print(f"   unknown values in prod's preview manifest: {cost['unknown_values']}")

    info["loadavg_after"] = os.getloadavg()
    results = {"info": info, "side_by_side": sbs, "growth": rows, "critical_paths": cps, "preview_cost": cost}
    path = Path(args.json) if args.json else ROOT / "bench" / "results" / f"check-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
