#include "workers/models/batch_norm_kernel.h"

#include <algorithm>
#include <vector>

namespace signsweep::workers::bn_kernel {

namespace {

// Sums in T within a run (the vector unit's width; a run is at most one image's H*W values), in double
// across runs, as LibTorch's CPU reductions accumulate.
template <typename T>
void accumulate_run_impl(const T* dy, const T* x, const T* gx, int64_t len, double mean, double invstd,
                         ChannelSums& sums) {
  const T mu = static_cast<T>(mean), r = static_cast<T>(invstd);
  T s_dy = 0, s_dy_xhat = 0, s_gx = 0, s_gx_xhat = 0, s_gx_dy = 0;
#pragma omp simd reduction(+ : s_dy, s_dy_xhat, s_gx, s_gx_xhat, s_gx_dy)
  for (int64_t i = 0; i < len; ++i) {
    const T xhat = (x[i] - mu) * r;
    s_dy += dy[i];
    s_dy_xhat += dy[i] * xhat;
    s_gx += gx[i];
    s_gx_xhat += gx[i] * xhat;
    s_gx_dy += gx[i] * dy[i];
  }
  sums.dy += s_dy;
  sums.dy_xhat += s_dy_xhat;
  sums.gx += s_gx;
  sums.gx_xhat += s_gx_xhat;
  sums.gx_dy += s_gx_dy;
}

template <typename T>
void apply_run_impl(const T* dy, const T* x, const T* gx, int64_t len, double mean, double invstd,
                    const Coefficients& k, T* grad_x, T* grad_dy) {
  const T mu = static_cast<T>(mean), r = static_cast<T>(invstd);
  const T x_xhat = static_cast<T>(k.x_xhat), x_dy = static_cast<T>(k.x_dy), x_gx = static_cast<T>(k.x_gx),
          x_c = static_cast<T>(k.x_c), dy_gx = static_cast<T>(k.dy_gx), dy_xhat = static_cast<T>(k.dy_xhat),
          dy_c = static_cast<T>(k.dy_c);
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    const T xhat = (x[i] - mu) * r;
    grad_x[i] = x_xhat * xhat + x_dy * dy[i] + x_gx * gx[i] + x_c;
    grad_dy[i] = dy_gx * gx[i] + dy_xhat * xhat + dy_c;
  }
}

constexpr int64_t kRowsPerBlock = 256;  // rows summed in T before they are added to the double sums

template <typename T>
void accumulate_rows_impl(const T* dy, const T* x, const T* gx, int64_t begin, int64_t end, int64_t channels,
                          const double* mean, const double* invstd, double* sums) {
  std::vector<T> centre(static_cast<size_t>(2 * channels));  // mean, then invstd, in T
  std::vector<T> block(static_cast<size_t>(5 * channels));
  T* mu = centre.data();
  T* r = centre.data() + channels;
  for (int64_t c = 0; c < channels; ++c) {
    mu[c] = static_cast<T>(mean[c]);
    r[c] = static_cast<T>(invstd[c]);
  }
  T* b_dy = block.data();
  T* b_dy_xhat = b_dy + channels;
  T* b_gx = b_dy_xhat + channels;
  T* b_gx_xhat = b_gx + channels;
  T* b_gx_dy = b_gx_xhat + channels;
  for (int64_t start = begin; start < end; start += kRowsPerBlock) {
    std::fill(block.begin(), block.begin() + 5 * channels, T(0));
    for (int64_t row = start; row < std::min(end, start + kRowsPerBlock); ++row) {
      const T* d = dy + row * channels;
      const T* v = x + row * channels;
      const T* g = gx + row * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const T xhat = (v[c] - mu[c]) * r[c];
        b_dy[c] += d[c];
        b_dy_xhat[c] += d[c] * xhat;
        b_gx[c] += g[c];
        b_gx_xhat[c] += g[c] * xhat;
        b_gx_dy[c] += g[c] * d[c];
      }
    }
    for (int64_t i = 0; i < 5 * channels; ++i) sums[i] += static_cast<double>(block[static_cast<size_t>(i)]);
  }
}

template <typename T>
void apply_rows_impl(const T* dy, const T* x, const T* gx, int64_t begin, int64_t end, int64_t channels, const T* k,
                     T* grad_x, T* grad_dy) {
  const T* mu = k;
  const T* r = k + channels;
  const T* x_xhat = k + 2 * channels;
  const T* x_dy = k + 3 * channels;
  const T* x_gx = k + 4 * channels;
  const T* x_c = k + 5 * channels;
  const T* dy_gx = k + 6 * channels;
  const T* dy_xhat = k + 7 * channels;
  const T* dy_c = k + 8 * channels;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t o = row * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) {
      const T xhat = (x[o + c] - mu[c]) * r[c];
      grad_x[o + c] = x_xhat[c] * xhat + x_dy[c] * dy[o + c] + x_gx[c] * gx[o + c] + x_c[c];
      grad_dy[o + c] = dy_gx[c] * gx[o + c] + dy_xhat[c] * xhat + dy_c[c];
    }
  }
}

}  // namespace

void accumulate_run(const float* dy, const float* x, const float* gx, int64_t len, double mean, double invstd,
                    ChannelSums& sums) {
  accumulate_run_impl(dy, x, gx, len, mean, invstd, sums);
}
void accumulate_run(const double* dy, const double* x, const double* gx, int64_t len, double mean, double invstd,
                    ChannelSums& sums) {
  accumulate_run_impl(dy, x, gx, len, mean, invstd, sums);
}
void apply_run(const float* dy, const float* x, const float* gx, int64_t len, double mean, double invstd,
               const Coefficients& k, float* grad_x, float* grad_dy) {
  apply_run_impl(dy, x, gx, len, mean, invstd, k, grad_x, grad_dy);
}
void apply_run(const double* dy, const double* x, const double* gx, int64_t len, double mean, double invstd,
               const Coefficients& k, double* grad_x, double* grad_dy) {
  apply_run_impl(dy, x, gx, len, mean, invstd, k, grad_x, grad_dy);
}
void accumulate_rows(const float* dy, const float* x, const float* gx, int64_t begin, int64_t end, int64_t channels,
                     const double* mean, const double* invstd, double* sums) {
  accumulate_rows_impl(dy, x, gx, begin, end, channels, mean, invstd, sums);
}
void accumulate_rows(const double* dy, const double* x, const double* gx, int64_t begin, int64_t end,
                     int64_t channels, const double* mean, const double* invstd, double* sums) {
  accumulate_rows_impl(dy, x, gx, begin, end, channels, mean, invstd, sums);
}
void apply_rows(const float* dy, const float* x, const float* gx, int64_t begin, int64_t end, int64_t channels,
                const float* k, float* grad_x, float* grad_dy) {
  apply_rows_impl(dy, x, gx, begin, end, channels, k, grad_x, grad_dy);
}
void apply_rows(const double* dy, const double* x, const double* gx, int64_t begin, int64_t end, int64_t channels,
                const double* k, double* grad_x, double* grad_dy) {
  apply_rows_impl(dy, x, gx, begin, end, channels, k, grad_x, grad_dy);
}

}  // namespace signsweep::workers::bn_kernel
