#!/usr/bin/python3
"""Data-parallel training throughput: pfld_train in one process against N ranks under mpirun, one
compute thread each, same global batch, same machine, same run.

    /usr/bin/python3 bench/compare_distributed.py --train build/release/examples/pfld_train \\
        --data ../shared/data/300w/train [--ranks 2] [--width 0.25] [--batch 64] [--epochs 2] [--rounds 3]

Each round runs the single process, then N ranks with synchronised batch norm (--replica-bn sync), then
N ranks with local batch norm (the default), then N independent processes at once without MPI, each on --batch / N
(the machine's own ceiling: what sharing its cores, caches and memory costs with no communication); the
figure of a run is the images per second of its last epoch (as pfld_train's progress line reports it:
global images over that epoch's wall time, image loading not counted), summed over the independent
processes. Ratios are per round, their median printed. pfld_train must be built with MPI.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile


def last_rate(command, stderr):
    rates = re.findall(r"step (\d+)/(\d+)\s+loss \S+\s+(\d+) img/s", stderr.replace("\r", "\n"))
    last = [float(rate) for step, steps, rate in rates if step == steps]
    if not last:
        sys.exit("no progress line in the output of " + " ".join(command))
    return last[-1]


def images_per_second(command, env):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit("failed: " + " ".join(command) + "\n" + result.stderr[-2000:])
    return last_rate(command, result.stderr)


def independent_images_per_second(commands, env):
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env) for c in commands]
    total = 0.0
    for command, process in zip(commands, processes):
        _, stderr = process.communicate()
        if process.returncode != 0:
            sys.exit("failed: " + " ".join(command) + "\n" + stderr[-2000:])
        total += last_rate(command, stderr)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--width", default="0.25")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory() as tmp:
        def options(batch, out):
            return ["--data", args.data, "--width", args.width, "--batch", str(batch), "--epochs", str(args.epochs),
                    "--threads", "1", "--warmup-epochs", "0", "--out", out]
        common = options(args.batch, tmp)
        ranks = [args.mpirun, "-np", str(args.ranks), args.train]
        runs = {"1 process": [], "sync": [], "local": [], "apart": []}
        apart = [[args.train] + options(args.batch // args.ranks, os.path.join(tmp, f"apart{r}")) + ["--seed", str(1 + r)]
                 for r in range(args.ranks)]
        for _ in range(args.rounds):
            runs["1 process"].append(images_per_second([args.train] + common, env))
            runs["sync"].append(images_per_second(ranks + common + ["--replica-bn", "sync"], env))
            runs["local"].append(images_per_second(ranks + common + ["--replica-bn", "local"], env))
            runs["apart"].append(independent_images_per_second(apart, env))
    print(f"pfld_train {args.width}X, global batch {args.batch}, one compute thread a process, {args.rounds} rounds")
    print(f"{'run':<34} {'median img/s':>12}   vs 1 process (per round)")
    print(f"{'1 process':<34} {statistics.median(runs['1 process']):>12.0f}")
    for mode, label in (("sync", f"{args.ranks} ranks, synchronised batch norm"), ("local", f"{args.ranks} ranks, local batch norm"),
                        ("apart", f"{args.ranks} processes apart, no MPI")):
        ratios = [r / s for r, s in zip(runs[mode], runs["1 process"])]
        print(f"{label:<34} {statistics.median(runs[mode]):>12.0f}   "
              f"{statistics.median(ratios):.2f}x ({', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
