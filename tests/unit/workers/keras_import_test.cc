// The paper's released model, imported and read: a model nobody here trained. If our ResNet-20,
// preprocessing and extraction are the reference's, it classifies CIFAR-10 and its 64 bits come back.
#include "workers/keras_import.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/schemes/verdict.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

const std::string kRef = std::string(SIGNSWEEP_SHARED_DIR) + "/reference/gradsigns-cifar10-64bit";

TEST(KerasImportTest, released_model_maps_onto_resnet20_and_its_keys_are_consistent) {
  if (!std::filesystem::exists(kRef)) GTEST_SKIP() << kRef << " not present";
  const ImportedModel m = import_keras_resnet20(kRef + "/model.hdf5");
  EXPECT_EQ(m.input_shape, (ImageShape{3, 32, 32}));
  EXPECT_EQ(m.num_classes, 10);
  EXPECT_EQ(count_parameters(*m.model), 273066);
  const WatermarkSecrets s = load_reference_secrets(kRef, m.input_shape, 10, 0);
  EXPECT_EQ(s.bits(), 64);
  EXPECT_EQ(s.num_carriers(), 384);
}

TEST(KerasImportTest, released_watermark_reads_back_on_cifar10) {
  const char* data = std::getenv("SIGNSWEEP_CIFAR10_JPEG_DIR");
  if (!std::filesystem::exists(kRef) || data == nullptr) GTEST_SKIP() << "needs the reference and SIGNSWEEP_CIFAR10_JPEG_DIR";
  TrainSpec threads;
  seed_and_set_threads(threads);
  const ImportedModel m = import_keras_resnet20(kRef + "/model.hdf5");
  const WatermarkSecrets s = load_reference_secrets(kRef, m.input_shape, 10, 0);
  DatasetSpec spec;
  spec.name = "image-folder";
  spec.path = data;
  spec.test_per_class = 200;  // accuracy on 2,000 test images keeps the test short
  const Dataset ds = prepare_dataset(load_raw_dataset(spec), spec);
  const double acc = evaluate_accuracy(*m.model, ds.test, 500);
  const GradSigns gs(s, m.input_shape, 0.0);
  const Extraction e = extract_white_box(*m.model, gs, target_images(ds.test, 0, 200, 1), 50, 4, 2);
  const Verdict v = decide(e.bits, s.signature);
  std::printf("released model: accuracy %.4f on %lld test images, white-box BER %.4f (%lld/64 bits), p %.3g\n", acc,
              static_cast<long long>(ds.test.size()), e.ber, static_cast<long long>(v.matched), v.p_value);
  // 80.5% on all 10,000 JPEG test images: the q75 re-encoding costs a model trained on the official files
  // several points (../shared/data/README.md); a wrong architecture or preprocessing lands far lower.
  EXPECT_GT(acc, 0.78);
  EXPECT_LE(e.ber, 2.0 / 64);
  EXPECT_TRUE(v.owned);
}

TEST(KerasImportTest, foreign_or_damaged_files_are_refused) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("x.hdf5"), {'n', 'o'});
  EXPECT_THROW(import_keras_resnet20(dir.file("x.hdf5")), DataError);
  EXPECT_THROW(load_reference_secrets(dir.path().string(), ImageShape{3, 32, 32}, 10, 0), DataError);
}

}  // namespace
}  // namespace signsweep::workers
