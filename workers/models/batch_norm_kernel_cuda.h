// The CUDA kernels of BatchNorm's fused double backward (double_backward.h), on raw device arrays: torch-free
// and compiled by nvcc only where LibTorch is a CUDA build (workers/CMakeLists.txt). The closed form is the
// CPU loops' (batch_norm_coefficients.h); the sums are taken in double.
//
// Three launches on the caller's stream, no host synchronisation (so a captured CUDA graph can hold them):
// the five sums per channel (a block reduction per slice of a channel, added atomically), the per-channel
// coefficients, then grad_x and grad_dy element-wise.
#pragma once

#include <cstdint>

struct CUstream_st;  // cudaStream_t, without cuda_runtime.h in the including TU

namespace signsweep::workers::bn_kernel_cuda {

// A 4-d activation: `batch` images of `channels` planes of `plane` (H*W) values, NCHW-contiguous or
// channels-last.
struct Shape {
  int64_t batch = 0, channels = 0, plane = 0;
  bool channels_last = false;
};

// Doubles of device memory double_backward needs as `workspace` for `channels` channels.
int64_t workspace_doubles(int64_t channels);

// `channel_inputs`: 5 x channels doubles on the device (mean, invstd, gamma, gw, gb; gw and gb zero where no
// gradient flows into dgamma or dbeta). `gx` may be null (no gradient flows into dx). Writes grad_x and
// grad_dy (shape's layout) and grad_weight (channels doubles). Throws std::runtime_error naming CUDA's error
// when a launch fails.
void double_backward(const float* dy, const float* x, const float* gx, const Shape& shape, const double* channel_inputs,
                     double* workspace, float* grad_x, float* grad_dy, double* grad_weight, CUstream_st* stream);
void double_backward(const double* dy, const double* x, const double* gx, const Shape& shape,
                     const double* channel_inputs, double* workspace, double* grad_x, double* grad_dy,
                     double* grad_weight, CUstream_st* stream);

}  // namespace signsweep::workers::bn_kernel_cuda
