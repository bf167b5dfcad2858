// The edgec library: every stage of the flow as a function. The CLI (compiler/) is a thin layer over these.

export type { Graph, Op, OpKind, Tensor, TensorData, DType, Quantization, Activation, Padding } from './ir/types.ts';
export { EdgecError } from './ir/errors.ts';
export { verifyGraph } from './ir/verify.ts';
export { dumpGraph } from './ir/dump.ts';
export { opMacs, opParamBytes } from './ir/cost.ts';
export { dataBytes } from './ir/dtype.ts';

export { readTflite } from './tflite/reader.ts';
export { writeTflite } from './tflite/writer.ts';
export { importTflite } from './import/tflite.ts';
export { loadModel } from './import/index.ts';
export { importTfjs } from './import/tfjs.ts';
export { dequantizeGraph, isQuantizedGraph } from './import/float-graph.ts';
export { exportTflite } from './tflite/export.ts';
export { runPasses } from './passes/index.ts';
export { runFloat } from './float/run.ts';
export { prepareModel, quantizeModel, type QuantizeRequest, type QuantizeResult } from './pipeline.ts';
export { affineOf, dequantizeValues, quantizeValues } from './quant/params.ts';
export { ptq, type PtqOptions, type PtqResult, type PtqTechniques, type TechniqueDecision, type AppliedTechnique } from './quant/ptq.ts';
export { compareModels, type ModelScore, type LayerError } from './quant/report.ts';

export { readNpy, writeNpy, sampleOf, type NdArray } from './npy/npy.ts';
export { readSampleFiles, splitSamples, stackOutputs } from './samples.ts';

export { executeGraph, createExecutor } from './ref/execute.ts';
export { planMemory, type MemoryPlan } from './plan/plan.ts';
export { generateC, type GeneratedModel } from './codegen/generate.ts';

export { buildForBoard, loadBuild, loadModelOrBuild, type BuildReport, type BuildResult, type Build } from './targets/build.ts';
export { runOnBoard, hilReport, junitXml, type BoardRun, type HilReport } from './targets/hil.ts';
export { startEmulatedBoard, type EmulatedBoard } from './device/qemu-board.ts';
export { HilLink, type LinkStats } from './device/hil-link.ts';
export type { Transport } from './device/transport.ts';
export { openSerialPort, type SerialOptions } from './device/serial.ts';
export { flashImage, type FlashOptions, type FlashReport } from './device/an3155/flash.ts';
export { loadFlashImage, type FlashImage } from './device/an3155/image.ts';
export { emulateBuild, type Emulation } from './device/emulate.ts';
export { runOnTarget, type TargetRun } from './targets/run.ts';
export { TARGETS } from './targets/names.ts';
export { loadBoard, listBoards } from './toolchain/index.ts';

export { pruneModel, parseBudgets, layerChanges, type PruneOptions, type PruneResult, type Dataset } from './prune/index.ts';
export { measureVariant, variantTable, type Variant } from './targets/variants.ts';
export { formatTable, thousands } from './text-table.ts';
