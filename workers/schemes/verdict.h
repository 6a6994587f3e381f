// The ownership decision: BER alone is not a verdict. Under the null hypothesis (the model does not
// carry this signature) each bit matches with probability 1/2, so the p-value of k or more matches out of
// N is the binomial tail P(X >= k), X ~ Bin(N, 1/2). Torch-free.
#pragma once

#include <cstdint>
#include <vector>

namespace signsweep::workers {

// P(X >= matched) for X ~ Binomial(bits, 0.5); exact in log space for any N.
double binomial_tail_p_value(int64_t matched, int64_t bits);

struct Verdict {
  int64_t bits = 0;
  int64_t matched = 0;
  double ber = 0.0;        // 1 - matched / bits
  double p_value = 1.0;
  double significance = 1e-6;
  bool owned = false;      // p_value <= significance
};

Verdict decide(const std::vector<int64_t>& extracted, const std::vector<int64_t>& signature, double significance = 1e-6);

// The empirical alternative (the robustness literature reads ~30 independently trained non-watermarked
// models): the owner's signature is read from each; a model is owned empirically when its BER is below
// the smallest BER any of them showed.
struct EmpiricalThreshold {
  int64_t models = 0;
  double min_ber = 0.0;  // the threshold
  double mean_ber = 0.0;
  double std_ber = 0.0;  // population standard deviation
};
// Throws std::invalid_argument on an empty set.
EmpiricalThreshold empirical_threshold(const std::vector<double>& null_bers);

}  // namespace signsweep::workers
