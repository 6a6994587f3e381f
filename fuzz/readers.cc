#include "fuzz/readers.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>

#include <spdlog/spdlog.h>

#include "comm/messages.h"
#include "common/errors.h"
#include "orchestrator/sweep.h"
#include "storage/checkpoint.h"
#include "storage/keras.h"
#include "storage/npy.h"
#include "storage/results_store.h"
#include "workers/data/loaders.h"
#include "workers/trial_config.h"

namespace signsweep::fuzz {
namespace {

namespace fs = std::filesystem;

std::filesystem::path make_scratch_dir() {
  const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path dir = base / ("signsweep-fuzz-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  spdlog::set_level(spdlog::level::off);  // readers' warnings would flood the fuzzer's output
  return dir;
}

struct ScratchRemover {
  ~ScratchRemover() {
    std::error_code ec;
    fs::remove_all(scratch_dir(), ec);
  }
};

void clear_scratch() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scratch_dir(), ec)) fs::remove_all(entry.path(), ec);
}

// Writes `bytes` to scratch_dir()/relative (parent folders created) and returns its path.
std::string write_input(const std::string& relative, const std::string& bytes) {
  const fs::path path = scratch_dir() / relative;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the scratch folder must be writable: not a finding of the reader
  return path.string();
}

// The two parts of a framed input (see readers.h); a short input gives an empty first part.
std::pair<std::string, std::string> unframe(const std::string& input) {
  if (input.size() < 4) return {"", input};
  uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(input[static_cast<size_t>(i)]);
  const size_t first = std::min<size_t>(n, input.size() - 4);
  return {input.substr(4, first), input.substr(4 + first)};
}

void read_idx(const std::string& input) {
  const auto [labels, images] = unframe(input);
  workers::read_idx_pair(write_input("images", images), write_input("labels", labels), 10);
}

void read_cifar10_binary(const std::string& input) { workers::read_cifar10_batch(write_input("data_batch_1.bin", input)); }

void read_svhn_mat(const std::string& input) { workers::read_svhn_mat(write_input("train_32x32.mat", input)); }

// Options byte: bit 0 PNG (else JPEG), bit 1 grayscale (else RGB), bit 2 resize to 8x8. One class, one image
// in train/ and the same in test/.
void read_image_folder(const std::string& input) {
  const auto [options_bytes, image] = unframe(input);
  const uint8_t choice = options_bytes.empty() ? 0 : static_cast<uint8_t>(options_bytes[0]);
  workers::ImageFolderOptions options;
  options.channels = (choice & 2) ? 1 : 3;
  if (choice & 4) options.resize_height = options.resize_width = 8;
  const std::string extension = (choice & 1) ? ".png" : ".jpg";
  write_input("root/train/a/0" + extension, image);
  write_input("root/test/a/0" + extension, image);
  workers::load_image_folder((scratch_dir() / "root").string(), options, "fuzz");
}

void read_npy(const std::string& input) { storage::read_npy(write_input("key.npy", input)); }

void read_keras_hdf5(const std::string& input) { storage::read_keras_model(write_input("model.hdf5", input)); }

void read_keras_config(const std::string& input) { storage::parse_keras_config(input, "model.hdf5"); }

void read_checkpoint(const std::string& input) { storage::load_checkpoint(write_input("model.h5", input)); }

void read_store_index(const std::string& input) {
  write_input("store/sweep.h5", input);
  storage::ResultsStore::open_existing((scratch_dir() / "store").string()).read_all(true);
}

// A store of one planned trial, made once per process (outside the scratch files of each input).
const std::string kTrialId = "0123456789abcdef";
std::string store_of_one_trial() {
  using namespace storage;
  const std::string dir = (scratch_dir().string() + "-store");
  std::error_code ec;
  fs::remove_all(dir, ec);
  PlannedTrial planned;
  planned.id = kTrialId;
  planned.kind = kEmbedKind;
  planned.label = "seed=0";
  planned.config_yaml = "model: small_cnn\n";
  ResultsStore::open_for_sweep(dir, SweepIdentity{"feedface", "fuzz.yaml", "name: fuzz\n"}, {planned}, false, false);
  return dir;
}

struct StoreRemover {
  std::string dir;
  ~StoreRemover() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void read_store_trial(const std::string& input) {
  static const StoreRemover store{store_of_one_trial()};
  const std::string trial = store.dir + "/trials/" + kTrialId + ".h5";
  std::ofstream(trial, std::ios::binary | std::ios::trunc).write(input.data(), static_cast<std::streamsize>(input.size()));
  storage::ResultsStore::open_existing(store.dir).read_all(true);
}

void read_trial_yaml(const std::string& input) { workers::load_trial_config(write_input("trial.yaml", input)); }

void read_sweep_yaml(const std::string& input) { orchestrator::load_sweep(write_input("sweep.yaml", input)); }

// First byte: which message; the rest: its text.
void read_message(const std::string& input) {
  if (input.empty()) return;
  const std::string message = input.substr(1);
  switch (static_cast<uint8_t>(input[0]) % 4) {
    case 0: comm::decode_task(message); break;
    case 1: comm::decode_progress(message); break;
    case 2: comm::decode_result(message); break;
    default: comm::decode_rank_report(message); break;
  }
}

const std::map<std::string, std::function<void(const std::string&)>>& readers() {
  static const std::map<std::string, std::function<void(const std::string&)>> all{
      {"idx", read_idx},
      {"cifar10_binary", read_cifar10_binary},
      {"svhn_mat", read_svhn_mat},
      {"image_folder", read_image_folder},
      {"npy", read_npy},
      {"keras_hdf5", read_keras_hdf5},
      {"keras_config", read_keras_config},
      {"checkpoint", read_checkpoint},
      {"store_index", read_store_index},
      {"store_trial", read_store_trial},
      {"trial_yaml", read_trial_yaml},
      {"sweep_yaml", read_sweep_yaml},
      {"messages", read_message},
  };
  return all;
}

}  // namespace

const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = make_scratch_dir();
  static const ScratchRemover remover;
  return dir;
}

const std::vector<std::string>& reader_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& entry : readers()) v.push_back(entry.first);
    return v;
  }();
  return names;
}

std::optional<std::string> read_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto reader = readers().find(name);
  if (reader == readers().end()) throw std::invalid_argument("no reader named " + name);
  clear_scratch();
  try {
    reader->second(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const InputError& e) {
    return e.what();
  } catch (const comm::ProtocolError& e) {
    return e.what();
  }
  return std::nullopt;
}

std::vector<uint8_t> framed(const std::vector<uint8_t>& first, const std::vector<uint8_t>& rest) {
  std::vector<uint8_t> out(4);
  for (size_t i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(first.size() >> (8 * i));
  out.insert(out.end(), first.begin(), first.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace signsweep::fuzz
