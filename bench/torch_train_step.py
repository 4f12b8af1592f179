#!/usr/bin/python3
"""PFLD training throughput in PyTorch against pfld, same architecture, batch, threads, machine and run.

    /usr/bin/python3 bench/torch_train_step.py [--pfld-bench build/release/bench/pfld_bench] [--width 0.25]
                                               [--threads 2] [--batch 64] [--steps 5]

The step is the one pfld_bench's train_step measures: backbone + auxiliary net forward, the full PFLD loss,
backward, AdamW update, in float32 with BN in training mode. The model definition is the one the parity
fixtures use (tests/fixtures/make_model_fixtures.py). Needs Debian's python3-torch; prints a ratio when
the pfld benchmark binary is given.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_model_fixtures import AuxNet, PfldNet, pfld_loss  # noqa: E402


def torch_images_per_second(width, threads, batch, steps):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net, aux = PfldNet(width, 68), AuxNet(max(1, round(64 * width)))
    params = list(net.parameters()) + list(aux.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    images = torch.rand(batch, 3, 112, 112)
    target = torch.rand(batch, 136) * 0.6 + 0.2
    pose = (torch.rand(batch, 3) - 0.5) * 0.6
    attributes = torch.zeros(batch, 5)
    attributes[torch.arange(batch), torch.arange(batch) % 5] = 1
    weights = torch.tensor([2.0, 2.0, 40.0, 3.0, 7.0])

    def step():
        opt.zero_grad()
        landmarks, features = net(images)
        loss = pfld_loss(landmarks, target, aux(features), pose, attributes, weights)
        loss.backward()
        opt.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def pfld_images_per_second(binary, width, threads):
    name = f"train_step/{'1X' if width == 1 else '0.25X'}/batch64/threads:{threads}"
    out = subprocess.run([binary, f"--benchmark_filter=^{name}", "--benchmark_format=json"], check=True,
                         capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    return runs[0]["images/s"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pfld-bench", help="path of pfld_bench, to measure pfld in the same run")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    if a.pfld_bench and a.batch != 64:
        p.error("pfld_bench measures batch 64: compare with --batch 64")
    torch.set_default_dtype(torch.float32)
    theirs = torch_images_per_second(a.width, a.threads, a.batch, a.steps)
    print(f"PyTorch {torch.__version__}: PFLD {a.width}X, batch {a.batch}, {a.threads} thread(s): {theirs:.1f} images/s")
    if a.pfld_bench:
        ours = pfld_images_per_second(a.pfld_bench, a.width, a.threads)
        print(f"pfld: {ours:.1f} images/s  ->  pfld / PyTorch = {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
