// Input that asks for more than signsweep's limits (common/limits.h, docs/hardening.md "Input limits") is refused with
// an InputError naming the file and the limit, before memory is allocated for it; headers that promise more
// data than their file holds are refused as truncated, before the allocation too. Each case here is an input
// a fuzzer or a review found mishandled (a huge allocation, a write past a buffer, a hang).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "comm/messages.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/json.h"
#include "orchestrator/sweep.h"
#include "storage/h5.h"
#include "storage/keras.h"
#include "storage/npy.h"
#include "storage/results_store.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"

namespace signsweep {
namespace {

using testing::message_of;
using testing::TempDir;

std::vector<uint8_t> big_endian_u32s(const std::vector<uint32_t>& values) {
  std::vector<uint8_t> out;
  for (const uint32_t v : values)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
  return out;
}

TEST(InputLimits, idx_header_asking_for_billions_of_images_is_refused) {
  TempDir dir;
  testing::write_bytes(dir.file("images"), big_endian_u32s({0x803, 0xFFFFFFFF, 28, 28}));
  testing::write_idx_labels(dir.file("labels"), {1}, false);
  const std::string message = message_of<DataError>([&] { workers::read_idx_pair(dir.file("images"), dir.file("labels"), 10); });
  EXPECT_NE(message.find("image count 4294967295 exceeds signsweep's limit"), std::string::npos) << message;
}

TEST(InputLimits, idx_header_promising_more_pixels_than_the_file_holds_is_truncated) {
  for (const bool gz : {false, true}) {
    TempDir dir;
    // 100000 images of 64x64 within every limit, in a file of a few bytes (plain, or gzip's 1032:1 at most).
    testing::write_idx_images(dir.file("images"), 1, 2, 2, {1, 2, 3, 4}, gz);
    std::vector<uint8_t> bytes = big_endian_u32s({0x803, 100000, 64, 64});
    bytes.insert(bytes.end(), {1, 2, 3, 4});
    if (!gz) testing::write_bytes(dir.file("images"), bytes);
    if (gz) {
      gzFile f = gzopen(dir.file("images").c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    }
    testing::write_idx_labels(dir.file("labels"), {1}, gz);
    const std::string message = message_of<DataError>([&] { workers::read_idx_pair(dir.file("images"), dir.file("labels"), 10); });
    EXPECT_NE(message.find("header promises 409600000 bytes of pixels"), std::string::npos) << gz << ": " << message;
  }
}

TEST(InputLimits, idx_label_header_past_its_file_is_truncated_when_probing) {
  TempDir dir;
  testing::write_idx_images(dir.file("train-images-idx3-ubyte"), 1, 2, 2, {1, 2, 3, 4}, false);
  testing::write_bytes(dir.file("train-labels-idx1-ubyte"), big_endian_u32s({0x801, 3000000000U}));
  const std::string message = message_of<DataError>([&] { workers::probe_idx_dataset(dir.path().string(), "fashion-mnist"); });
  EXPECT_NE(message.find("label count 3000000000 exceeds"), std::string::npos) << message;
}

TEST(InputLimits, npy_shapes_past_the_element_limit_or_overflowing_are_refused) {
  for (const std::string shape : {"(1000000000, 1000000000)", "(4294967296, 4294967296, 4294967296)"}) {
    const std::string message = message_of<DataError>(
        [&] { storage::parse_npy(testing::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", "abcd"), "k.npy"); });
    EXPECT_NE(message.find("k.npy: element count"), std::string::npos) << shape << ": " << message;
  }
}

TEST(InputLimits, npy_dtype_size_that_is_not_a_number_is_refused_as_unsupported) {
  const std::string message = message_of<DataError>(
      [&] { storage::parse_npy(testing::npy_bytes("{'descr': '|b\x17" "1', 'fortran_order': False, 'shape': (2,), }", "ab"), "k.npy"); });
  EXPECT_NE(message.find("unsupported dtype"), std::string::npos) << message;
}

TEST(InputLimits, npy_header_longer_than_numpys_limit_is_refused) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'pad': '" + std::string(20000, 'x') + "'}";
  const std::string message = message_of<DataError>([&] { storage::parse_npy(testing::npy_bytes(dict, "abcd", 2), "k.npy"); });
  EXPECT_NE(message.find(".npy header bytes 20"), std::string::npos) << message;
}

TEST(InputLimits, yaml_alias_expansion_past_the_node_limit_is_refused) {
  // Nine levels of ten aliases each: a billion nodes when expanded, a few hundred bytes of text.
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) text += ", " + prev;
    text += "]\n";
  }
  const std::string message = message_of<InputError>([&] { common::ConfigNode::load_string(text, "bomb.yaml"); });
  EXPECT_NE(message.find("bomb.yaml: YAML node count (aliases expanded)"), std::string::npos) << message;
}

TEST(InputLimits, yaml_nesting_past_the_depth_limit_and_oversized_files_are_refused) {
  const std::string deep = "a: " + std::string(100, '[') + std::string(100, ']') + "\n";
  const std::string depth = message_of<InputError>([&] { common::ConfigNode::load_string(deep, "deep.yaml"); });
  EXPECT_NE(depth.find("deep.yaml: YAML nesting depth 65 exceeds"), std::string::npos) << depth;
  const std::string big = "a: \"" + std::string(5 << 20, 'x') + "\"\n";
  const std::string size = message_of<InputError>([&] { common::ConfigNode::load_string(big, "big.yaml"); });
  EXPECT_NE(size.find("big.yaml: YAML bytes"), std::string::npos) << size;
}

TEST(InputLimits, sweep_grid_multiplying_past_the_trial_limit_is_refused_before_expansion) {
  TempDir dir;
  std::string text = "base: {}\ngrid:\n";
  for (int axis = 0; axis < 6; ++axis) text += "  a" + std::to_string(axis) + ": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n";
  testing::write_text(dir.file("grid.yaml"), text);
  const std::string message = message_of<InputError>([&] { orchestrator::load_sweep(dir.file("grid.yaml")); });
  EXPECT_NE(message.find("trial count (grid points x (1 + attack points)) 1000000 exceeds"), std::string::npos) << message;
}

TEST(InputLimits, json_nesting_past_the_depth_limit_is_refused) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::string message = message_of<DataError>([&] { common::parse_json(deep, "plan"); });
  EXPECT_NE(message.find("plan: JSON nesting depth 65 exceeds"), std::string::npos) << message;
}

TEST(InputLimits, malformed_messages_between_ranks_are_protocol_errors) {
  EXPECT_NE(message_of<comm::ProtocolError>([] { comm::decode_task("{\"id\": 3}"); }).find("malformed task message"), std::string::npos);
  EXPECT_NE(message_of<comm::ProtocolError>([] { comm::decode_result("not json"); }).find("malformed result message"), std::string::npos);
  EXPECT_NE(message_of<comm::ProtocolError>([] { comm::decode_progress(std::string(100, '[')); }).find("nesting depth"),
            std::string::npos);
}

// nlohmann's get<int64_t>() casts a float to the integer unchecked (undefined past its range), and an integer
// of more than 64 bits parses as a float: a fuzzer's progress message with a bin count of 21 digits.
TEST(InputLimits, json_integers_are_read_checked_never_cast) {
  EXPECT_EQ(common::json_integer(nlohmann::json::parse("7"), "n", 1), 7);
  EXPECT_EQ(common::json_integer(nlohmann::json::parse("-7"), "n"), -7);
  EXPECT_EQ(common::json_number(nlohmann::json::parse("7"), "x"), 7.0);
  for (const char* bad : {"1e30", "222222222222222222222", "18446744073709551615", "7.0", "true", "\"7\"", "null"})
    EXPECT_NE(message_of<DataError>([&] { common::json_integer(nlohmann::json::parse(bad), "n"); })
                  .find("n: expected an integer in [-9223372036854775808, 9223372036854775807], got"),
              std::string::npos)
        << bad;
  EXPECT_NE(message_of<DataError>([] { common::json_integer(nlohmann::json::parse("-1"), "count", 0); })
                .find("count: expected an integer in [0, 9223372036854775807], got -1"),
            std::string::npos);
  EXPECT_NE(message_of<DataError>([] { common::json_number(nlohmann::json::parse("true"), "x"); }).find("x: expected a number, got true"),
            std::string::npos);
}

// Replaces the first `from` in `text` by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST(InputLimits, a_message_number_out_of_its_fields_range_is_a_protocol_error) {
  comm::Progress p;
  p.step = 3;
  p.step_times.add(0.02);
  const std::string progress = comm::encode(p);
  const auto refusal = [](const std::string& message) {
    return message_of<comm::ProtocolError>([&] { comm::decode_progress(message); });
  };
  EXPECT_NE(refusal(replaced(progress, "\"counts\":[0", "\"counts\":[222222222222222222222")).find("counts[0]: expected an integer"),
            std::string::npos);
  EXPECT_NE(refusal(replaced(progress, "\"counts\":[0", "\"counts\":[-1")).find("counts[0]: expected an integer in [0,"),
            std::string::npos);
  EXPECT_NE(refusal(replaced(progress, "\"step\":3", "\"step\":1e30")).find("step: expected an integer"), std::string::npos);
  EXPECT_NE(refusal(replaced(progress, "\"group\":0", "\"group\":4294967296")).find("group: expected an integer in [-2147483648, 2147483647]"),
            std::string::npos);
  EXPECT_NE(refusal(replaced(progress, "\"loss\":0.0", "\"loss\":true")).find("loss: expected a number"), std::string::npos);
}

