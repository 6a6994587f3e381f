// Data-parallel throughput of the GradSigns step (small-cnn width 16 on 1x28x28 inputs, batch 100 per rank
// with 10 target images, N=32, C=64): images/s of the whole group, one LibTorch thread per rank.
//   mpirun --allow-run-as-root -np 1 --bind-to core build/bench/bench_data_parallel [steps=60]
//   mpirun --allow-run-as-root -np 2 --bind-to core build/bench/bench_data_parallel [steps=60]
#include <mpi.h>

#include <chrono>
#include <cstdio>

#include "comm/collective.h"
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
  torch::manual_seed(1 + group.rank());
  Batch batch{torch::randn({100, 1, 28, 28}), torch::arange(100, torch::kInt64).remainder(10)};
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
    std::printf("ranks %d: %.0f images/s (group), %.2f ms/step, allreduce %.3f ms/step\n", group.size(),
                100.0 * steps * group.size() / s, 1e3 * s / steps, 1e3 * allreduce / steps);
  MPI_Finalize();
  return 0;
}
