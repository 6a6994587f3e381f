// Every reader under fuzzing (fuzz/readers.h): storage_readers() and those of workers, orchestrator and comm.
#include "fuzz/readers.h"

#include "comm/messages.h"
#include "orchestrator/sweep.h"
#include "workers/data/loaders.h"
#include "workers/train/trial_config.h"

namespace signsweep::fuzz {
namespace {

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

}  // namespace

const Readers& all_readers() {
  static const Readers readers = [] {
    Readers all = storage_readers();
    all.insert({{"idx", read_idx},
                {"cifar10_binary", read_cifar10_binary},
                {"svhn_mat", read_svhn_mat},
                {"image_folder", read_image_folder},
                {"trial_yaml", read_trial_yaml},
                {"sweep_yaml", read_sweep_yaml},
                {"messages", read_message}});
    return all;
  }();
  return readers;
}

const std::vector<std::string>& reader_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& entry : all_readers()) v.push_back(entry.first);
    return v;
  }();
  return names;
}

std::optional<std::string> read_input(const std::string& name, const uint8_t* data, size_t size) {
  return read_input(all_readers(), name, data, size);
}

}  // namespace signsweep::fuzz