TEST(InputLimits, a_keras_dimension_or_stride_that_is_not_an_integer_is_refused) {
  const auto config = [](const std::string& shape, const std::string& strides) {
    return R"({"config": {"layers": [{"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": )" + shape +
           R"(}}, {"class_name": "Conv2D", "config": {"name": "c", "strides": )" + strides + "}}]}}";
  };
  EXPECT_EQ(storage::parse_keras_config(config("[null, 28, 28, 1]", "[1, 1]"), "m.h5").input_shape, (std::vector<int64_t>{28, 28, 1}));
  EXPECT_NE(message_of<DataError>([&] { storage::parse_keras_config(config("[null, 1e30, 28, 1]", "[1, 1]"), "m.h5"); })
                .find("m.h5: model_config: batch_input_shape: expected an integer in [1,"),
            std::string::npos);
  EXPECT_NE(message_of<DataError>([&] { storage::parse_keras_config(config("[null, 28, 28, 1]", "[2.5, 1]"), "m.h5"); })
                .find("m.h5: model_config: strides[0]: expected an integer in [1,"),
            std::string::npos);
}

// Writes attribute `name` of `count` doubles on the root group (signsweep only ever writes scalars).
void write_array_attribute(const std::string& path, const std::string& name, hsize_t count) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t attr = H5Acreate2(file, name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);
  const std::vector<double> values(count, 1.0);
  H5Awrite(attr, H5T_NATIVE_DOUBLE, values.data());
  H5Aclose(attr);
  H5Sclose(space);
  H5Fclose(file);
}

