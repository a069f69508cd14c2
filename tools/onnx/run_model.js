#!/usr/bin/env node
// Runs an ONNX file under ONNX Runtime (CPU) on one float32 input batch and writes every graph
// output: lowbit's ONNX export tests and `lowbit` compare them with the C++ integer reference.
//
//   node run_model.js --model M.onnx --input in.f32 --shape 5,33 --out DIR
//                     [--optimize disabled|basic|extended|all] [--threads 1]
//
// in.f32 holds the input tensor's float32 values (little endian, row-major, `--shape` elements).
// DIR gets <k>.bin (the k-th output's raw little-endian values) and outputs.json:
// {"outputs": [{"name", "type", "dims", "file"}], "optimize", "ort_version"}.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`run_model.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = {optimize: 'disabled', threads: 1};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) fail(`bad argument '${key}'`);
    args[key.slice(2)] = value;
  }
  for (const required of ['model', 'input', 'shape', 'out']) {
    if (!(required in args)) fail(`missing --${required}`);
  }
  if (!['disabled', 'basic', 'extended', 'all'].includes(args.optimize)) {
    fail(`--optimize must be disabled, basic, extended or all, got '${args.optimize}'`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (error) {
    fail(`onnxruntime-node is not installed next to this script (npm ci --ignore-scripts in ` +
         `${__dirname}): ${error.message}`);
  }
  const dims = args.shape.split(',').map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) fail(`bad --shape '${args.shape}'`);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = fs.readFileSync(args.input);
  if (raw.length !== count * 4) {
    fail(`${args.input} holds ${raw.length} bytes, expected ${count * 4} (float32 x ${args.shape})`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = raw.readFloatLE(i * 4);

  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: args.optimize,
    intraOpNumThreads: Number(args.threads),
    interOpNumThreads: 1,
  });
  if (session.inputNames.length !== 1) {
    fail(`${args.model} has ${session.inputNames.length} inputs, expected 1`);
  }
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, dims)};
  const results = await session.run(feeds);

  fs.mkdirSync(args.out, {recursive: true});
  const outputs = [];
  session.outputNames.forEach((name, k) => {
    const tensor = results[name];
    const file = `${k}.bin`;
    const bytes = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    fs.writeFileSync(path.join(args.out, file), bytes);
    outputs.push({name, type: tensor.type, dims: tensor.dims.map(Number), file});
  });
  const version = ort.env.versions.node;
  fs.writeFileSync(path.join(args.out, 'outputs.json'),
                   JSON.stringify({outputs, optimize: args.optimize, ort_version: version}, null, 1));
}

main().catch((error) => fail(error && error.message ? error.message : String(error)));
