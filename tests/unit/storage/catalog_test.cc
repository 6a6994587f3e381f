// The store's catalog (storage/catalog.h): a cache that readers use only where it still describes a trial file.
#include "storage/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/results_store.h"
#include "tests/support/files.h"

namespace signsweep::storage {
namespace {

namespace fs = std::filesystem;

const SweepIdentity kSweep{"2222", "c.yaml", "grid: {}\n"};

std::vector<PlannedTrial> three_trials() {
  std::vector<PlannedTrial> plan;
  for (const char* id : {"aa01", "aa02", "aa03"})
    plan.push_back({id, core::TrialKind{core::Stage::kEmbed}, std::string("t ") + id, "", {{"seed", id}}, std::string("seed: ") + id + "\n"});
  return plan;
}

TrialRecord done(const PlannedTrial& t, double accuracy) {
  TrialRecord r;
  r.trial = t;
  r.state = TrialState::kDone;
  r.attempts = 1;
  r.provenance = {{"host", "h"}, {"git_commit", "abc"}};
  r.results.test_accuracy = accuracy;
  r.results.figures = {{"ber", 0.25}};
  r.series["loss"] = {1.0, 0.5};
  return r;
}

std::vector<fs::path> segments(const std::string& store) {
  std::vector<fs::path> out;
  if (!fs::exists(store + "/catalog")) return out;
  for (const auto& e : fs::directory_iterator(store + "/catalog")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CatalogTest, a_run_catalogs_what_it_writes_and_readers_get_the_same_records_as_from_the_files) {
  testing::TempDir dir;
  const std::string store_dir = dir.path().string();
  {
    const ResultsStore store = ResultsStore::open_for_sweep(store_dir, kSweep, three_trials(), false);
    store.write_trial(done(three_trials()[0], 0.9));
    TrialRecord failed = done(three_trials()[1], 0.0);
    failed.state = TrialState::kFailed;
    failed.error = "out of memory";
    store.write_trial(failed);
    store.flush_catalog();
  }
  ASSERT_EQ(segments(store_dir).size(), 1U);
  const Catalog catalog = read_catalog(store_dir);
  ASSERT_EQ(catalog.entries.size(), 2U);
  EXPECT_EQ(catalog.entries.at("aa02").record.error, "out of memory");
  const ResultsStore reader = ResultsStore::open_existing(store_dir);
  const std::vector<TrialRecord> cached = reader.read_all(false);
  fs::remove_all(store_dir + "/catalog");
  const std::vector<TrialRecord> from_files = reader.read_all(false);
  ASSERT_EQ(cached.size(), 3U);
  ASSERT_EQ(from_files.size(), 3U);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(cached[i].trial.id);
    EXPECT_EQ(cached[i].trial.id, from_files[i].trial.id);
    EXPECT_EQ(cached[i].trial.label, from_files[i].trial.label);
    EXPECT_EQ(cached[i].trial.axes, from_files[i].trial.axes);
    EXPECT_EQ(cached[i].trial.config_yaml, from_files[i].trial.config_yaml);
    EXPECT_EQ(cached[i].state, from_files[i].state);
    EXPECT_EQ(cached[i].error, from_files[i].error);
    EXPECT_EQ(cached[i].attempts, from_files[i].attempts);
    EXPECT_EQ(cached[i].provenance, from_files[i].provenance);
    EXPECT_EQ(cached[i].results.to_scalars(), from_files[i].results.to_scalars());
    EXPECT_TRUE(cached[i].series.empty());
  }
  EXPECT_EQ(cached[2].state, TrialState::kPending);
}

TEST(CatalogTest, an_entry_is_used_only_while_its_trial_file_is_unchanged) {
  testing::TempDir dir;
  const std::string store_dir = dir.path().string();
  const PlannedTrial t = three_trials()[0];
  const ResultsStore store = ResultsStore::open_for_sweep(store_dir, kSweep, three_trials(), false);
  // An entry that says something the file does not, with the file's signature: readers trust it (the cache
  // is used, not re-read)...
  store.write_trial(done(t, 0.5));
  {
    CatalogWriter writer(store_dir, false);
    writer.add(done(t, 0.75), *signature_of(store.trial_path(t.id)));
  }
  const ResultsStore reader = ResultsStore::open_existing(store_dir);
  EXPECT_NEAR(*reader.read_all(false)[0].results.test_accuracy, 0.75, 1e-12);
  // ...until the file is replaced: then the file is read, whatever the catalog says.
  for (const fs::path& p : segments(store_dir)) fs::remove(p);
  {
    CatalogWriter writer(store_dir, false);
    writer.add(done(t, 0.75), *signature_of(store.trial_path(t.id)));
  }
  TrialRecord again = done(t, 0.25);
  again.attempts = 2;
  store.write_trial(again);  // the writer's own catalog buffers this one, unflushed
  const TrialRecord back = reader.read_all(false)[0];
  EXPECT_NEAR(*back.results.test_accuracy, 0.25, 1e-12);
  EXPECT_EQ(back.attempts, 2);
}

TEST(CatalogTest, a_segment_that_is_not_one_costs_speed_never_a_wrong_record) {
  testing::TempDir dir;
  const std::string store_dir = dir.path().string();
  {
    const ResultsStore store = ResultsStore::open_for_sweep(store_dir, kSweep, three_trials(), false);
    store.write_trial(done(three_trials()[0], 0.5));
    store.flush_catalog();
  }
  const std::vector<fs::path> written = segments(store_dir);
  ASSERT_EQ(written.size(), 1U);
  const auto size = fs::file_size(written[0]);
  fs::resize_file(written[0], size / 2);  // truncated
  std::ofstream(store_dir + "/catalog/00000000000000000007.cbor", std::ios::binary) << "not cbor at all";
  EXPECT_EQ(read_catalog(store_dir).segments, 0U);
  const std::vector<TrialRecord> all = ResultsStore::open_existing(store_dir).read_all(false);
  EXPECT_EQ(all[0].state, TrialState::kDone);
  EXPECT_NEAR(*all[0].results.test_accuracy, 0.5, 1e-12);
}

// A record with no results and no provenance packs into empty byte strings (found by the store_catalog fuzzer:
// unpacking them was a memcpy from a null pointer, undefined behaviour that the sanitize preset reports).
TEST(CatalogTest, a_record_without_results_or_provenance_round_trips) {
  testing::TempDir dir;
  const std::string store_dir = dir.path().string();
  {
    const ResultsStore store = ResultsStore::open_for_sweep(store_dir, kSweep, three_trials(), false);
    TrialRecord bare;
    bare.trial = three_trials()[0];
    bare.state = TrialState::kFailed;
    bare.error = "before any result";
    store.write_trial(bare);
    store.flush_catalog();
  }
  const Catalog catalog = read_catalog(store_dir);
  ASSERT_EQ(catalog.segments, 1U);
  const TrialRecord& back = catalog.entries.at("aa01").record;
  EXPECT_EQ(back.state, TrialState::kFailed);
  EXPECT_EQ(back.error, "before any result");
  EXPECT_TRUE(back.provenance.empty());
  EXPECT_TRUE(back.results.to_scalars().empty());
}

TEST(CatalogTest, a_resuming_run_replaces_the_segments_by_one_that_describes_every_trial_file) {
  testing::TempDir dir;
  const std::string store_dir = dir.path().string();
  {
    const ResultsStore store = ResultsStore::open_for_sweep(store_dir, kSweep, three_trials(), false);
    store.write_trial(done(three_trials()[0], 0.5));
    store.flush_catalog();
    store.write_trial(done(three_trials()[1], 0.6));
    store.flush_catalog();
    TrialRecord running = done(three_trials()[2], 0.0);
    running.state = TrialState::kRunning;
    store.write_trial(running);  // not catalogued: it changes again soon
    store.flush_catalog();
  }
  EXPECT_EQ(segments(store_dir).size(), 2U);
  fs::remove(segments(store_dir)[1]);  // the second trial's entry is lost: it is read from its file
  const ResultsStore resumed = ResultsStore::open_for_sweep(store_dir, kSweep, three_trials(), false);
  const std::vector<TrialRecord> all = resumed.read_all(false);
  EXPECT_EQ(all[2].state, TrialState::kRunning);
  ASSERT_EQ(segments(store_dir).size(), 1U);
  const Catalog catalog = read_catalog(store_dir);
  EXPECT_EQ(catalog.entries.size(), 2U);  // the two ended trials; the running one is read from its file
  EXPECT_NEAR(*catalog.entries.at("aa02").record.results.test_accuracy, 0.6, 1e-12);
  EXPECT_TRUE(catalog.entries.at("aa02").file == *signature_of(resumed.trial_path("aa02")));
}

}  // namespace
}  // namespace signsweep::storage
