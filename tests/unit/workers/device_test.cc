#include "workers/device/device.h"

#include <gtest/gtest.h>

#include "common/errors.h"
#include "tests/support/files.h"

namespace signsweep::workers {
namespace {

TEST(DeviceTest, names_are_auto_cpu_cuda_or_cuda_n) {
  for (const char* ok : {"auto", "cpu", "cuda", "cuda:0", "cuda:15"}) EXPECT_TRUE(is_device_name(ok)) << ok;
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cpu:0", " cpu"}) EXPECT_FALSE(is_device_name(bad)) << bad;
}

TEST(DeviceTest, auto_is_the_node_local_worker_index_modulo_the_gpus_and_cpu_without_gpus) {
  EXPECT_EQ(assign_device("auto", 0, 1, 0, false, "h"), "cpu");
  EXPECT_EQ(assign_device("auto", 3, 4, 0, false, "h"), "cpu");  // CPU ranks share the cores, no GPU involved
  EXPECT_EQ(assign_device("auto", 0, 2, 2, false, "h"), "cuda:0");
  EXPECT_EQ(assign_device("auto", 1, 2, 2, false, "h"), "cuda:1");
  EXPECT_EQ(assign_device("auto", 1, 2, 1, true, "h"), "cuda:0");  // two ranks share the one GPU when allowed
  EXPECT_EQ(assign_device("cuda", 2, 4, 2, true, "h"), "cuda:0");
  EXPECT_EQ(assign_device("cuda:1", 0, 1, 2, false, "h"), "cuda:1");
  EXPECT_EQ(assign_device("cpu", 0, 8, 8, false, "h"), "cpu");
}

TEST(DeviceTest, more_workers_than_gpus_missing_or_absent_gpus_are_config_errors_naming_host_and_value) {
  std::string msg = testing::message_of<ConfigError>([] { assign_device("auto", 1, 2, 1, false, "node7"); });
  EXPECT_NE(msg.find("2 worker ranks on host node7 but 1 GPU(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allow_gpu_sharing"), std::string::npos) << msg;
  msg = testing::message_of<ConfigError>([] { assign_device("cuda:0", 0, 2, 4, false, "node7"); });  // two on one GPU
  EXPECT_NE(msg.find("'cuda:0'"), std::string::npos) << msg;
  msg = testing::message_of<ConfigError>([] { assign_device("cuda", 0, 1, 0, false, "node7"); });
  EXPECT_NE(msg.find("no GPU is visible on host node7"), std::string::npos) << msg;
  msg = testing::message_of<ConfigError>([] { assign_device("cuda:2", 0, 1, 2, false, "node7"); });
  EXPECT_NE(msg.find("host node7 has 2 visible GPU(s)"), std::string::npos) << msg;
  msg = testing::message_of<ConfigError>([] { assign_device("gpu", 0, 1, 2, false, "node7"); });
  EXPECT_NE(msg.find("'gpu': must be auto, cpu, cuda or cuda:N"), std::string::npos) << msg;
}

// Each rank's visible GPUs: `n` of unknown UUID.
std::vector<std::string> unknown(int n) { return std::vector<std::string>(static_cast<size_t>(n)); }

TEST(DeviceTest, a_map_over_ranks_counts_workers_per_host_and_skips_the_scheduler) {
  // rank 0 schedules on a; ranks 1-2 on a (2 GPUs), ranks 3-4 on b (2 GPUs)
  const std::vector<std::string> hosts = {"a", "a", "a", "b", "b"};
  const std::vector<std::vector<std::string>> gpus = {{}, unknown(2), unknown(2), unknown(2), unknown(2)};
  EXPECT_EQ(assign_devices("auto", hosts, gpus, 1, false),
            (std::vector<std::string>{"", "cuda:0", "cuda:1", "cuda:0", "cuda:1"}));
  // A third worker on b with 2 GPUs: refused (naming the ranks and the GPU), then allowed to share.
  const std::vector<std::string> crowded = {"a", "a", "b", "b", "b"};
  const std::string msg = testing::message_of<ConfigError>([&] { assign_devices("auto", crowded, gpus, 1, false); });
  EXPECT_NE(msg.find("worker ranks 2, 4 on host b would share one GPU (b/cuda:0)"), std::string::npos) << msg;
  EXPECT_EQ(assign_devices("auto", crowded, gpus, 1, true),
            (std::vector<std::string>{"", "cuda:0", "cuda:0", "cuda:1", "cuda:0"}));
  EXPECT_EQ(assign_devices("auto", crowded, {{}, {}, {}, {}, {}}, 1, false),
            (std::vector<std::string>{"", "cpu", "cpu", "cpu", "cpu"}));
}

TEST(DeviceTest, gpus_are_told_apart_by_uuid_so_one_gpu_per_task_is_not_sharing) {
  // Slurm --gpus-per-task=1: four ranks on one node, each sees its own GPU as cuda:0.
  const std::vector<std::string> node = {"n", "n", "n", "n", "n"};
  const std::vector<std::vector<std::string>> own = {{}, {"GPU-a"}, {"GPU-b"}, {"GPU-c"}, {"GPU-d"}};
  EXPECT_EQ(assign_devices("auto", node, own, 1, false),
            (std::vector<std::string>{"", "cuda:0", "cuda:0", "cuda:0", "cuda:0"}));
  // The same one GPU visible to all four: that is sharing.
  const std::vector<std::vector<std::string>> same = {{}, {"GPU-a"}, {"GPU-a"}, {"GPU-a"}, {"GPU-a"}};
  const std::string msg = testing::message_of<ConfigError>([&] { assign_devices("cuda", node, same, 1, false); });
  EXPECT_NE(msg.find("worker ranks 1, 2, 3, 4 on host n would share one GPU (GPU-a)"), std::string::npos) << msg;
  // Two ranks see GPU-a, two GPU-b (two per GPU): sharing too, though each set has one GPU.
  const std::vector<std::vector<std::string>> pairs = {{}, {"GPU-a"}, {"GPU-a"}, {"GPU-b"}, {"GPU-b"}};
  EXPECT_THROW(assign_devices("auto", node, pairs, 1, false), ConfigError);
  EXPECT_EQ(assign_devices("auto", node, pairs, 1, true),
            (std::vector<std::string>{"", "cuda:0", "cuda:0", "cuda:0", "cuda:0"}));
}

}  // namespace
}  // namespace signsweep::workers
