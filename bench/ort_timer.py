"""onnxruntime's single-thread latency for one ONNX file, as the comparison scripts measure it: the npm
package onnxruntime-node (CPU) run by Node.js, one intra-op thread, all graph optimisations, a fixed
input, 10 warm-up runs, then the median and 90th percentile of `runs` timed runs."""
import json
import os
import subprocess
import tempfile

NODE_TIMER = r"""
const ort = require(process.argv[2]);
const [model, runs, scale] = [process.argv[3], +process.argv[4], +process.argv[5]];
const shape = process.argv.slice(6).map(Number);
(async () => {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all'});
  const size = shape.reduce((a, b) => a * b, 1);
  const input = new ort.Tensor('float32', new Float32Array(size).map((_, i) => ((i * 7919) % 256) * scale), shape);
  const feeds = {[session.inputNames[0]]: input};
  for (let i = 0; i < 10; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: ms[Math.floor(runs / 2)], p90_ms: ms[Math.floor(runs * 0.9)]}));
})();
"""


def time_onnxruntime(ort_dir, model, shape, runs, scale=1.0):
    """{"median_ms", "p90_ms"} for `model` on an input of `shape` (NCHW) holding (i * 7919 % 256) * scale."""
    script = os.path.join(tempfile.mkdtemp(), "time_ort.js")
    with open(script, "w") as f:
        f.write(NODE_TIMER)
    module = os.path.join(os.path.abspath(ort_dir), "node_modules", "onnxruntime-node")
    out = subprocess.run(["node", script, module, model, str(runs), str(scale), *map(str, shape)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
