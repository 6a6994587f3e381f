// Test helpers for watermark readings. Floating-point results differ between CPUs (oneDNN picks other
// kernels), so a bit whose projection sits near zero may read either way on another machine: tests claim
// BER bounds and agreement on the bits whose projection is clear of zero, never equality of bit vectors.
// Header-only (torch tests only include it).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace signsweep::testing {

// Projections [N] whose magnitude exceeds `margin` x the largest magnitude.
inline torch::Tensor beyond_margin(const torch::Tensor& logits, double margin) {
  return logits.abs() > margin * logits.abs().max();
}

// Bits read from `logits` (1 where >= 0) that differ from `signature` where the projection is clear of zero.
inline int64_t wrong_bits_beyond_margin(const torch::Tensor& logits, const std::vector<int64_t>& signature, double margin) {
  const torch::Tensor bits = (logits >= 0).to(torch::kInt64).cpu();
  const torch::Tensor expected = torch::tensor(signature, torch::kInt64);
  return (bits.ne(expected) & beyond_margin(logits, margin).cpu()).sum().item<int64_t>();
}

// Bits of `a` and `reference` that differ where `reference`'s projection is clear of zero.
inline int64_t disagreements_beyond_margin(const torch::Tensor& a, const torch::Tensor& reference, double margin) {
  return ((a >= 0).ne(reference >= 0) & beyond_margin(reference, margin)).sum().item<int64_t>();
}

}  // namespace signsweep::testing
