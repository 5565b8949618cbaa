// ONNX Runtime side of bench_vs_ort.py: times one model, writes its output.
// usage: node ort_bench.js MODEL.onnx THREADS ITERATIONS INPUT.f32 W H OUT.f32 [OPTIMIZED.onnx]
// OPTIMIZED.onnx: where ORT writes the graph it runs after its optimisations
// (level 'all'), e.g. to see that a QDQ model became QLinearConv nodes.
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, threads, iterations, inputPath, w, h, outPath, optimized] = process.argv.slice(2);
  const options = {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (optimized) options.optimizedModelFilePath = optimized;
  const session = await ort.InferenceSession.create(model, options);
  const raw = fs.readFileSync(inputPath);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, Number(h), Number(w)]) };
  let out;
  for (let i = 0; i < 3; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(iterations); i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const n = times.length;
  const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  const first = out[session.outputNames[0]].data;
  fs.writeFileSync(outPath, Buffer.from(first.buffer, first.byteOffset, first.byteLength));
  console.log(JSON.stringify({ median_ms: median, min_ms: times[0], iterations: n }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
