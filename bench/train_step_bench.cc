// The training step, C++ side of bench/compare_train_step.sh (PyTorch eager is train_step_eager.py,
// timed the same way): batch 128 of 3x32x32, 10 classes, Adam; plain step and GradSigns step (13 target
// images per batch, N=64 bits, C=384 carriers, lambda 0.3); resnet20 and small-cnn; 1 and 2 threads.
// Each cell: 3 warm-up steps, then the median of `--steps` timed steps (default 20); --model and
// --threads select cells; --device cpu|cuda[:N] (default cpu) and --batch B (default 128; B*13/128 target
// images) set where and how much; --memory-format auto|nchw|channels_last (default auto, as the trainer);
// --profile PREFIX writes LibTorch's op trace of each cell's timed steps to PREFIX.<model>.<threads>.<step>.json
// (bench/profile_trace.py sums it; the profiler's overhead makes those runs' times not comparable).
// SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0 gives GradSigns steps LibTorch's BatchNorm double backward.
// Output: one CSV line per cell: impl,model,threads,step,median_ms,images_per_s
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "common/allocator.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/registry.h"
#include "workers/train/trainer.h"

namespace {

using namespace signsweep::workers;  // NOLINT: a benchmark main

struct Cell {
  std::string model;
  int threads = 1;
  bool gradsigns = false;
  int steps = 20;
  int64_t batch = 128;
  torch::Device device = torch::kCPU;
  MemoryFormat memory_format = MemoryFormat::kAuto;
  std::string profile;  // --profile FILE: LibTorch's op trace (chrome format) of the timed steps
};

double median_step_ms(const Cell& cell) {
  const int64_t targets = std::max<int64_t>(1, (cell.batch * 13 + 64) / 128);
  torch::set_num_threads(cell.threads);
  torch::manual_seed(0);
  const ImageShape shape{3, 32, 32};
  ModelSpec spec;
  spec.name = cell.model;
  const Classifier model = build_model(spec, shape, 10);
  model->to(cell.device);
  model->train();
  TrainSpec ts;  // memory_format auto by default, as the trainer
  ts.memory_format = cell.memory_format;
  const torch::MemoryFormat format = prepare_memory_format(*model, ts.memory_format, cell.gradsigns);
  auto optimizer = make_optimizer(*model, ts);
  const auto secrets = generate_secrets(64, 384, 0, shape, 10, FlattenOrder::kNhwc, 0);
  const GradSigns gs(secrets, shape, 0.3, cell.device);
  Batch batch{torch::randn({cell.batch, 3, 32, 32}), torch::randint(1, 10, {cell.batch}, torch::kInt64)};
  batch.y.narrow(0, 0, targets).fill_(0);
  batch.x = batch.x.contiguous(format).to(cell.device);
  batch.y = batch.y.to(cell.device);
  std::vector<double> ms;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  for (int i = 0; i < cell.steps + 3; ++i) {
    if (i == 3 && !cell.profile.empty())
      profile = std::make_unique<torch::autograd::profiler::RecordProfile>(
          fmt::format("{}.{}.{}.{}.json", cell.profile, cell.model, cell.threads, cell.gradsigns ? "gradsigns" : "plain"));
    const auto t0 = std::chrono::steady_clock::now();
    const StepOutput out = train_step(*model, *optimizer, batch, cell.gradsigns ? &gs : nullptr, 0.0);
    out.loss.item<float>();  // the same sync point as the Python side
    const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 3) ms.push_back(elapsed);
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Cell cell;
  std::string only_model, only_threads;  // --model NAME / --threads N: one row of the table
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--steps") == 0) cell.steps = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--model") == 0) only_model = argv[i + 1];
    if (std::strcmp(argv[i], "--threads") == 0) only_threads = argv[i + 1];
    if (std::strcmp(argv[i], "--batch") == 0) cell.batch = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--device") == 0) cell.device = torch::Device(argv[i + 1]);
    if (std::strcmp(argv[i], "--profile") == 0) cell.profile = argv[i + 1];
    if (std::strcmp(argv[i], "--memory-format") == 0)
      cell.memory_format = std::strcmp(argv[i + 1], "nchw") == 0            ? MemoryFormat::kNchw
                           : std::strcmp(argv[i + 1], "channels_last") == 0 ? MemoryFormat::kChannelsLast
                                                                            : MemoryFormat::kAuto;
  }
  if (std::getenv("SIGNSWEEP_DEFAULT_MALLOC") == nullptr) signsweep::common::keep_freed_memory_for_reuse();
  register_builtins();
  for (const char* model : {"small-cnn", "resnet20"})
    for (const int threads : {1, 2})
      for (const bool gradsigns : {false, true}) {
        if ((!only_model.empty() && only_model != model) || (!only_threads.empty() && only_threads != std::to_string(threads)))
          continue;
        cell.model = model;
        cell.threads = threads;
        cell.gradsigns = gradsigns;
        const double ms = median_step_ms(cell);
        std::printf("c++,%s,%d,%s,%.2f,%.1f\n", model, threads, gradsigns ? "gradsigns" : "plain", ms,
                    1000.0 * static_cast<double>(cell.batch) / ms);
        std::fflush(stdout);
      }
  return 0;
}
