#include "workers/train/training_state.h"

#include <filesystem>
#include <mutex>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/hash.h"
#include "storage/atomic_file.h"
#include "storage/sealed_file.h"

namespace signsweep::workers {
namespace {

constexpr int64_t kFormatVersion = 1;
constexpr int64_t kEpochFields = 9;

torch::Tensor epochs_tensor(const std::vector<EpochStats>& epochs) {
  torch::Tensor t = torch::zeros({static_cast<int64_t>(epochs.size()), kEpochFields}, torch::kFloat64);
  for (size_t i = 0; i < epochs.size(); ++i) {
    const EpochStats& e = epochs[i];
    const double row[kEpochFields] = {static_cast<double>(e.epoch), e.loss, e.reg, e.train_accuracy, e.test_accuracy,
                                      e.validation_accuracy, e.bit_accuracy, e.images_per_second, e.lr};
    for (int64_t f = 0; f < kEpochFields; ++f) t[static_cast<int64_t>(i)][f] = row[f];
  }
  return t;
}

std::vector<EpochStats> epochs_from(const torch::Tensor& t) {
  std::vector<EpochStats> epochs;
  const auto a = t.accessor<double, 2>();
  for (int64_t i = 0; i < t.size(0); ++i)
    epochs.push_back({static_cast<int64_t>(a[i][0]), a[i][1], a[i][2], a[i][3], a[i][4], a[i][5], a[i][6], a[i][7], a[i][8]});
  return epochs;
}

template <typename T>
T read_value(torch::serialize::InputArchive& in, const std::string& key) {
  c10::IValue v;
  in.read(key, v);
  if constexpr (std::is_same_v<T, std::string>) return v.toStringRef();
  else if constexpr (std::is_same_v<T, double>) return v.toDouble();
  else return v.toInt();
}

}  // namespace

void save_training_state(const std::string& path, const TrainingState& s, ClassifierImpl& model,
                         torch::optim::Optimizer& optimizer, const BatchSampler& sampler, const Batcher& batcher) {
  const torch::NoGradGuard no_grad;
  torch::serialize::OutputArchive out;
  out.write("format_version", c10::IValue(kFormatVersion));
  out.write("epoch", c10::IValue(s.epoch));
  out.write("step", c10::IValue(s.step));
  out.write("seen", c10::IValue(s.seen));
  for (const auto& [key, t] : {std::pair<const char*, const torch::Tensor&>{"loss_sum", s.loss_sum}, {"reg_sum", s.reg_sum},
                               {"correct", s.correct}})
    out.write(key, t.defined() ? t.cpu() : torch::zeros({}));
  out.write("plateau_factor", c10::IValue(s.plateau_factor));
  out.write("best_monitored", c10::IValue(s.best_monitored));
  out.write("epochs_without_improvement", c10::IValue(s.epochs_without_improvement));
  out.write("best_score", c10::IValue(s.best_score));
  out.write("best_epoch", c10::IValue(s.best_epoch));
  out.write("best_count", c10::IValue(static_cast<int64_t>(s.best_state.size())));
  for (size_t i = 0; i < s.best_state.size(); ++i) out.write(fmt::format("best/{}", i), s.best_state[i].cpu());
  out.write("epochs", epochs_tensor(s.epochs));
  for (const auto& p : model.named_parameters()) out.write("model/" + p.key(), p.value().cpu());
  for (const auto& b : model.named_buffers()) out.write("model/" + b.key(), b.value().cpu(), /*is_buffer=*/true);
  torch::serialize::OutputArchive opt;
  optimizer.save(opt);
  out.write("optimizer", opt);
  out.write("sampler", c10::IValue(sampler.state()));
  out.write("augmentation", c10::IValue(batcher.state()));
  out.write("torch_generator", at::detail::getDefaultCPUGenerator().get_state());
  storage::make_directories(std::filesystem::path(path).parent_path().string());
  // Serialised to memory, then written with checked writes: LibTorch's file writer throws from a destructor
  // when the disk fills (std::terminate), and reports no errno.
  std::ostringstream bytes;
  out.save_to(bytes);
  storage::write_file_atomically(path, storage::sealed(bytes.str()));
}

TrainingState load_training_state(const std::string& path, ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                                  BatchSampler& sampler, Batcher& batcher) {
  try {
    const torch::NoGradGuard no_grad;
    // Checked before anything is read into the model: a CorruptFile leaves the trial as it was.
    const std::string bytes = common::read_file_bytes(path);
    static constexpr std::string_view kZipSignature{"PK\x03\x04", 4};
    std::istringstream archive(bytes.substr(storage::checked_content_offset(path, bytes, kZipSignature, "a LibTorch archive")));
    torch::serialize::InputArchive in;
    in.load_from(archive);
    if (read_value<int64_t>(in, "format_version") != kFormatVersion)
      throw DataError(fmt::format("{}: a training state of another format version", path));
    TrainingState s;
    s.epoch = read_value<int64_t>(in, "epoch");
    s.step = read_value<int64_t>(in, "step");
    s.seen = read_value<int64_t>(in, "seen");
    const torch::Device device = model.device();
    for (const auto& [key, t] : {std::pair<const char*, torch::Tensor*>{"loss_sum", &s.loss_sum}, {"reg_sum", &s.reg_sum},
                                 {"correct", &s.correct}}) {
      in.read(key, *t);
      *t = t->to(device);
    }
    s.plateau_factor = read_value<double>(in, "plateau_factor");
    s.best_monitored = read_value<double>(in, "best_monitored");
    s.epochs_without_improvement = read_value<int64_t>(in, "epochs_without_improvement");
    s.best_score = read_value<double>(in, "best_score");
    s.best_epoch = read_value<int64_t>(in, "best_epoch");
    const int64_t best = read_value<int64_t>(in, "best_count");
    for (int64_t i = 0; i < best; ++i) {
      torch::Tensor t;
      in.read(fmt::format("best/{}", i), t);
      s.best_state.push_back(t.to(device));
    }
    torch::Tensor epochs;
    in.read("epochs", epochs);
    s.epochs = epochs_from(epochs);
    // Copied into the model's own tensors: their device and memory format stay the model's.
    for (auto& p : model.named_parameters()) {
      torch::Tensor t;
      in.read("model/" + p.key(), t);
      p.value().copy_(t);
    }
    for (auto& b : model.named_buffers()) {
      torch::Tensor t;
      in.read("model/" + b.key(), t, /*is_buffer=*/true);
      b.value().copy_(t);
    }
    torch::serialize::InputArchive opt;
    in.read("optimizer", opt);
    optimizer.load(opt);
    sampler.restore(read_value<std::string>(in, "sampler"));
    batcher.restore(read_value<std::string>(in, "augmentation"));
    torch::Tensor generator;
    in.read("torch_generator", generator);
    at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle on the process's generator
    const std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(generator);
    return s;
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: not a training state of this trial: {}", path, without_backtrace(e.what())));
  }
}

}  // namespace signsweep::workers