TEST(InputLimits, an_attribute_of_many_values_read_as_one_is_refused_not_overflowed) {
  TempDir dir;
  { storage::File f(dir.file("a.h5"), storage::OpenMode::kTruncate); }
  write_array_attribute(dir.file("a.h5"), "num_classes", 1000);
  const storage::File f(dir.file("a.h5"), storage::OpenMode::kReadOnly);
  const std::string as_int = message_of<DataError>([&] { f.int_attribute("/", "num_classes"); });
  EXPECT_NE(as_int.find("read attribute num_classes (one integer) failed"), std::string::npos) << as_int;
  const std::string as_double = message_of<DataError>([&] { f.double_attribute("/", "num_classes"); });
  EXPECT_NE(as_double.find("(one number)"), std::string::npos) << as_double;
  EXPECT_THROW(f.double_attributes("/"), DataError);
}

TEST(InputLimits, a_store_whose_plan_names_a_path_instead_of_a_trial_id_is_refused) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "store");
  {
    storage::File f(dir.file("store/sweep.h5"), storage::OpenMode::kTruncate);
    f.set_attribute("/", "format", std::string(storage::kSweepFormat));
    f.set_attribute("/", "format_version", storage::kSweepFormatVersion);
    f.set_attribute("/", "sweep_hash", std::string("feedface"));
    f.set_attribute("/", "sweep_file", std::string("s.yaml"));
    f.write_string("/sweep", "name: s\n");
    f.write_string("/plan", R"([{"id": "../../../tmp/x", "kind": "embed", "label": "", "parent": "", "axes": {}, "config": ""}])");
  }
  const std::string message = message_of<DataError>([&] { storage::ResultsStore::open_existing(dir.file("store")); });
  EXPECT_NE(message.find("names a trial '../../../tmp/x': not a trial id"), std::string::npos) << message;
}

// A PNG chunk: length, type, data, CRC of type and data.
void append_png_chunk(std::vector<uint8_t>& out, const std::string& type, const std::vector<uint8_t>& data) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(data.size() >> shift));
  std::vector<uint8_t> body(type.begin(), type.end());
  for (const uint8_t b : data) body.push_back(b);
  for (const uint8_t b : body) out.push_back(b);
  const uLong crc = crc32(0, body.data(), static_cast<uInt>(body.size()));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(crc >> shift));
}

// The chunks of a width x height RGB PNG without its pixel data (an empty IDAT): what a header says, no more.
std::vector<uint8_t> png_header(uint32_t width, uint32_t height) {
  std::vector<uint8_t> ihdr;
  for (const uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) ihdr.push_back(static_cast<uint8_t>(v >> shift));
  for (const uint8_t b : {8, 2, 0, 0, 0}) ihdr.push_back(b);  // 8-bit RGB, deflate, adaptive filter, no interlace
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  append_png_chunk(out, "IHDR", ihdr);
  append_png_chunk(out, "IDAT", {});
  append_png_chunk(out, "IEND", {});
  return out;
}

TEST(InputLimits, an_image_whose_header_asks_for_a_huge_decode_is_refused) {
  TempDir dir;
  for (const char* split : {"train", "test"}) {
    std::filesystem::create_directories(dir.path() / split / "a");
    testing::write_bytes(dir.file(std::string(split) + "/a/0.png"), png_header(60000, 60000));
  }
  const std::string message =
      message_of<DataError>([&] { workers::load_image_folder(dir.path().string(), workers::ImageFolderOptions{}, "f"); });
  EXPECT_NE(message.find("image height 60000 exceeds"), std::string::npos) << message;
}

}  // namespace
}  // namespace signsweep
