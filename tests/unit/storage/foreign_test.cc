// Reading model files signsweep did not write (storage/foreign.h): what comes back through the child's copy
// equals what the ordinary reader gives, and the files that crash or hang HDF5 1.10.8 itself
// (fuzz/known/hdf5-1.10.8/) are refused as bad input while this process lives on.
#include "storage/foreign.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "common/errors.h"
#include "tests/support/files.h"

namespace signsweep::storage {
namespace {

namespace fs = std::filesystem;

Array floats(std::vector<int64_t> shape, float first) {
  Array a;
  a.shape = std::move(shape);
  a.f32.resize(static_cast<size_t>(a.numel()));
  for (size_t i = 0; i < a.f32.size(); ++i) a.f32[i] = first + 0.25F * static_cast<float>(i);
  return a;
}

Checkpoint watermarked_checkpoint() {
  Checkpoint c;
  c.model = "cnn";
  c.config_yaml = "model: {name: cnn}\n";
  c.created_by = "signsweep test";
  c.origin = "a suspect";
  c.parameters = {{"conv.weight", floats({2, 1, 3, 3}, -1)}, {"fc.bias", floats({10}, 0.5F)}};
  Array steps;
  steps.shape = {1};
  steps.is_int = true;
  steps.i64 = {42};
  c.buffers = {{"bn.num_batches_tracked", steps}};
  c.dataset = "fashion_mnist";
  c.input_shape = {1, 28, 28};
  c.num_classes = 10;
  c.normalization = "mean_std";
  c.mean = floats({1}, 0.2F);
  c.inv_std = floats({1}, 3.0F);
  c.has_watermark = true;
  c.watermark.signature = {1, 0, 1, 1};
  c.watermark.carriers = {3, 7};
  c.watermark.key = floats({4, 2}, -0.5F).f32;
  c.watermark.seed = 7;
  c.watermark.lambda = 0.3;
  c.metrics = {{"test_accuracy", 0.875}};
  return c;
}

void expect_same_arrays(const std::vector<std::pair<std::string, Array>>& a, const std::vector<std::pair<std::string, Array>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.shape, b[i].second.shape);
    EXPECT_EQ(a[i].second.f32, b[i].second.f32);
    EXPECT_EQ(a[i].second.i64, b[i].second.i64);
  }
}

TEST(ForeignTest, a_checkpoint_read_through_the_childs_copy_equals_the_direct_read) {
  const testing::TempDir dir;
  save_checkpoint(dir.file("model.h5"), watermarked_checkpoint());
  const Checkpoint direct = load_checkpoint(dir.file("model.h5"));
  const Checkpoint copied = load_foreign_checkpoint(dir.file("model.h5"));
  EXPECT_EQ(copied.model, direct.model);
  EXPECT_EQ(copied.config_yaml, direct.config_yaml);
  EXPECT_EQ(copied.created_by, direct.created_by);
  EXPECT_EQ(copied.origin, direct.origin);
  expect_same_arrays(copied.parameters, direct.parameters);
  expect_same_arrays(copied.buffers, direct.buffers);
  EXPECT_EQ(copied.input_shape, direct.input_shape);
  EXPECT_EQ(copied.mean.f32, direct.mean.f32);
  EXPECT_EQ(copied.inv_std.f32, direct.inv_std.f32);
  ASSERT_TRUE(copied.has_watermark);
  EXPECT_EQ(copied.watermark.signature, direct.watermark.signature);
  EXPECT_EQ(copied.watermark.carriers, direct.watermark.carriers);
  EXPECT_EQ(copied.watermark.key, direct.watermark.key);
  EXPECT_EQ(copied.watermark.lambda, direct.watermark.lambda);
  EXPECT_EQ(copied.metrics, direct.metrics);
}

TEST(ForeignTest, the_readers_own_refusal_comes_back_unchanged) {
  const testing::TempDir dir;
  testing::write_text(dir.file("notes.h5"), "not HDF5 at all");
  std::string direct, foreign;
  try { load_checkpoint(dir.file("notes.h5")); } catch (const DataError& e) { direct = e.what(); }
  try { load_foreign_checkpoint(dir.file("notes.h5")); } catch (const DataError& e) { foreign = e.what(); }
  EXPECT_FALSE(direct.empty());
  EXPECT_EQ(foreign, direct);
}

// Points TMPDIR (where std::filesystem::temp_directory_path, so the private copies, go) at a folder for this
// scope: ctest runs other tests beside this one, whose copies come and go in the shared temporary folder.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const fs::path& dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScopedTmpdir() { old_ ? ::setenv("TMPDIR", old_->c_str(), 1) : ::unsetenv("TMPDIR"); }
  ScopedTmpdir(const ScopedTmpdir&) = delete;
  ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;

 private:
  std::optional<std::string> old_;
};

