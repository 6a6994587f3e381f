// Data set loading and batch assembly. Run by hand:
//   ./build/bench/bench_dataset_load [--benchmark_repetitions=3]
// Set SIGNSWEEP_CIFAR10_JPEG_DIR to an unpacked ../shared/data/cifar10-jpeg.tar.gz to include CIFAR-10.
// Counters: memory of the prepared tensors (MiB) and the process's peak RSS (MiB).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>

#include "common/allocator.h"
#include "workers/data/dataset.h"
#include "workers/data/sampling.h"
#include "workers/registry.h"

namespace {

using signsweep::workers::DatasetSpec;

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

void load(benchmark::State& state, const DatasetSpec& spec) {
  size_t bytes = 0;
  for (auto _ : state) {
    const auto ds = signsweep::workers::prepare_dataset(signsweep::workers::load_raw_dataset(spec), spec);
    bytes = ds.bytes();
    benchmark::DoNotOptimize(ds.train.images.data_ptr());
  }
  state.counters["tensors_MiB"] = static_cast<double>(bytes) / (1 << 20);
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

void BM_LoadFashionMnist(benchmark::State& state) {
  DatasetSpec spec;
  spec.name = "fashion-mnist";
  spec.path = "/usr/share/datasets/fashion-mnist";
  load(state, spec);
}

void BM_LoadCifar10Jpeg(benchmark::State& state) {
  const char* dir = std::getenv("SIGNSWEEP_CIFAR10_JPEG_DIR");
  if (dir == nullptr) {
    state.SkipWithError("SIGNSWEEP_CIFAR10_JPEG_DIR not set");
    return;
  }
  DatasetSpec spec;
  spec.name = "image-folder";
  spec.path = dir;
  spec.image_folder.channels = 3;
  load(state, spec);
}

// Batch of 128 from Fashion-MNIST, plain (one gather) and augmented (shift + flip, one pass).
void BM_Batch(benchmark::State& state) {
  DatasetSpec spec;
  spec.name = "fashion-mnist";
  spec.path = "/usr/share/datasets/fashion-mnist";
  static const auto ds = signsweep::workers::prepare_dataset(signsweep::workers::load_raw_dataset(spec), spec);
  signsweep::workers::AugmentOptions augment;
  if (state.range(0) != 0) augment = {0.1, true};
  signsweep::workers::Batcher batcher(ds.train, augment, 0);
  signsweep::workers::SamplerOptions so;
  so.batch_size = 128;
  signsweep::workers::BatchSampler sampler(ds.train.label_vector(), so);
  for (auto _ : state) benchmark::DoNotOptimize(batcher.gather(sampler.next_batch()).x.data_ptr());
  state.SetItemsProcessed(state.iterations() * 128);
}

}  // namespace

BENCHMARK(BM_LoadFashionMnist)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_LoadCifar10Jpeg)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Batch)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  signsweep::common::keep_freed_memory_for_reuse();
  signsweep::workers::register_builtins();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
