// Writes the seed corpus of every fuzz target: valid files made by the writers the tests use
// (tests/support/files.h) and by signsweep's own (checkpoints, stores, messages), the repository's YAML and
// the released model's configuration. Usage: fuzz_seeds <out-dir> <source-dir>  ->  <out-dir>/<reader>/seed-N
// (fuzz/readers.h names the readers and frames the inputs made of two parts).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "comm/messages.h"
#include "fuzz/readers.h"
#include "storage/checkpoint.h"
#include "storage/h5.h"
#include "storage/results_store.h"
#include "tests/support/files.h"

namespace fs = std::filesystem;
using signsweep::testing::TempDir;
using Bytes = std::vector<uint8_t>;

namespace {

class Corpus {
 public:
  explicit Corpus(fs::path out) : out_(std::move(out)) {}
  void add(const std::string& target, const Bytes& bytes) {
    const fs::path dir = out_ / target;
    fs::create_directories(dir);
    signsweep::testing::write_bytes((dir / ("seed-" + std::to_string(counts_[target]++))).string(), bytes);
  }
  void add(const std::string& target, const std::string& text) { add(target, Bytes(text.begin(), text.end())); }
  void add_file(const std::string& target, const std::string& path) { add(target, signsweep::testing::read_bytes(path)); }
  void report() const {
    for (const auto& [target, n] : counts_) std::cout << target << ": " << n << " seeds\n";
  }

 private:
  fs::path out_;
  std::map<std::string, int> counts_;
};

Bytes ramp(size_t n) {
  Bytes v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 37 % 251);
  return v;
}

void idx_seeds(Corpus& c) {
  for (const bool gz : {false, true}) {
    const TempDir dir;
    signsweep::testing::write_idx_images(dir.file("i"), 3, 4, 5, ramp(3 * 4 * 5), gz);
    signsweep::testing::write_idx_labels(dir.file("l"), {0, 9, 4}, gz);
    c.add("idx", signsweep::fuzz::framed(signsweep::testing::read_bytes(dir.file("l")), signsweep::testing::read_bytes(dir.file("i"))));
  }
}

void cifar10_seeds(Corpus& c) {
  const TempDir dir;
  signsweep::testing::write_cifar10_batch(dir.file("b"), {3, 7}, ramp(2 * 3072));
  c.add_file("cifar10_binary", dir.file("b"));
}

void svhn_seeds(Corpus& c) {
  const TempDir dir;
  for (const bool compressed : {false, true}) {
    signsweep::testing::write_svhn_mat(dir.file("s.mat"), 4, 3, ramp(4 * 3 * 3 * 2), {10.0, 3.0}, compressed);
    c.add_file("svhn_mat", dir.file("s.mat"));
  }
}

void image_seeds(Corpus& c) {
  const TempDir dir;
  for (const int channels : {1, 3}) {
    signsweep::testing::write_png(dir.file("p.png"), 5, 6, channels, ramp(5 * 6 * channels));
    signsweep::testing::write_jpeg(dir.file("j.jpg"), 5, 6, channels, ramp(5 * 6 * channels));
    const Bytes png = signsweep::testing::read_bytes(dir.file("p.png"));
    const Bytes jpeg = signsweep::testing::read_bytes(dir.file("j.jpg"));
    for (const uint8_t resize : {0, 4}) {
      const uint8_t gray = channels == 1 ? 2 : 0;
      c.add("image_folder", signsweep::fuzz::framed({static_cast<uint8_t>(1 | gray | resize)}, png));
      c.add("image_folder", signsweep::fuzz::framed({static_cast<uint8_t>(gray | resize)}, jpeg));
    }
  }
}

void npy_seeds(Corpus& c, const std::string& source_dir) {
  c.add("npy", signsweep::testing::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(24, '\x01')));
  c.add("npy", signsweep::testing::npy_bytes("{'descr': '>f8', 'fortran_order': True, 'shape': (3, 1), }", std::string(24, '\x02')));
  c.add("npy", signsweep::testing::npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", std::string("\x00\x01\x02\xff", 4)));
  c.add("npy", signsweep::testing::npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", std::string(8, '\x07')));
  c.add("npy", signsweep::testing::npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 1, 1), }", std::string("\x01\x00", 2)));
  for (const char* name : {"wm.npy", "grad_select.npy"}) {
    const std::string path = source_dir + "/../shared/reference/gradsigns-cifar10-64bit/" + name;
    if (fs::exists(path)) c.add_file("npy", path);
  }
}

const char* const kKerasConfig = R"({"class_name": "Model", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"name": "input_1", "batch_input_shape": [null, 4, 4, 3]}},
 {"class_name": "Conv2D", "config": {"name": "conv2d_1", "padding": "same", "strides": [1, 1]}},
 {"class_name": "BatchNormalization", "config": {"name": "batch_normalization_1", "epsilon": 0.001}},
 {"class_name": "Dense", "config": {"name": "dense_1"}}]}})";

void keras_seeds(Corpus& c, const std::string& source_dir) {
  using signsweep::storage::File;
  const TempDir dir;
  {
    File f(dir.file("k.hdf5"), signsweep::storage::OpenMode::kTruncate);
    f.set_attribute("/", "model_config", kKerasConfig);
    f.set_attribute("/", "keras_version", "2.2.4");
    const std::vector<float> w(3 * 3 * 3 * 2, 0.5F);
    f.write("/model_weights/conv2d_1/conv2d_1/kernel:0", {3, 3, 3, 2}, w.data());
    f.write("/model_weights/conv2d_1/conv2d_1/bias:0", {2}, w.data());
    f.write("/model_weights/dense_1/dense_1/kernel:0", {2, 3}, w.data());
  }
  c.add_file("keras_hdf5", dir.file("k.hdf5"));
  c.add("keras_config", std::string(kKerasConfig));
  const std::string released = source_dir + "/../shared/reference/gradsigns-cifar10-64bit/model.hdf5";
  if (fs::exists(released))
    c.add("keras_config", File(released, signsweep::storage::OpenMode::kReadOnly).string_attribute("/", "model_config"));
}

