#!/usr/bin/python3
"""int8 PFLD: pfld's int8 network against its float32 one and against onnxruntime running the same
quantized network (the int8 model exported in QDQ form, which onnxruntime runs on its QLinearConv
kernels), one face, one thread, same machine, same run.

    /usr/bin/python3 bench/compare_int8.py --build build/release --ort-dir DIR --data DIR \\
        [--weights-0.25x FILE.pfld] [--weights-1x FILE.pfld] [--runs 500] [--rounds 3]

For each width: pfld_convert --quantize --data DIR makes the int8 model (default weights: the shipped
ones), pfld_convert exports it and the float model to ONNX, then pfld_bench (infer/ and infer_int8/ on
the best ISA) and onnxruntime (ort_timer.py: onnxruntime-node, one thread) take turns for --rounds
rounds; each ratio is the median over the rounds of that round's ratio. Needs no PyTorch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ort_timer import time_onnxruntime  # noqa: E402


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def time_pfld(bench, width, float_path, int8_path):
    name = "0.25X" if width == 0.25 else "1X"
    flag = "0.25x" if width == 0.25 else "1x"
    out = run(bench, f"--benchmark_filter=^infer(_int8)?/{name}/(avx512|avx2|neon)/", "--benchmark_format=json",
              f"--weights-{flag}={float_path}", f"--int8-{flag}={int8_path}")
    rows = json.loads(out)["benchmarks"]
    result = {}
    for kind in ("infer/", "infer_int8/"):
        best = min((r for r in rows if r["name"].startswith(kind)), key=lambda r: r["median_ms"])
        result[kind] = best
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="the build folder (bench/pfld_bench, examples/pfld_convert)")
    parser.add_argument("--ort-dir", required=True, help="folder with node_modules/onnxruntime-node")
    parser.add_argument("--data", required=True, help="calibration faces (a folder of images with .pts files)")
    parser.add_argument("--weights-0.25x", dest="w025", default=os.path.join(HERE, "..", "weights", "pfld-0.25x-68.pfld"))
    parser.add_argument("--weights-1x", dest="w1", default=os.path.join(HERE, "..", "weights", "pfld-1x-68.pfld"))
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bench = os.path.join(args.build, "bench", "pfld_bench")
    convert = os.path.join(args.build, "examples", "pfld_convert")
    folder = tempfile.mkdtemp()

    print(f"{'model':6} {'engine':20} {'median ms':>10} {'p90 ms':>8}   pfld int8 is ... faster")
    for width, weights in ((0.25, args.w025), (1.0, args.w1)):
        tag = "0.25X" if width == 0.25 else "1X"
        int8 = os.path.join(folder, f"{tag}-int8.pfld")
        run(convert, "--quantize", "--data", args.data, weights, int8)
        onnx_float, onnx_int8 = os.path.join(folder, f"{tag}.onnx"), os.path.join(folder, f"{tag}-int8.onnx")
        run(convert, weights, onnx_float)
        run(convert, int8, onnx_int8)
        rounds = []
        for _ in range(args.rounds):
            pfld = time_pfld(bench, width, weights, int8)
            rounds.append({
                "pfld int8 " + pfld["infer_int8/"]["label"]: pfld["infer_int8/"],
                "pfld float32": pfld["infer/"],
                "onnxruntime int8": time_onnxruntime(args.ort_dir, onnx_int8, [1, 3, 112, 112], args.runs, scale=1.0 / 256),
                "onnxruntime float32": time_onnxruntime(args.ort_dir, onnx_float, [1, 3, 112, 112], args.runs, scale=1.0 / 256),
            })
        engines = list(rounds[0].keys())
        for e in engines:
            median = statistics.median(r[e]["median_ms"] for r in rounds)
            p90 = statistics.median(r[e]["p90_ms"] for r in rounds)
            ratios = [r[e]["median_ms"] / r[engines[0]]["median_ms"] for r in rounds]
            ratio = "" if e == engines[0] else f"{statistics.median(ratios):.2f}x  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})"
            print(f"{tag:6} {e:20} {median:10.3f} {p90:8.3f}   {ratio}")
        vnni = [r[engines[0]].get("%vnni_peak") for r in rounds]
        if all(v is not None for v in vnni):
            print(f"{tag:6} pfld int8: {statistics.median(vnni):.1f} % of the VNNI peak, "
                  f"{statistics.median(r[engines[0]]['%peak'] for r in rounds):.1f} % of the FMA peak (ops counted as the float network's)")


if __name__ == "__main__":
    main()
