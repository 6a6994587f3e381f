// Data-parallel speed of the GradSigns step (small-cnn width 16 on 1x28x28 inputs, global batch 100 with 10
// target images shared over the ranks as the trainer shares it, N=32, C=64): the time to the same number
// of steps (so the same epochs) for any group size, and the group's images/s; one LibTorch thread per rank.
//   mpirun --allow-run-as-root -np 1 --bind-to core build/bench/bench_data_parallel [steps=60]
//   mpirun --allow-run-as-root -np 2 --bind-to core build/bench/bench_data_parallel [steps=60]
#include <mpi.h>

#include <chrono>
#include <cstdio>

#include "comm/collective.h"
#include "workers/data/sampling.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/registry.h"
#include "workers/train/trainer.h"

using namespace signsweep;
using namespace signsweep::workers;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  register_builtins();
  torch::set_num_threads(1);
  const int steps = argc > 1 ? std::stoi(argv[1]) : 60;
  comm::MpiCollective group(MPI_COMM_WORLD);
  const ImageShape shape{1, 28, 28};
  torch::manual_seed(0);
  ModelSpec spec;
  spec.name = "small-cnn";
  spec.width = 16;
  Classifier model = build_model(spec, shape, 10);
  const GradSigns gs(generate_secrets(32, 64, 0, shape, 10, FlattenOrder::kNhwc, 0), shape, 0.3);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(2e-3).eps(1e-7));
  torch::manual_seed(1);
  const Batch global{torch::randn({100, 1, 28, 28}), torch::arange(100, torch::kInt64).remainder(10)};
  std::vector<int64_t> mine;  // this rank's share: 1/k of the 10 target rows, 1/k of the others
  for (const size_t p : share_positions(100, 10, group.rank(), group.size())) mine.push_back(static_cast<int64_t>(p));
  const torch::Tensor rows = torch::tensor(mine, torch::kInt64);
  const Batch batch{global.x.index_select(0, rows), global.y.index_select(0, rows)};
  comm::Collective* g = group.size() > 1 ? &group : nullptr;
  double allreduce = 0.0;
  for (int i = 0; i < 5; ++i) train_step(*model, opt, batch, &gs, 0.0, g, &allreduce);  // warm-up
  MPI_Barrier(MPI_COMM_WORLD);
  allreduce = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) train_step(*model, opt, batch, &gs, 0.0, g, &allreduce);
  MPI_Barrier(MPI_COMM_WORLD);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (group.rank() == 0)
    std::printf("ranks %d: %d steps of the global batch of 100 in %.2f s (%.2f ms/step, allreduce %.3f ms/step), %.0f images/s\n",
                group.size(), steps, s, 1e3 * s / steps, 1e3 * allreduce / steps, 100.0 * steps / s);
  MPI_Finalize();
  return 0;
}
