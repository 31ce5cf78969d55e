// The kernel families. Each family file ends with a function returning its rows
// of the kernel table; KernelRegistry.cpp concatenates them into one table.
#pragma once

#include <vector>

#include "onnxpress/runtime/Kernel.h"

namespace onnxpress::runtime {

std::vector<KernelEntry> unaryKernels();        // Unary.cpp: unary math and activations
std::vector<KernelEntry> binaryKernels();       // Binary.cpp: broadcasting binary, comparisons, logic, Max/Min/Sum/Mean
std::vector<KernelEntry> elementwiseKernels();  // Elementwise.cpp: Where, Cast, CastLike
std::vector<KernelEntry> reduceKernels();       // Reduce.cpp: Reduce*, ArgMax/Min, Softmax, LogSoftmax, TopK, ...
std::vector<KernelEntry> reshapeKernels();      // Reshape.cpp: Identity, Dropout, Reshape, Flatten, (Un)Squeeze, Shape, Size
std::vector<KernelEntry> generateKernels();     // Generate.cpp: Constant, ConstantOfShape, EyeLike, Range, OneHot, Trilu
std::vector<KernelEntry> transposeKernels();    // Transpose.cpp: Transpose, DepthToSpace, SpaceToDepth, Concat, Split
std::vector<KernelEntry> padKernels();          // Pad.cpp: Pad, Expand, Tile
std::vector<KernelEntry> gatherKernels();       // Gather.cpp: Slice, Gather*, Scatter*, NonZero
std::vector<KernelEntry> resizeKernels();       // Resize.cpp: Resize, Upsample
std::vector<KernelEntry> convKernels();         // Conv.cpp: Conv, ConvTranspose
std::vector<KernelEntry> poolKernels();         // Pool.cpp: MaxPool, AveragePool, Global*Pool, LpPool
std::vector<KernelEntry> normKernels();         // Norm.cpp: BatchNormalization, Instance/Layer/GroupNormalization, LRN
std::vector<KernelEntry> matmulKernels();       // MatMul.cpp: MatMul, Gemm, Einsum
std::vector<KernelEntry> rnnKernels();          // Rnn.cpp: LSTM, GRU, RNN
std::vector<KernelEntry> controlFlowKernels();  // ControlFlow.cpp: If, Loop
std::vector<KernelEntry> quantizeLinearKernels();  // QuantizeLinear.cpp: Q/DQ (+ com.microsoft), DynamicQuantizeLinear
std::vector<KernelEntry> quantizedConvKernels();   // QuantizedConv.cpp: QLinearConv, ConvInteger
std::vector<KernelEntry> quantizedMatMulKernels(); // QuantizedMatMul.cpp: QLinearMatMul, MatMulInteger, MatMulNBits
std::vector<KernelEntry> quantContribKernels(); // QuantizeContrib.cpp: com.microsoft QLinearAdd/Mul, QLinear pools, QGemm
std::vector<KernelEntry> quantizedRnnKernels(); // QuantizedRnn.cpp: com.microsoft DynamicQuantizeLSTM
std::vector<KernelEntry> lossKernels();        // Loss.cpp: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
std::vector<KernelEntry> miscKernels();        // Misc.cpp: Unique, Compress, ReverseSequence, MaxUnpool, Det, ...
std::vector<KernelEntry> signalKernels();      // Signal.cpp: DFT, STFT, windows, MelWeightMatrix
std::vector<KernelEntry> detectionKernels();   // Detection.cpp: NonMaxSuppression, RoiAlign, GridSample

}  // namespace onnxpress::runtime
