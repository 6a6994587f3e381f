// The readers signsweep::storage holds (fuzz/readers.h: storage_readers), linked with it alone.
#include <fstream>

#include "fuzz/readers.h"
#include "storage/checkpoint.h"
#include "storage/keras.h"
#include "storage/npy.h"
#include "storage/results_store.h"

namespace signsweep::fuzz {
namespace {

namespace fs = std::filesystem;

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
  planned.kind = core::TrialKind{core::Stage::kEmbed};
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

// A catalog segment (storage/catalog.h) beside the one-trial store: read_all(false) parses every segment.
void read_store_catalog(const std::string& input) {
  static const StoreRemover store{store_of_one_trial()};
  fs::create_directories(store.dir + "/catalog");
  const std::string segment = store.dir + "/catalog/00000000000000000000.cbor";
  std::ofstream(segment, std::ios::binary | std::ios::trunc).write(input.data(), static_cast<std::streamsize>(input.size()));
  storage::ResultsStore::open_existing(store.dir).read_all(false);
}

}  // namespace

const Readers& storage_readers() {
  static const Readers readers{
      {"npy", read_npy},
      {"keras_hdf5", read_keras_hdf5},
      {"keras_config", read_keras_config},
      {"checkpoint", read_checkpoint},
      {"store_index", read_store_index},
      {"store_trial", read_store_trial},
      {"store_catalog", read_store_catalog},
  };
  return readers;
}

}  // namespace signsweep::fuzz
