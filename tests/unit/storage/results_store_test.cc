#include "storage/results_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/errors.h"
#include "storage/h5.h"
#include "tests/support/files.h"

namespace signsweep::storage {
namespace {

std::vector<PlannedTrial> two_trials() {
  return {{"aaaa", core::TrialKind{core::Stage::kEmbed}, "bits=8", "", {{"watermark.bits", "8"}}, "watermark: {bits: 8}\n"},
          {"bbbb", core::TrialKind::attack_of(core::AttackKind::kPrune), "rate=0.5", "aaaa", {{"rate", "0.5"}}, "attack: prune\nrate: 0.5\n"}};
}

const SweepIdentity kSweep{"1111", "s.yaml", "grid: {}\n"};

TEST(ResultsStoreTest, a_trial_round_trips_exactly_doubles_bit_for_bit) {
  testing::TempDir dir;
  const ResultsStore store = ResultsStore::open_for_sweep(dir.path().string(), kSweep, two_trials(), false);
  TrialRecord r;
  r.trial = two_trials()[1];
  r.state = TrialState::kDone;
  r.attempts = 2;
  r.provenance = {{"git_commit", "abc"}, {"host", "h"}};
  r.results.figures = {{"ber", 0.1}, {"tiny", 4.9e-324}, {"third", 1.0 / 3.0}, {"nan", std::numeric_limits<double>::quiet_NaN()}};
  r.results.seconds = 1.0 / 7.0;
  std::vector<double> series;
  for (int i = 0; i < 200; ++i) series.push_back(std::sin(i) / 3.0);
  r.series["loss"] = series;
  r.has_checkpoint = true;
  store.write_trial(r);
  const TrialRecord back = *ResultsStore::open_existing(dir.path().string()).read("bbbb", true);
  EXPECT_EQ(back.state, TrialState::kDone);
  EXPECT_EQ(back.attempts, 2);
  EXPECT_EQ(back.trial.parent, "aaaa");
  EXPECT_EQ(back.trial.axes, r.trial.axes);
  EXPECT_EQ(back.trial.config_yaml, r.trial.config_yaml);
  EXPECT_EQ(back.provenance, r.provenance);
  EXPECT_EQ(back.trial.kind, r.trial.kind);
  EXPECT_TRUE(back.has_checkpoint);
  EXPECT_EQ(back.results.seconds, r.results.seconds);
  ASSERT_EQ(back.series.at("loss").size(), 200U);
  EXPECT_EQ(std::memcmp(back.series.at("loss").data(), series.data(), 200 * sizeof(double)), 0);
  for (const auto& [k, v] : r.results.figures) {
    if (std::isnan(v)) EXPECT_TRUE(std::isnan(back.results.figures.at(k)));
    else EXPECT_EQ(std::memcmp(&back.results.figures.at(k), &v, sizeof v), 0) << k;
  }
  // The other planned trial has no file: pending.
  EXPECT_EQ(ResultsStore::open_existing(dir.path().string()).read("aaaa", false)->state, TrialState::kPending);
}

// A store of two_trials() whose first trial (aaaa) is done.
ResultsStore store_with_aaaa_done(const testing::TempDir& dir) {
  const ResultsStore store = ResultsStore::open_for_sweep(dir.path().string(), kSweep, two_trials(), false);
  TrialRecord r;
  r.trial = two_trials()[0];
  r.state = TrialState::kDone;
  store.write_trial(r);
  return store;
}

TEST(ResultsStoreTest, a_trial_file_of_a_kind_this_version_does_not_know_is_refused_naming_it) {
  testing::TempDir dir;
  const ResultsStore store = store_with_aaaa_done(dir);
  File(store.trial_path("aaaa"), OpenMode::kReadWrite).set_attribute("/trial", "kind", std::string("teleport"));
  const std::string message = testing::message_of<DataError>([&] { store.read("aaaa", false); });
  EXPECT_NE(message.find("kind = 'teleport' is not a trial kind"), std::string::npos) << message;
  EXPECT_NE(message.find("aaaa.h5"), std::string::npos) << message;
}

TEST(ResultsStoreTest, trial_files_of_the_first_layout_one_dataset_per_series_are_still_read) {
  testing::TempDir dir;
  const ResultsStore store = store_with_aaaa_done(dir);
  const std::map<std::string, std::vector<double>> series = {{"loss", {3.0, 2.0}}, {"lr", {0.1, 0.01}}};
  {  // add the series the way the first layout stored them: /trial/series/<name>, a 1-D dataset each
    File f(store.trial_path("aaaa"), OpenMode::kReadWrite);
    for (const auto& [name, values] : series) f.write("/trial/series/" + name, {2}, values.data());
  }
  EXPECT_EQ(store.read("aaaa", true)->series, series);
}

TEST(ResultsStoreTest, h5dump_reads_the_index_links_and_the_trial_layout) {
  testing::TempDir dir;
  const ResultsStore store = ResultsStore::open_for_sweep(dir.path().string(), kSweep, two_trials(), false);
  TrialRecord r;
  r.trial = two_trials()[0];
  r.state = TrialState::kDone;
  r.results.test_accuracy = 0.9;
  r.series["loss"] = {3.0, 2.0, 1.0};
  r.series["lr"] = {0.1, 0.1, 0.01};
  store.write_trial(r);
  const std::string out = dir.file("dump.txt");
  // Through the index's external link, from another working directory: links resolve next to sweep.h5.
  ASSERT_EQ(std::system(("cd / && h5dump -A " + dir.file("sweep.h5") + " > " + out + " 2>&1").c_str()), 0);
  ASSERT_EQ(std::system(("h5dump -p -d /trial/series " + store.trial_path("aaaa") + " >> " + out).c_str()), 0);
  const auto bytes = testing::read_bytes(out);
  const std::string text(bytes.begin(), bytes.end());
  for (const char* s : {"EXTERNAL_LINK \"aaaa\"", "trials/aaaa.h5", "signsweep-sweep", "CHUNKED ( 256 )",
                        "COMPRESSION", "H5S_UNLIMITED", "test_accuracy", "\"loss\"", "\"lr\"", "H5T_COMPOUND"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
}

TEST(ResultsStoreTest, reopening_with_the_same_sweep_resumes_another_sweep_is_refused_unless_extended) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  ResultsStore::open_for_sweep(d, kSweep, two_trials(), false);
  EXPECT_EQ(ResultsStore::open_for_sweep(d, kSweep, two_trials(), false).plan().size(), 2U);
  const SweepIdentity other{"2222", "other.yaml", "x"};
  std::vector<PlannedTrial> more = two_trials();
  more.push_back({"cccc", core::TrialKind{core::Stage::kEmbed}, "bits=16", "", {}, "watermark: {bits: 16}\n"});
  const std::string msg = testing::message_of<ConfigError>([&] { ResultsStore::open_for_sweep(d, other, more, false); });
  EXPECT_NE(msg.find("belongs to sweep s.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--extend"), std::string::npos) << msg;
  EXPECT_EQ(ResultsStore::open_for_sweep(d, other, more, true).plan().size(), 3U);
  EXPECT_EQ(ResultsStore::open_existing(d).sweep().file, "other.yaml");
}

TEST(ResultsStoreTest, a_store_has_its_own_private_secret_that_a_resume_reads_back) {
  testing::TempDir a, b;
  const std::string da = a.path().string(), db = b.path().string();
  const std::string secret = ResultsStore::open_for_sweep(da, kSweep, two_trials(), false).secret();
  EXPECT_EQ(secret.size(), 64U);
  EXPECT_EQ(secret.find_first_not_of("0123456789abcdef"), std::string::npos) << secret;
  const auto path = a.path() / "secret";
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);  // 0600
  EXPECT_EQ(ResultsStore::open_for_sweep(da, kSweep, two_trials(), false).secret(), secret);  // resumed: the same
  EXPECT_NE(ResultsStore::open_for_sweep(db, kSweep, two_trials(), false).secret(), secret);  // another store
  EXPECT_THROW(ResultsStore::open_existing(da).secret(), Error);  // readers never get it
  std::filesystem::remove(path);
  const std::string msg = testing::message_of<DataError>([&] { ResultsStore::open_for_sweep(da, kSweep, two_trials(), false); });
  EXPECT_NE(msg.find("secret: missing"), std::string::npos) << msg;
  std::ofstream(path) << "not hex\n";
  EXPECT_THROW(ResultsStore::open_for_sweep(da, kSweep, two_trials(), false), DataError);
}

TEST(ResultsStoreTest, each_attempt_writes_files_of_its_own_and_only_a_taken_attempts_model_becomes_the_trials) {
  testing::TempDir dir;
  namespace fs = std::filesystem;
  {
    const ResultsStore store = ResultsStore::open_for_sweep(dir.path().string(), kSweep, two_trials(), false);
    fs::create_directories(dir.path() / "states");
    std::ofstream(store.state_path("aaaa", 1)) << "state of attempt 1";
    store.hand_over_state("aaaa", 2);  // attempt 2 resumes from attempt 1's state, under its own name
    EXPECT_FALSE(fs::exists(store.state_path("aaaa", 1)));
    std::string text;
    std::getline(std::ifstream(store.state_path("aaaa", 2)), text);
    EXPECT_EQ(text, "state of attempt 1");
    std::ofstream(dir.path() / "states" / "bbbb.pt") << "earlier layout";  // a store of the previous version
    store.hand_over_state("bbbb", 3);
    EXPECT_TRUE(fs::exists(store.state_path("bbbb", 3)));
    store.hand_over_state("bbbb", 9);  // nothing at attempt 8: no state to hand over
    EXPECT_FALSE(fs::exists(store.state_path("bbbb", 9)));

    EXPECT_THROW(store.publish_checkpoint("aaaa", 2), DataError);  // attempt 2 wrote no model
    std::ofstream(store.staged_checkpoint_path("aaaa", 1)) << "a lost group's model";
    std::ofstream(store.staged_checkpoint_path("aaaa", 2)) << "the taken model";
    store.publish_checkpoint("aaaa", 2);
    std::getline(std::ifstream(store.checkpoint_path("aaaa")), text);
    EXPECT_EQ(text, "the taken model");
    store.remove_states("aaaa", 2);
    EXPECT_FALSE(fs::exists(store.state_path("aaaa", 2)));
  }  // the run ends (its lock with it)
  // What no run took (attempt 1's model) is cleared by the next writer; the trial's model stays.
  const ResultsStore again = ResultsStore::open_for_sweep(dir.path().string(), kSweep, two_trials(), false);
  EXPECT_FALSE(fs::exists(again.staged_checkpoint_path("aaaa", 1)));
  EXPECT_TRUE(fs::exists(again.checkpoint_path("aaaa")));
}

TEST(ResultsStoreTest, bad_stores_are_data_errors_naming_the_file) {
  testing::TempDir dir;
  EXPECT_NE(testing::message_of<DataError>([&] { ResultsStore::open_existing(dir.path().string()); }).find("sweep.h5 missing"),
            std::string::npos);
  testing::write_text(dir.file("sweep.h5"), "not hdf5 at all");
  EXPECT_NE(testing::message_of<DataError>([&] { ResultsStore::open_existing(dir.path().string()); }).find("sweep.h5"),
            std::string::npos);
  // A truncated index (a copy cut in half).
  testing::TempDir good;
  ResultsStore::open_for_sweep(good.path().string(), kSweep, two_trials(), false);
  auto bytes = testing::read_bytes(good.file("sweep.h5"));
  bytes.resize(bytes.size() / 2);
  testing::write_bytes(dir.file("sweep.h5"), bytes);
  EXPECT_THROW(ResultsStore::open_existing(dir.path().string()), DataError);
  // A checkpoint is not a store.
  {
    File f(dir.file("sweep.h5"), OpenMode::kTruncate);
    f.set_attribute("/", "format", std::string("signsweep-checkpoint"));
  }
  EXPECT_NE(testing::message_of<DataError>([&] { ResultsStore::open_existing(dir.path().string()); }).find("not a signsweep results store"),
            std::string::npos);
}

std::map<std::string, int> count_lines(const std::string& path, const std::string& prefix) {
  std::map<std::string, int> counts;
  std::ifstream in(path);
  std::string word, id;
  while (in >> word >> id)
    if (word == prefix) ++counts[id];
  return counts;
}

uintmax_t size_or_zero(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// Runs the writer and SIGKILLs it `kill_after_ms` after it started, or (`from_first_trial`) after it began
// writing trials: its start-up (seconds in a sanitizer build on a loaded machine) must not swallow the delay.
int run_child(const std::string& dir, int trials, int kill_after_ms, bool from_first_trial = false) {
  const std::string log = dir + "/log.txt";
  const uintmax_t logged = size_or_zero(log);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(SIGNSWEEP_STORE_CRASH_CHILD, "store_crash_child", dir.c_str(), std::to_string(trials).c_str(), nullptr);
    ::_exit(127);
  }
  int status = 0;
  if (kill_after_ms >= 0) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (from_first_trial && size_or_zero(log) == logged && std::chrono::steady_clock::now() < give_up) {
      if (::waitpid(pid, &status, WNOHANG) == pid) return status;  // ended before writing a trial
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
    ::kill(pid, SIGKILL);
  }
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(ResultsStoreCrashTest, sigkill_at_random_points_loses_no_finished_trial_and_resume_runs_each_once) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  constexpr int kTrials = 200;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay(0, 60);
  int interrupted = 0;
  for (int run = 0; run < 25; ++run) {
    // Every fifth kill counts from the start (it may land while the store is created), the rest from the
    // first trial the writer begins.
    run_child(d, kTrials, delay(rng), run % 5 != 0);
    // A kill before the writer got to create the store leaves nothing to lose (and nothing to open).
    if (!std::filesystem::exists(d + "/sweep.h5")) continue;
    const ResultsStore store = ResultsStore::open_existing(d);  // opens whenever it exists
    const auto all = store.read_all(false);
    interrupted += std::any_of(all.begin(), all.end(), [](const TrialRecord& r) { return r.state != TrialState::kDone; });
    const auto done_logged = count_lines(d + "/log.txt", "done");
    for (const TrialRecord& r : store.read_all(true)) {
      const int i = std::stoi(r.trial.axes.at("i"));
      if (done_logged.count(r.trial.id)) {
        EXPECT_EQ(r.state, TrialState::kDone) << "run " << run << " trial " << i;
      }
      if (r.state != TrialState::kDone) {
        EXPECT_TRUE(r.series.empty()) << "an unfinished trial shows results";
        continue;
      }
      ASSERT_EQ(r.series.at("loss").size(), 200U);  // intact, never partial
      for (int k = 0; k < 200; ++k) ASSERT_EQ(r.series.at("loss")[k], i * 1000.0 + k / 7.0);
      EXPECT_EQ(r.results.figures.at("value"), i / 3.0);
    }
  }
  EXPECT_GE(interrupted, 5) << "the kills did not interrupt the writer: the test proves nothing";
  ASSERT_EQ(WEXITSTATUS(run_child(d, kTrials, -1)), 0);  // resume to the end
  // No trial starts again once it finished (a kill between the rename and the log line may leave a done
  // trial without its "done" line: it is still never rerun).
  std::ifstream log(d + "/log.txt");
  std::set<std::string> finished;
  std::string word, id;
  while (log >> word >> id) {
    if (word == "start") {
      EXPECT_FALSE(finished.count(id)) << id << " ran again after it finished";
    }
    if (word == "done") {
      EXPECT_TRUE(finished.insert(id).second) << id << " finished twice";
    }
  }
  for (const TrialRecord& r : ResultsStore::open_existing(d).read_all(false)) EXPECT_EQ(r.state, TrialState::kDone);
  for (const auto& e : std::filesystem::directory_iterator(d + "/trials"))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "temp file left: " << e.path();
}

}  // namespace
}  // namespace signsweep::storage
