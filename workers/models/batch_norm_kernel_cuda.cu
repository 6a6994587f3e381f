#include "workers/models/batch_norm_kernel_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "workers/models/batch_norm_coefficients.h"

namespace signsweep::workers::bn_kernel_cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kSums = 5;          // dy, dy_xhat, gx, gx_xhat, gx_dy
constexpr int kCoefficients = 9;  // mean, invstd, x_xhat, x_dy, x_gx, x_c, dy_gx, dy_xhat, dy_c

// Where a channel's i-th value (i over the batch's images and the plane) lies, and which channel a value at
// an offset belongs to, in either layout.
struct Layout {
  int64_t channels, plane;
  bool channels_last;
  __device__ int64_t offset(int64_t i, int64_t c) const {
    return channels_last ? i * channels + c : ((i / plane) * channels + c) * plane + i % plane;
  }
  __device__ int64_t channel_of(int64_t offset) const {
    return channels_last ? offset % channels : (offset / plane) % channels;
  }
};

// Grid (slices, channels): each block sums a strided slice of one channel's `count` values in double, reduces
// in shared memory, and adds its five sums to the channel's with one atomicAdd each.
template <typename T>
__global__ void accumulate_sums(const T* dy, const T* x, const T* gx, int64_t count, Layout layout,
                                const double* channel_inputs, double* sums) {
  const int64_t c = blockIdx.y;
  const double mean = channel_inputs[c], invstd = channel_inputs[layout.channels + c];
  double s[kSums] = {0.0, 0.0, 0.0, 0.0, 0.0};
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = layout.offset(i, c);
    const double d = static_cast<double>(dy[o]);
    const double xhat = (static_cast<double>(x[o]) - mean) * invstd;
    const double g = gx != nullptr ? static_cast<double>(gx[o]) : 0.0;
    s[0] += d;
    s[1] += d * xhat;
    s[2] += g;
    s[3] += g * xhat;
    s[4] += g * d;
  }
  __shared__ double shared[kSums][kThreads];
  for (int k = 0; k < kSums; ++k) shared[k][threadIdx.x] = s[k];
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      for (int k = 0; k < kSums; ++k) shared[k][threadIdx.x] += shared[k][threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int k = 0; k < kSums; ++k) atomicAdd(&sums[k * layout.channels + c], shared[k][0]);
}

// One thread per channel: the closed form's coefficients (into `k`, kCoefficients x channels) and the
// channel's weight gradient.
__global__ void channel_coefficients(const double* sums, const double* channel_inputs, int64_t channels,
                                     double count, double* k, double* grad_weight) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const auto in = [&](int j) { return channel_inputs[j * channels + c]; };  // mean, invstd, gamma, gw, gb
  bn_kernel::ChannelSums s;
  s.dy = sums[c];
  s.dy_xhat = sums[channels + c];
  s.gx = sums[2 * channels + c];
  s.gx_xhat = sums[3 * channels + c];
  s.gx_dy = sums[4 * channels + c];
  const bn_kernel::Coefficients q = bn_kernel::coefficients(s, count, in(2), in(1), in(3), in(4));
  const double values[kCoefficients] = {in(0), in(1), q.x_xhat, q.x_dy, q.x_gx, q.x_c, q.dy_gx, q.dy_xhat, q.dy_c};
  for (int j = 0; j < kCoefficients; ++j) k[j * channels + c] = values[j];
  grad_weight[c] = q.grad_weight;
}

// Grid-stride over every value: grad_x and grad_dy from its channel's coefficients.
template <typename T>
__global__ void apply_coefficients(const T* dy, const T* x, const T* gx, int64_t total, Layout layout,
                                   const double* k, T* grad_x, T* grad_dy) {
  const int64_t C = layout.channels;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = layout.channel_of(o);
    const double d = static_cast<double>(dy[o]);
    const double xhat = (static_cast<double>(x[o]) - k[c]) * k[C + c];
    const double g = gx != nullptr ? static_cast<double>(gx[o]) : 0.0;
    grad_x[o] = static_cast<T>(k[2 * C + c] * xhat + k[3 * C + c] * d + k[4 * C + c] * g + k[5 * C + c]);
    grad_dy[o] = static_cast<T>(k[6 * C + c] * g + k[7 * C + c] * xhat + k[8 * C + c]);
  }
}

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("the fused BatchNorm double backward's ") + what + " kernel: " +
                             cudaGetErrorString(e));
}

int blocks_for(int64_t values, int64_t most) {
  return static_cast<int>(std::clamp<int64_t>((values + kThreads - 1) / kThreads, 1, most));
}

template <typename T>
void run(const T* dy, const T* x, const T* gx, const Shape& shape, const double* channel_inputs, double* workspace,
         T* grad_x, T* grad_dy, double* grad_weight, cudaStream_t stream) {
  const int64_t C = shape.channels, count = shape.batch * shape.plane, total = count * C;
  if (total == 0) return;
  if (C > 65535) throw std::runtime_error("the fused BatchNorm double backward takes at most 65535 channels on CUDA");
  const Layout layout{C, shape.plane, shape.channels_last};
  double* sums = workspace;
  double* k = workspace + kSums * C;
  if (const cudaError_t e = cudaMemsetAsync(sums, 0, sizeof(double) * kSums * C, stream); e != cudaSuccess)
    throw std::runtime_error(std::string("the fused BatchNorm double backward's workspace: ") + cudaGetErrorString(e));
  // Enough slices per channel to fill the device with a few dozen channels, few enough that the atomic adds
  // stay a small fraction of the reads.
  const dim3 sum_grid(static_cast<unsigned>(blocks_for(count / 4, std::max<int64_t>(1, 2048 / C))), static_cast<unsigned>(C));
  accumulate_sums<T><<<sum_grid, kThreads, 0, stream>>>(dy, x, gx, count, layout, channel_inputs, sums);
  check_launch("sums");
  channel_coefficients<<<blocks_for(C, 65535), kThreads, 0, stream>>>(sums, channel_inputs, C,
                                                                      static_cast<double>(count), k, grad_weight);
  check_launch("coefficients");
  apply_coefficients<T><<<blocks_for(total, 8192), kThreads, 0, stream>>>(dy, x, gx, total, layout, k, grad_x, grad_dy);
  check_launch("element-wise");
}

}  // namespace

int64_t workspace_doubles(int64_t channels) { return (kSums + kCoefficients) * channels; }

void double_backward(const float* dy, const float* x, const float* gx, const Shape& shape, const double* channel_inputs,
                     double* workspace, float* grad_x, float* grad_dy, double* grad_weight, CUstream_st* stream) {
  run(dy, x, gx, shape, channel_inputs, workspace, grad_x, grad_dy, grad_weight, stream);
}

void double_backward(const double* dy, const double* x, const double* gx, const Shape& shape,
                     const double* channel_inputs, double* workspace, double* grad_x, double* grad_dy,
                     double* grad_weight, CUstream_st* stream) {
  run(dy, x, gx, shape, channel_inputs, workspace, grad_x, grad_dy, grad_weight, stream);
}

}  // namespace signsweep::workers::bn_kernel_cuda
