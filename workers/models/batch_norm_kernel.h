// The CPU loops of BatchNorm's fused double backward (double_backward.h), on raw arrays: torch-free, so that this
// one translation unit can be compiled for vector reductions (-fopenmp-simd) without touching the precompiled
// LibTorch header. The per-channel closed form they apply is batch_norm_coefficients.h (shared with CUDA).
#pragma once

#include <cstdint>

#include "workers/models/batch_norm_coefficients.h"

namespace signsweep::workers::bn_kernel {

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
