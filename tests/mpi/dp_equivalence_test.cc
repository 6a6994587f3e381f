// Data-parallel equivalence under real MPI ranks (mpirun -np 2): k ranks x batch B must train exactly as
// 1 rank x batch kB. A BatchNorm-free small-cnn takes 5 Adam steps (weight decay on) with the GradSigns
// term (group mean input gradient) and, separately, with the Uchida term; the parameters of the
// data-parallel run must equal the single-process run's to a relative 1e-5. Exit 0 = pass.
#include <mpi.h>

#include <cstdio>

#include "comm/collective.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/registry.h"
#include "workers/schemes/uchida.h"
#include "workers/train/trainer.h"

using namespace signsweep;
using namespace signsweep::workers;

namespace {

constexpr int64_t kPerRank = 12;
const ImageShape kShape{1, 8, 8};

Classifier fresh_model() {
  torch::manual_seed(0);
  ModelSpec spec;
  spec.name = "small-cnn";
  spec.width = 4;
  spec.batch_norm = false;
  return build_model(spec, kShape, 3);
}

// Global batch `step` of 2 * kPerRank images; every label occurs in both halves.
Batch global_batch(int64_t step, int ranks) {
  torch::manual_seed(100 + step);
  Batch b;
  b.x = torch::randn({kPerRank * ranks, 1, 8, 8});
  b.y = torch::arange(kPerRank * ranks, torch::kInt64).remainder(3);
  return b;
}

Batch rows(const Batch& b, int64_t start, int64_t n) { return {b.x.narrow(0, start, n), b.y.narrow(0, start, n)}; }

double train_and_compare(const WatermarkScheme& scheme_ref, const WatermarkScheme& scheme_dp, comm::Collective& group) {
  const int ranks = group.size();
  Classifier reference = fresh_model(), parallel = fresh_model();
  torch::optim::Adam opt_ref(reference->parameters(), torch::optim::AdamOptions(1e-2).eps(1e-7));
  torch::optim::Adam opt_dp(parallel->parameters(), torch::optim::AdamOptions(1e-2).eps(1e-7));
  for (int64_t step = 0; step < 5; ++step) {
    const Batch all = global_batch(step, ranks);
    train_step(*reference, opt_ref, all, &scheme_ref, 1e-4);
    train_step(*parallel, opt_dp, rows(all, group.rank() * kPerRank, kPerRank), &scheme_dp, 1e-4, &group);
  }
  double worst = 0.0;
  const auto ref = reference->named_parameters();
  for (const auto& p : parallel->named_parameters()) {
    const torch::Tensor r = ref[p.key()];
    const double rel = ((p.value() - r).abs().max() / r.abs().max().clamp_min(1e-6)).item<double>();
    worst = std::max(worst, rel);
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  register_builtins();
  torch::set_num_threads(1);
  comm::MpiCollective world(MPI_COMM_WORLD);
  int failures = 0;
  {
    const GradSigns gs(generate_secrets(8, 12, 0, kShape, 3, FlattenOrder::kNhwc, 1), kShape, 1.0);
    const double worst = train_and_compare(gs, gs, world);
    if (world.rank() == 0) std::printf("gradsigns: %d ranks x %lld vs 1 x %lld: max relative parameter difference %.3g\n",
                                       world.size(), static_cast<long long>(kPerRank), static_cast<long long>(kPerRank * world.size()), worst);
    failures += worst > 1e-5;
  }
  {
    Classifier probe = fresh_model();
    const std::string layer = default_uchida_layer(*probe);
    const UchidaSecrets secrets = generate_uchida_secrets(8, uchida_layer_size(*probe, layer), layer, 2);
    const Uchida uchida(secrets, *probe, 0.1);
    const double worst = train_and_compare(uchida, uchida, world);
    if (world.rank() == 0) std::printf("uchida: max relative parameter difference %.3g\n", worst);
    failures += worst > 1e-5;
  }
  int any = failures;
  MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (world.rank() == 0) std::printf("%s\n", any ? "FAIL" : "PASS");
  MPI_Finalize();
  return any ? 1 : 0;
}
