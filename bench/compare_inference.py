#!/usr/bin/python3
"""Single-face PFLD inference latency: pfld against onnxruntime and PyTorch, same weights, same machine,
same run, one thread each. Prints a table and the ratios.

    /usr/bin/python3 bench/compare_inference.py --pfld-bench build/release/bench/pfld_bench \\
        [--ort-dir DIR] [--weights-0.25x FILE.pfld] [--weights-1x FILE.pfld] [--onnx FILE.onnx] [--runs 500] [--rounds 3]

Without weights files, both widths start from the same random weights (with non-trivial batch-norm
statistics), written once as .pfld for pfld and exported to ONNX (opset 11) from the PyTorch model
of tests/fixtures/make_model_fixtures.py for the others. onnxruntime is the npm package
onnxruntime-node, run by Node.js; --ort-dir is the folder whose node_modules holds it, installed with
    ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node
Needs Debian's python3-torch. All three time the network alone on a ready 1x112x112x3 input. With --onnx, also a third-party ONNX model
imported into pfld (GraphNet) against onnxruntime running the same file.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
sys.path.insert(0, HERE)
import pfld_file  # noqa: E402
from ort_timer import time_onnxruntime  # noqa: E402
from make_model_fixtures import PfldNet  # noqa: E402

class LandmarksOnly(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def model_for(width, weights):
    if weights:
        f = pfld_file.read(weights)
        net = PfldNet(f["config"]["width"], f["config"]["landmarks"])
        pfld_file.to_torch(net, f["tensors"])
        return net.eval(), weights
    torch.manual_seed(1)
    net = PfldNet(width, 68)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = os.path.join(tempfile.mkdtemp(), f"pfld-{width}x.pfld")
    pfld_file.write(path, {"width": width, "landmarks": 68}, pfld_file.from_torch(net))
    return net.eval(), path


def time_torch(net, runs):
    torch.set_num_threads(1)
    x = torch.rand(1, 3, 112, 112)
    with torch.no_grad():
        model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(LandmarksOnly(net).eval(), x)))
        for _ in range(50):
            model(x)
        ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return {"median_ms": ms[runs // 2], "p90_ms": ms[int(runs * 0.9)]}


def time_ort(net, ort_dir, runs, onnx_path=None):
    folder = tempfile.mkdtemp()
    if onnx_path is None:
        onnx_path = os.path.join(folder, "pfld.onnx")
        torch.onnx.export(LandmarksOnly(net), torch.rand(1, 3, 112, 112), onnx_path, opset_version=11,
                          input_names=["image"], output_names=["landmarks"])
    return time_onnxruntime(ort_dir, onnx_path, [1, 3, 112, 112], runs, scale=1.0 / 256)


def time_pfld(binary, weights_args, width):
    name = "0.25X" if width == 0.25 else "1X"
    out = subprocess.run([binary, f"--benchmark_filter=^infer/{name}/(avx512|avx2|neon)", "--benchmark_format=json",
                          *weights_args], check=True, capture_output=True, text=True)
    rows = json.loads(out.stdout)["benchmarks"]
    best = min(rows, key=lambda r: r["median_ms"])
    return {"median_ms": best["median_ms"], "p90_ms": best["p90_ms"], "isa": best["label"],
            "%peak": best["%peak"], "GFLOP/s": best["GFLOP/s"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pfld-bench", required=True)
    parser.add_argument("--ort-dir", help="folder with node_modules/onnxruntime-node")
    parser.add_argument("--weights-0.25x", dest="w025")
    parser.add_argument("--weights-1x", dest="w1")
    parser.add_argument("--onnx", help="a third-party ONNX model to time in pfld and onnxruntime")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3,
                        help="engines timed in turn this many times; the ratios are the median of each round's")
    args = parser.parse_args()

    nets = {0.25: model_for(0.25, args.w025), 1.0: model_for(1.0, args.w1)}
    weights_args = [f"--weights-0.25x={nets[0.25][1]}", f"--weights-1x={nets[1.0][1]}"]
    print(f"{'model':8} {'engine':14} {'median ms':>10} {'p90 ms':>8}   pfld is ... faster")
    for width, (net, _) in nets.items():
        name = "0.25X/68" if width == 0.25 else "1X/68"
        # This machine's speed drifts within minutes: the engines take turns, and each ratio is paired
        # with the pfld time of its own round.
        rounds = []
        for _ in range(args.rounds):
            pfld = time_pfld(args.pfld_bench, weights_args, width)
            results = [("pfld " + pfld["isa"], pfld)]
            if args.ort_dir:
                results.append(("onnxruntime", time_ort(net, args.ort_dir, args.runs)))
            results.append(("pytorch jit", time_torch(net, args.runs)))
            rounds.append(results)
        for e, (engine, _) in enumerate(rounds[0]):
            median = statistics.median(r[e][1]["median_ms"] for r in rounds)
            p90 = statistics.median(r[e][1]["p90_ms"] for r in rounds)
            ratios = [r[e][1]["median_ms"] / r[0][1]["median_ms"] for r in rounds]
            ratio = "" if e == 0 else f"{statistics.median(ratios):.2f}x  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})"
            print(f"{name:8} {engine:14} {median:10.3f} {p90:8.3f}   {ratio}")
        peaks = [r[0][1]["%peak"] for r in rounds]
        print(f"{name:8} pfld: {statistics.median(r[0][1]['GFLOP/s'] for r in rounds):.1f} GFLOP/s = "
              f"{statistics.median(peaks):.1f} % of the FMA peak measured in the same benchmark run "
              f"(rounds: {', '.join(f'{x:.1f}' for x in peaks)})")
    if args.onnx and args.ort_dir:
        out = subprocess.run([args.pfld_bench, f"--onnx={args.onnx}", "--benchmark_filter=^infer_onnx/",
                              "--benchmark_format=json"], check=True, capture_output=True, text=True)
        best = min(json.loads(out.stdout)["benchmarks"], key=lambda r: r["median_ms"])
        ort = time_ort(None, args.ort_dir, args.runs, onnx_path=args.onnx)
        name = os.path.basename(args.onnx)
        print(f"{name}: pfld {best['label']} {best['median_ms']:.3f} ms (p90 {best['p90_ms']:.3f}), "
              f"onnxruntime {ort['median_ms']:.3f} ms (p90 {ort['p90_ms']:.3f}): pfld is {ort['median_ms'] / best['median_ms']:.2f}x faster")


if __name__ == "__main__":
    main()
