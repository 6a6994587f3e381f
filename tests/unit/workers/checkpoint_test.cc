#include "workers/evaluation/checkpoint_io.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/config.h"
#include "common/errors.h"
#include "storage/h5.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"
#include "workers/gradsigns/gradsigns.h"

namespace signsweep::workers {
namespace {

const char* kConfig =
    "dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3}\n"
    "model: {name: small-cnn, width: 4}\n"
    "watermark: {bits: 8, carriers: 6, lambda: 0.5, target_class: 2, seed: 9}\n";

struct Saved {
  TrialConfig config;
  Dataset ds;
  Classifier model;
  WatermarkSecrets secrets;
};

Saved save_one(const std::string& path) {
  Saved s{parse_trial_config(common::ConfigNode::load_string(kConfig, "c.yaml")), {}, nullptr, {}};
  s.ds = prepare_dataset(load_raw_dataset(s.config.dataset), s.config.dataset);
  torch::manual_seed(0);
  s.model = build_model(s.config.model, s.ds.shape, s.ds.num_classes);
  s.model->train();
  s.model->forward(s.ds.train.images.narrow(0, 0, 16));  // move BatchNorm statistics off their defaults
  s.secrets = generate_secrets(8, 6, 2, s.ds.shape, 3, FlattenOrder::kNhwc, 9);
  const GradSigns gs(s.secrets, s.ds.shape, 0.5);
  save_model_checkpoint(path, *s.model, s.config, s.ds, &gs, {{"test_accuracy", 0.25}});
  return s;
}

TEST(CheckpointTest, round_trip_restores_every_tensor_secret_and_the_function) {
  testing::TempDir dir;
  const Saved s = save_one(dir.file("m.h5"));
  const LoadedModel m = load_model_checkpoint(dir.file("m.h5"));
  for (const auto& p : s.model->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), m.model->named_parameters()[p.key()]));
  for (const auto& b : s.model->named_buffers()) EXPECT_TRUE(torch::equal(b.value(), m.model->named_buffers()[b.key()]));
  s.model->eval();
  m.model->eval();
  const torch::Tensor x = s.ds.test.images.narrow(0, 0, 8);
  EXPECT_TRUE(torch::equal(s.model->forward(x), m.model->forward(x)));
  const auto* gs = dynamic_cast<const GradSigns*>(m.scheme.get());
  ASSERT_NE(gs, nullptr);
  EXPECT_EQ(gs->secrets().signature, s.secrets.signature);
  EXPECT_EQ(gs->secrets().carriers, s.secrets.carriers);
  EXPECT_EQ(gs->secrets().key, s.secrets.key);
  EXPECT_EQ(gs->secrets().target_class, 2);
  EXPECT_DOUBLE_EQ(gs->lambda(), 0.5);
  EXPECT_DOUBLE_EQ(m.metrics.at("test_accuracy"), 0.25);
  EXPECT_TRUE(torch::equal(m.normalizer.mean(), s.ds.normalizer.mean()));
  EXPECT_EQ(m.config.model.width, 4);
}

TEST(CheckpointTest, layout_is_readable_by_h5dump) {
  testing::TempDir dir;
  save_one(dir.file("m.h5"));
  const std::string out = dir.file("ls.txt");
  ASSERT_EQ(std::system(("h5dump -n " + dir.file("m.h5") + " > " + out).c_str()), 0);
  const auto bytes = testing::read_bytes(out);
  const std::string text(bytes.begin(), bytes.end());
  for (const char* obj : {"/model/parameters/conv1.weight", "/model/buffers/bn1.running_mean", "/watermark/key",
                          "/watermark/carriers", "/config", "/data/mean"})
    EXPECT_NE(text.find(obj), std::string::npos) << obj << "\n" << text;
}

TEST(CheckpointTest, another_architecture_is_refused_with_the_tensor_named) {
  testing::TempDir dir;
  save_one(dir.file("m.h5"));
  const storage::Checkpoint c = storage::load_checkpoint(dir.file("m.h5"));
  const Classifier wider = build_model(ModelSpec{"small-cnn", true, 5}, ImageShape{1, 8, 8}, 3);
  try {
    load_state_into(*wider, c, "m.h5");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("m.h5: parameter 'conv1.weight' has shape [4,1,3,3] but model small-cnn expects [5,1,3,3]"),
              std::string::npos) << e.what();
  }
  const Classifier resnet = build_model(ModelSpec{"resnet20"}, ImageShape{1, 8, 8}, 3);
  EXPECT_THROW(load_state_into(*resnet, c, "m.h5"), DataError);
}

TEST(CheckpointTest, key_of_the_wrong_shape_and_foreign_files_are_refused) {
  testing::TempDir dir;
  save_one(dir.file("m.h5"));
  storage::Checkpoint c = storage::load_checkpoint(dir.file("m.h5"));
  c.watermark.key.resize(c.watermark.key.size() + 8, 0.1F);  // 8 x 7 key for 6 carriers
  storage::save_checkpoint(dir.file("bad.h5"), c);
  try {
    load_model_checkpoint(dir.file("bad.h5"));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("key has 56 values, expected 8 x 6"), std::string::npos) << e.what();
  }
  {
    storage::File f(dir.file("other.h5"), storage::OpenMode::kTruncate);
    f.set_attribute("/", "x", 1.0);
  }
  EXPECT_THROW(load_model_checkpoint(dir.file("other.h5")), DataError);
  testing::write_bytes(dir.file("junk.h5"), {1, 2, 3});
  EXPECT_THROW(load_model_checkpoint(dir.file("junk.h5")), DataError);
}

}  // namespace
}  // namespace signsweep::workers