TEST(ForeignTest, no_copy_is_left_in_the_temporary_folder) {
  const testing::TempDir dir, tmp;
  save_checkpoint(dir.file("model.h5"), watermarked_checkpoint());
  const ScopedTmpdir private_tmp(tmp.path());
  load_foreign_checkpoint(dir.file("model.h5"));
  EXPECT_THROW(load_foreign_checkpoint(dir.file("missing.h5")), DataError);
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "left in " << tmp.path() << ": " << fs::directory_iterator(tmp.path())->path();
}

KerasModel small_keras_model() {
  KerasModel m;
  m.keras_version = "2.2.4";
  m.input_shape = {4, 4, 3};
  KerasLayer input{"input_1", "InputLayer", "", {}, 0.0, {}};
  KerasLayer conv{"conv2d_1", "Conv2D", "same", {1, 1}, 0.0, {{"kernel", floats({3, 3, 3, 2}, -2)}, {"bias", floats({2}, 1)}}};
  KerasLayer bn{"batch_normalization_1", "BatchNormalization", "", {}, 1e-3,
                {{"gamma", floats({2}, 1)}, {"beta", floats({2}, 0)}}};
  KerasLayer flat{"flatten_1", "Flatten", "", {}, 0.0, {}};
  KerasLayer dense{"dense_1", "Dense", "", {}, 0.0, {{"kernel", floats({32, 10}, 0)}}};
  m.layers = {input, conv, bn, flat, dense};
  return m;
}

void expect_same_keras(const KerasModel& a, const KerasModel& b) {
  EXPECT_EQ(a.keras_version, b.keras_version);
  EXPECT_EQ(a.input_shape, b.input_shape);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const KerasLayer& x = a.layers[i];
    const KerasLayer& y = b.layers[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.class_name, y.class_name);
    EXPECT_EQ(x.padding, y.padding);
    EXPECT_EQ(x.strides, y.strides);
    EXPECT_EQ(x.epsilon, y.epsilon);
    ASSERT_EQ(x.weights.size(), y.weights.size()) << x.name;
    for (const auto& [name, array] : x.weights) {
      ASSERT_EQ(y.weights.count(name), 1U) << x.name << "/" << name;
      EXPECT_EQ(array.shape, y.weights.at(name).shape);
      EXPECT_EQ(array.f32, y.weights.at(name).f32);
    }
  }
}

TEST(ForeignTest, a_keras_model_written_by_write_keras_model_reads_back_the_same) {
  const testing::TempDir dir;
  write_keras_model(dir.file("m.hdf5"), small_keras_model());
  expect_same_keras(read_keras_model(dir.file("m.hdf5")), small_keras_model());
  expect_same_keras(read_foreign_keras_model(dir.file("m.hdf5")), small_keras_model());
}

TEST(ForeignTest, the_released_keras_model_reads_the_same_through_the_childs_copy) {
  const std::string released = std::string(SIGNSWEEP_SHARED_DIR) + "/reference/gradsigns-cifar10-64bit/model.hdf5";
  if (!fs::exists(released)) GTEST_SKIP() << released << " not present";
  expect_same_keras(read_foreign_keras_model(released), read_keras_model(released));
}

// fuzz/known/hdf5-1.10.8/<reader>-<where>-<what>: each crashes, hangs or over-allocates inside HDF5 1.10.8
// when read in-process. Read as a foreign file, each is a DataError naming it (a crash of the child, its
// time-out, its memory limit, or HDF5's own error where a newer HDF5 catches the corruption), in bounded time.
class KnownHdf5Fault : public ::testing::TestWithParam<std::string> {};

TEST_P(KnownHdf5Fault, is_a_data_error_naming_the_file_and_this_process_lives_on) {
  const std::string file = std::string(SIGNSWEEP_KNOWN_HDF5_DIR) + "/" + GetParam();
  common::IsolationLimits limits;
  limits.seconds = 3;  // the loops never end: what matters is that they are cut and reported
  try {
    if (GetParam().rfind("keras_hdf5", 0) == 0)
      read_foreign_keras_model(file, limits);
    else
      load_foreign_checkpoint(file, limits);
    FAIL() << file << " was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Hdf5_1_10_8, KnownHdf5Fault,
                         ::testing::Values("keras_hdf5-H5HG_read-heap-buffer-overflow", "keras_hdf5-H5HG_read-memcpy-overlap",
                                           "keras_hdf5-H5HG-loop", "checkpoint-H5C_protect-loop"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                           return name;
                         });

}  // namespace
}  // namespace signsweep::storage
