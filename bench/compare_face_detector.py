#!/usr/bin/python3
"""The YuNet face detector network: pfld's kernels against onnxruntime on the same ONNX file, same
machine, same run, one thread each; and its int8 form (the --int8 ranges): pfld's against pfld's float
and against onnxruntime running the same quantized network (pfld_convert RANGES OUT.onnx: QDQ form).
Prints a table and the ratios.

    /usr/bin/python3 bench/compare_face_detector.py --pfld-bench build/release/bench/pfld_bench \\
        --ort-dir build/ortnode [--fixed weights/face_detection_yunet_2023mar.onnx] \\
        [--dynamic ../shared/models/yunet_s_dynamic.onnx] \\
        [--int8 weights/face_detection_yunet_2023mar-int8.ranges] [--runs 200] [--rounds 3]

Both time the network alone on a ready input (BGR, 0-255): pfld_bench's face_detect_net/WxH, and
onnxruntime-node (npm, CPU) run by Node.js with one intra-op thread (bench/ort_timer.py). The
shipped file (a fixed 640x640 input) is timed at 640x640; the dynamic-size export of the same weights
at 640x480 and 320x256 (320x240 padded to a multiple of 32), each file run by both engines. Needs no
Python package beyond the standard library.
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

def time_pfld(binary, model, width, height, ranges=None):
    """pfld's face_detect_net (float, with the scalar path) or, given int8 ranges, face_detect_net_int8."""
    name = "face_detect_net_int8" if ranges else "face_detect_net"
    isas = "(avx512|avx2|neon)$" if ranges else ""  # (the scalar int8 path takes seconds a run)
    out = subprocess.run([binary, f"--yunet={model}"] + ([f"--yunet-int8={ranges}"] if ranges else []) +
                         [f"--benchmark_filter=^{name}/{width}x{height}/{isas}", "--benchmark_format=json",
                          "--benchmark_min_time=1"],
                         check=True, capture_output=True, text=True)
    rows = {r["name"].split("/")[-1]: r for r in json.loads(out.stdout)["benchmarks"]}
    best = min((r for isa, r in rows.items() if isa != "ref"), key=lambda r: r["median_ms"])
    return {"median_ms": best["median_ms"], "isa": best["label"].split(", ")[-1], "%peak": best["%peak"],
            "ref_ms": rows["ref"]["median_ms"] if "ref" in rows else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pfld-bench", required=True)
    parser.add_argument("--ort-dir", required=True, help="folder with node_modules/onnxruntime-node")
    parser.add_argument("--fixed", default=os.path.join(HERE, "..", "weights", "face_detection_yunet_2023mar.onnx"))
    parser.add_argument("--dynamic", default=os.path.join(HERE, "..", "..", "shared", "models", "yunet_s_dynamic.onnx"))
    parser.add_argument("--int8", default=os.path.join(HERE, "..", "weights", "face_detection_yunet_2023mar-int8.ranges"),
                        help="YuNet's int8 ranges (pfld_convert --quantize); its tensor names are both files'")
    parser.add_argument("--pfld-convert", help="pfld_convert (default: beside pfld_bench, ../examples/)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3,
                        help="engines timed in turn this many times; the ratios are the median of each round's")
    args = parser.parse_args()

    convert = args.pfld_convert or os.path.join(os.path.dirname(os.path.abspath(args.pfld_bench)), "..", "examples",
                                                "pfld_convert")
    work = tempfile.mkdtemp()

    def qdq(model):
        """The int8 network of `model` in QDQ form: the --int8 ranges, their "model" line pointing at it."""
        with open(args.int8) as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("model ")]
        ranges = os.path.join(work, os.path.basename(model) + ".ranges")
        with open(ranges, "w") as f:
            f.write("\n".join(lines[:1] + [f"model {os.path.abspath(model)}"] + lines[1:]) + "\n")
        out = os.path.join(work, os.path.basename(model) + ".qdq.onnx")
        subprocess.run([convert, ranges, out], check=True, capture_output=True)
        return out

    cases = [(args.fixed, 640, 640)]
    if os.path.exists(args.dynamic):
        cases += [(args.dynamic, 640, 480), (args.dynamic, 320, 256)]
    else:
        print(f"{args.dynamic} is absent: only the fixed-size file at 640x640")
    print(f"{'file':32} {'size':8} {'pfld ms':>8} {'onnxruntime ms':>15}   pfld is ... faster   scalar/pfld   % FMA peak"
          f"   {'int8 ms':>8} {'ort int8 ms':>11}  int8: faster than pfld float, than onnxruntime int8")
    for model, width, height in cases:
        # This machine's speed drifts within minutes: the engines take turns, each ratio from one round.
        quantized = qdq(model)
        rounds = []
        for _ in range(args.rounds):
            pfld = time_pfld(args.pfld_bench, model, width, height)
            int8 = time_pfld(args.pfld_bench, model, width, height, args.int8)
            ort = time_onnxruntime(args.ort_dir, model, [1, 3, height, width], args.runs)
            ort8 = time_onnxruntime(args.ort_dir, quantized, [1, 3, height, width], args.runs)
            rounds.append((pfld, ort, int8, ort8))
        int8_vs_float = [p["median_ms"] / i["median_ms"] for p, _, i, _ in rounds]
        int8_vs_ort = [o8["median_ms"] / i["median_ms"] for _, _, i, o8 in rounds]
        int8_ms = statistics.median(i["median_ms"] for _, _, i, _ in rounds)
        ort8_ms = statistics.median(o8["median_ms"] for _, _, _, o8 in rounds)
        rounds = [(p, o) for p, o, _, _ in rounds]
        ratios = [o["median_ms"] / p["median_ms"] for p, o in rounds]
        scalar = [p["ref_ms"] / p["median_ms"] for p, _ in rounds if p["ref_ms"]]
        print(f"{os.path.basename(model):32} {width}x{height:<4} "
              f"{statistics.median(p['median_ms'] for p, _ in rounds):8.3f} "
              f"{statistics.median(o['median_ms'] for _, o in rounds):15.3f}   "
              f"{statistics.median(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)})   "
              f"{statistics.median(scalar) if scalar else float('nan'):.1f}x   "
              f"{statistics.median(p['%peak'] for p, _ in rounds):.1f} ({rounds[0][0]['isa']})   "
              f"{int8_ms:8.3f} {ort8_ms:11.3f}  "
              f"{statistics.median(int8_vs_float):.2f}x ({', '.join(f'{x:.2f}' for x in int8_vs_float)})  "
              f"{statistics.median(int8_vs_ort):.2f}x ({', '.join(f'{x:.2f}' for x in int8_vs_ort)})")


if __name__ == "__main__":
    main()
