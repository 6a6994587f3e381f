// The CPU loops of BatchNorm's fused double backward (double_backward.h), on raw arrays: torch-free, so that this
// one translation unit can be compiled for vector reductions (-fopenmp-simd) without touching the precompiled
// LibTorch header.
//
// Notation for one channel of M values: xhat = (x - mean) * invstd; dy is the first backward's input
// gradient; gx, gw, gb are the gradients flowing into its outputs dx, dgamma, dbeta.
#pragma once

#include <cstdint>

namespace signsweep::workers::bn_kernel {

// The five sums over a channel the double backward needs.
struct ChannelSums {
  double dy = 0.0, dy_xhat = 0.0, gx = 0.0, gx_xhat = 0.0, gx_dy = 0.0;
};

// Per-channel coefficients of the two element-wise outputs and the channel's weight gradient:
//   grad_x  = x_xhat * xhat + x_dy * dy + x_gx * gx + x_c
//   grad_dy = dy_gx * gx + dy_xhat * xhat + dy_c
struct Coefficients {
  double x_xhat = 0.0, x_dy = 0.0, x_gx = 0.0, x_c = 0.0;
  double dy_gx = 0.0, dy_xhat = 0.0, dy_c = 0.0;
  double grad_weight = 0.0;
};

// The closed form (derivation in docs/benchmarks.md, "A GradSigns step's double backward").
Coefficients coefficients(const ChannelSums& s, double count, double gamma, double invstd, double gw, double gb);

// One contiguous run of a channel's values (NCHW: one image's H*W values of the channel).
void accumulate_run(const float* dy, const float* x, const float* gx, int64_t len, double mean, double invstd,
                    ChannelSums& sums);
void accumulate_run(const double* dy, const double* x, const double* gx, int64_t len, double mean, double invstd,
                    ChannelSums& sums);
void apply_run(const float* dy, const float* x, const float* gx, int64_t len, double mean, double invstd,
               const Coefficients& k, float* grad_x, float* grad_dy);
void apply_run(const double* dy, const double* x, const double* gx, int64_t len, double mean, double invstd,
               const Coefficients& k, double* grad_x, double* grad_dy);

// Channels-last rows [begin, end) of `channels` values each. `sums` holds five arrays of `channels`
// doubles (dy, dy_xhat, gx, gx_xhat, gx_dy), added to; `mean`/`invstd` per channel.
void accumulate_rows(const float* dy, const float* x, const float* gx, int64_t begin, int64_t end, int64_t channels,
                     const double* mean, const double* invstd, double* sums);
void accumulate_rows(const double* dy, const double* x, const double* gx, int64_t begin, int64_t end,
                     int64_t channels, const double* mean, const double* invstd, double* sums);
// `k` holds nine arrays of `channels` values, in this order and in the tensors' type: mean, invstd, x_xhat,
// x_dy, x_gx, x_c, dy_gx, dy_xhat, dy_c.
void apply_rows(const float* dy, const float* x, const float* gx, int64_t begin, int64_t end, int64_t channels,
                const float* k, float* grad_x, float* grad_dy);
void apply_rows(const double* dy, const double* x, const double* gx, int64_t begin, int64_t end, int64_t channels,
                const double* k, double* grad_x, double* grad_dy);

}  // namespace signsweep::workers::bn_kernel
