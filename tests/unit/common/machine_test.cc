#include "common/machine.h"

#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>

namespace signsweep::common {
namespace {

const std::vector<int> kTwoCores{0, 1};

// Rank 0 (the scheduler) and `workers` worker ranks on one host, every mask `cpus` (mpirun --bind-to none).
std::vector<RankCores> one_node(int workers, const std::vector<int>& cpus) {
  std::vector<RankCores> ranks{{"node1", cpus, 0, false}};
  for (int w = 0; w < workers; ++w) ranks.push_back({"node1", cpus, 0, true});
  return ranks;
}

TEST(ShareCoresTest, workers_sharing_a_mask_divide_it_and_the_scheduler_counts_as_none) {
  const auto shares = share_cores(one_node(2, kTwoCores));  // mpirun -np 3 --bind-to none on 2 cores
  ASSERT_EQ(shares.size(), 3U);
  EXPECT_EQ(shares[1].threads, 1);
  EXPECT_EQ(shares[2].threads, 1);
  EXPECT_NE(shares[1].why.find("shared by 2 worker rank(s) on node1"), std::string::npos) << shares[1].why;
  EXPECT_EQ(share_cores(one_node(2, {0, 1, 2, 3, 4, 5, 6, 7}))[1].threads, 4);
  EXPECT_EQ(share_cores(one_node(3, {0, 1, 2, 3, 4, 5, 6, 7}))[1].threads, 2);  // 8 / 3, rounded down
}

TEST(ShareCoresTest, more_workers_than_cores_get_one_thread_each) {
  const auto shares = share_cores(one_node(4, kTwoCores));  // the README's --oversubscribe -np 5
  for (size_t r = 1; r < shares.size(); ++r) EXPECT_EQ(shares[r].threads, 1);
}

TEST(ShareCoresTest, a_lone_worker_keeps_its_whole_mask) {
  EXPECT_EQ(share_cores(one_node(1, {0, 1, 2, 3}))[1].threads, 4);
}

TEST(ShareCoresTest, disjoint_masks_do_not_share) {  // mpirun --bind-to socket / core
  std::vector<RankCores> ranks{{"node1", {0, 1, 2, 3}, 0, false}, {"node1", {0, 1}, 0, true}, {"node1", {2, 3}, 0, true}};
  const auto shares = share_cores(ranks);
  EXPECT_EQ(shares[1].threads, 2);
  EXPECT_EQ(shares[2].threads, 2);
}

TEST(ShareCoresTest, ranks_on_other_hosts_do_not_share) {
  std::vector<RankCores> ranks{{"a", kTwoCores, 0, false}, {"a", kTwoCores, 0, true}, {"b", kTwoCores, 0, true},
                               {"b", kTwoCores, 0, true}};
  const auto shares = share_cores(ranks);
  EXPECT_EQ(shares[1].threads, 2);
  EXPECT_EQ(shares[2].threads, 1);
  EXPECT_EQ(shares[3].threads, 1);
}

TEST(ShareCoresTest, slurm_cpus_per_task_decides_capped_by_the_mask) {
  std::vector<RankCores> ranks{{"n", {0, 1, 2, 3, 4, 5, 6, 7}, 4, false}, {"n", {0, 1, 2, 3, 4, 5, 6, 7}, 4, true},
                               {"n", {0, 1, 2, 3, 4, 5, 6, 7}, 4, true}, {"n", kTwoCores, 8, true}};
  const auto shares = share_cores(ranks);
  EXPECT_EQ(shares[1].threads, 4);  // srun --cpus-per-task=4 without binding: the mask is the node
  EXPECT_EQ(shares[2].threads, 4);
  EXPECT_EQ(shares[3].threads, 2);  // more asked than the mask holds
  EXPECT_NE(shares[1].why.find("SLURM_CPUS_PER_TASK=4"), std::string::npos) << shares[1].why;
}

TEST(MachineTest, slurm_cpus_per_task_is_read_only_when_a_positive_integer) {
  const auto with = [](const char* value) {
    ::setenv("SLURM_CPUS_PER_TASK", value, 1);
    const int n = slurm_cpus_per_task();
    ::unsetenv("SLURM_CPUS_PER_TASK");
    return n;
  };
  EXPECT_EQ(with("6"), 6);
  EXPECT_EQ(with("0"), 0);
  EXPECT_EQ(with("-2"), 0);
  EXPECT_EQ(with("4x"), 0);
  EXPECT_EQ(with("many"), 0);
  EXPECT_EQ(slurm_cpus_per_task(), 0);
}

TEST(MachineTest, the_affinity_mask_lists_as_many_cpus_as_it_counts) {
  const std::vector<int> cpus = affinity_cpus();
  EXPECT_EQ(static_cast<int>(cpus.size()), usable_cores());
  EXPECT_TRUE(std::is_sorted(cpus.begin(), cpus.end()));
}

}  // namespace
}  // namespace signsweep::common
