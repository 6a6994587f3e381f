// The closed form of BatchNorm's double backward for one channel (training mode): from five sums over the
// channel's values, the coefficients of the two element-wise outputs and the channel's weight gradient
// (derivation in docs/benchmarks.md, "A GradSigns step's double backward"). Header-only and torch-free, so
// that the CPU loops (batch_norm_kernel.cc) and the CUDA kernels (batch_norm_kernel_cuda.cu) share it.
//
// Notation for one channel of M values: xhat = (x - mean) * invstd; dy is the first backward's input
// gradient; gx, gw, gb are the gradients flowing into its outputs dx, dgamma, dbeta.
#pragma once

#if defined(__CUDACC__)
#define SIGNSWEEP_HOST_DEVICE __host__ __device__
#else
#define SIGNSWEEP_HOST_DEVICE
#endif

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

SIGNSWEEP_HOST_DEVICE inline Coefficients coefficients(const ChannelSums& s, double count, double gamma, double invstd,
                                                       double gw, double gb) {
  const double m = count, r = invstd;
  const double mean_dy = s.dy / m, mean_gx = s.gx / m;
  const double centred_gx_dy = s.gx_dy - s.gx * s.dy / m;  // sum(gx * (dy - mean(dy)))
  const double sd = s.dy_xhat, t = s.gx_xhat;
  const double k = gamma * r * r / m;
  Coefficients c;
  c.x_xhat = k * (3.0 * sd * t / m - centred_gx_dy) - gw * r * sd / m;
  c.x_dy = gw * r - k * t;
  c.x_gx = -k * sd;
  c.x_c = k * (t * mean_dy + sd * mean_gx) - gw * r * mean_dy;
  c.dy_gx = gamma * r;
  c.dy_xhat = gw - gamma * r * t / m;
  c.dy_c = gb - gamma * r * mean_gx;
  c.grad_weight = r * (centred_gx_dy - sd * t / m);
  return c;
}

}  // namespace signsweep::workers::bn_kernel