void checkpoint_seeds(Corpus& c) {
  using namespace signsweep::storage;
  Checkpoint ck;
  ck.model = "small_cnn";
  ck.config_yaml = "model: small_cnn\n";
  ck.created_by = "signsweep fuzz seeds";
  Array w;
  w.shape = {2, 3};
  w.f32.assign(6, 0.25F);
  ck.parameters = {{"conv1.weight", w}, {"fc.bias", w}};
  Array n;
  n.shape = {1};
  n.is_int = true;
  n.i64 = {7};
  ck.buffers = {{"bn.num_batches_tracked", n}};
  ck.dataset = "synthetic";
  ck.input_shape = {1, 2, 3};
  ck.num_classes = 3;
  ck.normalization = "per-pixel-mean";
  ck.mean = w;
  ck.inv_std = w;
  ck.metrics = {{"test_accuracy", 0.5}};
  const TempDir dir;
  save_checkpoint(dir.file("plain.h5"), ck);
  c.add_file("checkpoint", dir.file("plain.h5"));
  ck.has_watermark = true;
  ck.watermark.signature = {0, 1, 1, 0};
  ck.watermark.carriers = {1, 2};
  ck.watermark.key.assign(8, 0.5F);
  ck.watermark.lambda = 0.3;
  save_checkpoint(dir.file("marked.h5"), ck);
  c.add_file("checkpoint", dir.file("marked.h5"));
}

void store_seeds(Corpus& c) {
  using namespace signsweep::storage;
  const TempDir dir;
  PlannedTrial embed;
  embed.id = "0123456789abcdef";
  embed.kind = signsweep::core::TrialKind{signsweep::core::Stage::kEmbed};
  embed.label = "seed=0";
  embed.axes = {{"seed", "0"}};
  embed.config_yaml = "model: small_cnn\n";
  PlannedTrial attack = embed;
  attack.id = "fedcba9876543210";
  attack.kind = signsweep::core::TrialKind::attack_of(signsweep::core::AttackKind::kQuantize);
  attack.parent = embed.id;
  attack.needs = {embed.id};
  const ResultsStore store =
      ResultsStore::open_for_sweep(dir.file("s"), SweepIdentity{"feedface", "fuzz.yaml", "name: fuzz\n"}, {embed, attack}, false, false);
  TrialRecord done{embed, TrialState::kDone};
  done.attempts = 1;
  done.provenance = {{"host", "seed"}};
  done.series = {{"loss", {1.0, 0.5}}, {"accuracy", {0.2, 0.7}}};
  done.results = signsweep::core::TrialResults::from_scalars({{"test_accuracy", 0.7}, {"ber_white_box", 0.0}});
  store.write_trial(done);
  TrialRecord failed{attack, TrialState::kFailed};
  failed.error = "seed failure";
  store.write_trial(failed);
  store.flush_catalog();
  c.add_file("store_index", dir.file("s/sweep.h5"));
  c.add_file("store_catalog", dir.file("s/catalog/00000000000000000000.cbor"));
  c.add_file("store_trial", store.trial_path(embed.id));
  c.add_file("store_trial", store.trial_path(attack.id));
}

void yaml_seeds(Corpus& c, const std::string& source_dir) {
  for (const auto& entry : fs::recursive_directory_iterator(source_dir + "/experiments")) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    // Sweeps have a base (or attack_checkpoints); the rest are trial configurations.
    const bool sweep = text.str().find("\nbase:") != std::string::npos || text.str().find("attack_checkpoints:") != std::string::npos;
    c.add(sweep ? "sweep_yaml" : "trial_yaml", text.str());
  }
  for (const char* name : {"tiny-sweep.yaml", "resume-sweep.yaml"}) c.add_file("sweep_yaml", source_dir + "/tests/support/" + name);
}

void message_seeds(Corpus& c) {
  using namespace signsweep::comm;
  const auto tagged = [](char tag, const std::string& body) { return std::string(1, tag) + body; };
  Task t{"0123", signsweep::core::TrialKind{signsweep::core::Stage::kEmbed}, "seed=0", "model: small_cnn\n", "checkpoints/0123.h5", "", {"a.h5", "b.h5"}, "states/0123.pt", 2, true, 60.0};
  c.add("messages", tagged(0, encode(t)));
  Progress p;
  p.id = "0123";
  p.step_times.add({0.01, 0.2});
  p.allreduce_times.add(0.003);
  c.add("messages", tagged(1, encode(p)));
  Result r;
  r.id = "0123";
  r.ok = true;
  r.results.test_accuracy = 0.9;
  r.series = {{"loss", {1.0, 0.5}}};
  c.add("messages", tagged(2, encode(r)));
  c.add("messages", tagged(3, encode(RankReport{"node1", {"GPU-1234", ""}, {0, 1, 5}, 2})));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_seeds <out-dir> <source-dir>\n";
    return 2;
  }
  Corpus corpus(argv[1]);
  const std::string source_dir = argv[2];
  idx_seeds(corpus);
  cifar10_seeds(corpus);
  svhn_seeds(corpus);
  image_seeds(corpus);
  npy_seeds(corpus, source_dir);
  keras_seeds(corpus, source_dir);
  checkpoint_seeds(corpus);
  store_seeds(corpus);
  yaml_seeds(corpus, source_dir);
  message_seeds(corpus);
  corpus.report();
  return 0;
}
