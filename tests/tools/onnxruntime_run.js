// Runs an ONNX model with onnxruntime-node on raw float32 inputs; used by the ONNX tests.
//   node onnxruntime_run.js MODULE_DIR MODEL INPUT.bin N C H W OUT_PREFIX
// INPUT.bin holds N x C x H x W float32 (NCHW). Every graph output of every image is appended to
// OUT_PREFIX.<output name>.bin as float32, image by image.
const fs = require('fs');
const [moduleDir, model, inputPath, n, c, h, w, prefix] = process.argv.slice(2);
const ort = require(moduleDir);
(async () => {
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1, executionMode: 'sequential'});
  const all = new Float32Array(fs.readFileSync(inputPath).buffer.slice(0));
  const size = +c * +h * +w;
  for (const name of session.outputNames) fs.writeFileSync(`${prefix}.${name}.bin`, Buffer.alloc(0));
  for (let i = 0; i < +n; ++i) {
    const input = new ort.Tensor('float32', all.slice(i * size, (i + 1) * size), [1, +c, +h, +w]);
    const out = await session.run({[session.inputNames[0]]: input});
    for (const name of session.outputNames)
      fs.appendFileSync(`${prefix}.${name}.bin`, Buffer.from(out[name].data.buffer));
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
