// What reading a model file through a child process costs (storage/foreign.h): the direct reader against the
// isolated one (fork, read, write the copy, read the copy), median of R reads each, alternating.
//   build/bench/bench_foreign_read [reads=20] [keras file=../shared/reference/gradsigns-cifar10-64bit/model.hdf5]
// The checkpoint is synthetic, with ResNet-20's layer shapes (about 272,000 parameters, the count is printed;
// written once to /tmp); the Keras file is the GradSigns reference's released model when it is there.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "storage/checkpoint.h"
#include "storage/foreign.h"
#include "storage/keras.h"

using namespace signsweep::storage;

namespace {

double median_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A checkpoint shaped like ResNet-20: 3x3 conv kernels of 16, 32 and 64 channels, BN pairs, 1x1 shortcuts, dense.
Checkpoint resnet20_sized_checkpoint() {
  Checkpoint c;
  c.model = "resnet20";
  c.config_yaml = "model: {name: resnet20}\n";
  c.created_by = "bench";
  c.dataset = "cifar10";
  c.input_shape = {3, 32, 32};
  c.num_classes = 10;
  c.normalization = "mean_std";
  c.mean.shape = c.inv_std.shape = {3};
  c.mean.f32 = c.inv_std.f32 = {0.5F, 0.5F, 0.5F};
  const auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    Array a;
    a.shape = std::move(shape);
    a.f32.assign(static_cast<size_t>(a.numel()), 0.01F);
    c.parameters.emplace_back(name, std::move(a));
  };
  add("conv0.weight", {16, 3, 3, 3});
  add("bn0.weight", {16});
  add("bn0.bias", {16});
  int64_t in = 16;
  int block = 0;
  for (const int64_t out : {16, 32, 64})
    for (int i = 0; i < 3; ++i, ++block) {
      add(fmt::format("block{}.conv1.weight", block), {out, in, 3, 3});
      add(fmt::format("block{}.bn1.weight", block), {out});
      add(fmt::format("block{}.bn1.bias", block), {out});
      add(fmt::format("block{}.conv2.weight", block), {out, out, 3, 3});
      add(fmt::format("block{}.bn2.weight", block), {out});
      add(fmt::format("block{}.bn2.bias", block), {out});
      if (in != out) {
        add(fmt::format("block{}.shortcut.weight", block), {out, in, 1, 1});
        add(fmt::format("block{}.shortcut.bias", block), {out});
      }
      in = out;
    }
  add("fc.weight", {10, 64});
  add("fc.bias", {10});
  return c;
}

void compare(const std::string& what, int reads, const std::function<void()>& direct, const std::function<void()>& isolated) {
  std::vector<double> d, i;
  const auto time = [](const std::function<void()>& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  for (int r = 0; r < reads; ++r) {
    d.push_back(time(direct));
    i.push_back(time(isolated));
  }
  std::cout << fmt::format("{:<34} direct {:7.2f} ms   isolated {:7.2f} ms   (+{:.2f} ms)\n", what, median_ms(d),
                           median_ms(i), median_ms(i) - median_ms(d));
}

}  // namespace

int main(int argc, char** argv) {
  const int reads = argc > 1 ? std::stoi(argv[1]) : 20;
  const std::string keras = argc > 2 ? argv[2] : "../shared/reference/gradsigns-cifar10-64bit/model.hdf5";
  const std::string checkpoint = (std::filesystem::temp_directory_path() / "signsweep-foreign-bench.h5").string();
  const Checkpoint c = resnet20_sized_checkpoint();
  int64_t parameters = 0;
  for (const auto& p : c.parameters) parameters += p.second.numel();
  save_checkpoint(checkpoint, c);
  std::cout << fmt::format("median of {} reads each\n", reads);
  compare(fmt::format("checkpoint ({} parameters)", parameters), reads, [&] { load_checkpoint(checkpoint); },
          [&] { load_foreign_checkpoint(checkpoint); });
  if (std::filesystem::exists(keras))
    compare("Keras file (the released model)", reads, [&] { read_keras_model(keras); }, [&] { read_foreign_keras_model(keras); });
  std::filesystem::remove(checkpoint);
  return 0;
}
