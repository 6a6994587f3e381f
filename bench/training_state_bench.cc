// What a resumable training state costs (workers/train/training_state.h): its bytes on disk and the time to
// write it atomically (with its fsync) and to read it back, for the reference ResNet-20 and the quickstart's
// small-cnn, each with Adam's moments after a few GradSigns steps and a model-selection snapshot.
//   build/bench/bench_training_state [repeats=10] [dir=/tmp]
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "workers/data/dataset_spec.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/registry.h"
#include "workers/train/training_state.h"

using namespace signsweep::workers;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void measure(const char* name, const ModelSpec& model_spec, const ImageShape& shape, int repeats, const std::string& dir) {
  DatasetSpec data;
  data.name = "synthetic";
  data.synthetic = SyntheticSpec{shape, 10, 1000, 100, 0};
  const Dataset ds = prepare_dataset(load_raw_dataset(data), data);
  torch::manual_seed(0);
  Classifier model = build_model(model_spec, shape, 10);
  TrainSpec spec;
  spec.batch_size = 100;
  auto optimizer = make_optimizer(*model, spec);
  const GradSigns gs(generate_secrets(64, 256, 0, shape, 10, FlattenOrder::kNhwc, 0), shape, 0.3);
  SamplerOptions so;
  so.batch_size = 100;
  so.target_class = 0;
  BatchSampler sampler(ds.train.label_vector(), so);
  Batcher batcher(ds.train, ds.augment, 1);
  for (int i = 0; i < 3; ++i) train_step(*model, *optimizer, batcher.gather(sampler.next_batch()), &gs, 1e-4);
  TrainingState state;
  state.loss_sum = state.reg_sum = torch::zeros({});
  state.correct = torch::zeros({}, torch::kInt64);
  for (const auto& p : model->parameters()) state.best_state.push_back(p.detach().clone());  // selection's snapshot
  const std::string path = dir + "/bench-state.pt";
  double save = 0.0, load = 0.0;
  for (int i = 0; i < repeats; ++i) {
    auto t = std::chrono::steady_clock::now();
    save_training_state(path, state, *model, *optimizer, sampler, batcher);
    save += seconds_since(t);
    t = std::chrono::steady_clock::now();
    load_training_state(path, *model, *optimizer, sampler, batcher);
    load += seconds_since(t);
  }
  std::printf("%-10s %7lld parameters: state %.2f MiB, write %.1f ms (fsync included), read %.1f ms (mean of %d)\n", name,
              static_cast<long long>(count_parameters(*model)),
              static_cast<double>(std::filesystem::file_size(path)) / (1 << 20), 1e3 * save / repeats, 1e3 * load / repeats,
              repeats);
  std::filesystem::remove(path);
}

}  // namespace

int main(int argc, char** argv) {
  register_builtins();
  torch::set_num_threads(1);
  const int repeats = argc > 1 ? std::stoi(argv[1]) : 10;
  const std::string dir = argc > 2 ? argv[2] : "/tmp";
  measure("resnet20", ModelSpec{"resnet20", true, 32}, ImageShape{3, 32, 32}, repeats, dir);
  measure("small-cnn", ModelSpec{"small-cnn", true, 16}, ImageShape{1, 28, 28}, repeats, dir);
  return 0;
}
