#include "storage/results_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/secret.h"
#include "storage/atomic_file.h"
#include "storage/catalog.h"
#include "storage/h5.h"
#include "storage/store_lock.h"

namespace signsweep::storage {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIndexName = "sweep.h5";
// A run starting on a store whose catalog has more segments than this rewrites it as one (catalog.h).
constexpr size_t kSegmentsBeforeCompaction = 16;

nlohmann::json plan_to_json(const std::vector<PlannedTrial>& plan) {
  nlohmann::json j = nlohmann::json::array();
  for (const PlannedTrial& t : plan)
    j.push_back({{"id", t.id}, {"kind", t.kind.name()}, {"label", t.label}, {"parent", t.parent}, {"needs", t.needs},
                 {"axes", t.axes}, {"config", t.config_yaml}});
  return j;
}

// Where a trial's model lies, relative to the store (also its /trial attr checkpoint).
std::string checkpoint_in_store(const std::string& id) { return "checkpoints/" + id + ".h5"; }

// A stored kind: one of core/vocabulary.h's names (a kind of a later version is refused, not guessed).
core::TrialKind kind_named(const std::string& name, const std::string& origin) {
  const std::optional<core::TrialKind> kind = core::TrialKind::from_string(name);
  if (!kind) throw DataError(fmt::format("{} kind = '{}' is not a trial kind", origin, name.substr(0, 80)));
  return *kind;
}

// Trial ids name files (trials/<id>.h5, checkpoints/<id>.h5): in a store someone else made, an id must be
// what signsweep writes (a hex content hash), never a path such as ../../x.
void require_trial_id(const std::string& id, const std::string& origin) {
  const bool hex = !id.empty() && id.size() <= 64 &&
                   std::all_of(id.begin(), id.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); });
  if (!hex) throw DataError(fmt::format("{}: /plan names a trial '{}': not a trial id (hex digits)", origin, id.substr(0, 80)));
}

std::vector<PlannedTrial> plan_from_json(const std::string& text, const std::string& origin) {
  std::vector<PlannedTrial> plan;
  try {
    for (const auto& e : common::parse_json(text, origin + ": /plan")) {
      PlannedTrial t{e.at("id"), kind_named(e.at("kind").get<std::string>(), origin + ": /plan"), e.at("label"), e.at("parent"),
                     e.at("axes").get<std::map<std::string, std::string>>(), e.at("config"), {}};
      if (e.contains("needs")) t.needs = e.at("needs").get<std::vector<std::string>>();
      else if (!t.parent.empty()) t.needs = {t.parent};  // format 1: an attack needs its parent
      require_trial_id(t.id, origin);
      for (const std::string& need : t.needs) require_trial_id(need, origin);
      plan.push_back(std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("{}: /plan is not a valid trial list: {}", origin, e.what()));
  }
  return plan;
}

// Temp files of writers that were killed before their rename, and models of attempts whose result no run
// took (staged_checkpoint_path).
void remove_leftover_temp_files(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos || name.find(".h5.attempt-") != std::string::npos) fs::remove(entry.path());
  }
}

struct Index {
  SweepIdentity sweep;
  std::vector<PlannedTrial> plan;  // empty when only the header was read
  int64_t version = kSweepFormatVersion;
  std::string plan_hash;  // of the planned ids in order (plan_hash_of); empty in stores written before it
};

// What identifies a plan: its trial ids in order (each a content hash of the trial's resolved config).
std::string plan_hash_of(const std::vector<PlannedTrial>& plan) {
  std::string ids;
  ids.reserve(plan.size() * 17);
  for (const PlannedTrial& t : plan) ids += t.id + "\n";
  return common::content_hash(ids);
}

// The index without its plan (attributes and the sweep's YAML): a run resuming its own sweep needs no more
// when the plan hashes agree, and parsing the plan of 10^5 trials (about 100 MB of JSON) took seconds and
// several hundred MiB.
Index read_index(const std::string& path, bool with_plan) {
  const File f(path, OpenMode::kReadOnly);  // DataError for another format or a truncated file
  if (!f.has_attribute("/", "format") || f.string_attribute("/", "format") != kSweepFormat)
    throw DataError(fmt::format("{}: not a signsweep results store (attribute format != '{}')", path, kSweepFormat));
  const int64_t version = f.int_attribute("/", "format_version");
  if (version < kOldestReadableSweepFormat || version > kSweepFormatVersion)
    throw DataError(fmt::format("{}: results store format version {} (this signsweep reads {} to {})", path, version,
                                kOldestReadableSweepFormat, kSweepFormatVersion));
  Index i;
  i.version = version;
  i.sweep.hash = f.string_attribute("/", "sweep_hash");
  i.sweep.file = f.string_attribute("/", "sweep_file");
  i.sweep.yaml = f.read_string("/sweep");
  if (f.has_attribute("/", "plan_hash")) i.plan_hash = f.string_attribute("/", "plan_hash");
  if (with_plan) i.plan = plan_from_json(f.read_string("/plan"), path);
  return i;
}

// Refuses to resume a store whose trial ids were made another way (nothing in it is changed).
void refuse_older_format(const std::string& dir, const Index& existing) {
  if (existing.version == kSweepFormatVersion) return;
  const std::string why =
      existing.version == 1
          ? "whose trial ids hashed each config as written, where this one ids trials by their resolved config"
          : "whose trials' watermark secrets derived from settings anyone with the sweep's YAML has, where this one "
            "derives them from a secret of the store (so resolved configs and trial ids differ)";
  throw ConfigError(fmt::format(
      "{}: this store was written by an older signsweep (store format {}), {} (format {}): none of its trials "
      "would be recognised and every one would run again. Its results stay readable (status, report, export); "
      "run the sweep into a new --out. Nothing in this store was changed.",
      dir, existing.version, why, kSweepFormatVersion));
}

constexpr const char* kSecretName = "secret";

// The store's secret: read from <dir>/secret, or, for a store not planned yet, made from the OS and written
// there (mode 0600, atomically). A planned store without it is refused: its unfinished trials could not
// resume with their watermarks.
std::string load_or_create_secret(const fs::path& dir, bool planned) {
  const fs::path path = dir / kSecretName;
  if (!fs::exists(path) && planned)
    throw DataError(fmt::format("{}: missing: this store's secret is gone, and its unfinished trials cannot resume with "
                                "their watermarks. Copy the file back (a copy of a store must include it), or run the "
                                "sweep into a new --out.", path.string()));
  if (fs::exists(path)) {
    std::string secret;
    std::getline(std::ifstream(path), secret);
    const bool hex = secret.size() == 64 &&
                     std::all_of(secret.begin(), secret.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!hex) throw DataError(fmt::format("{}: not a store secret (64 hex digits): a damaged store", path.string()));
    return secret;
  }
  const std::string secret = common::random_secret_hex(32);
  write_file_atomically(path.string(), secret + "\n", /*durable=*/true, 0600);  // the owner alone reads it
  return secret;
}

}  // namespace

const char* to_string(TrialState s) {
  switch (s) {
    case TrialState::kPending: return "pending";
    case TrialState::kRunning: return "running";
    case TrialState::kDone: return "done";
    case TrialState::kFailed: return "failed";
  }
  return "?";
}

std::optional<TrialState> trial_state_from_string(const std::string& s) {
  for (const TrialState t : {TrialState::kPending, TrialState::kRunning, TrialState::kDone, TrialState::kFailed})
    if (s == to_string(t)) return t;
  return std::nullopt;
}

ResultsStore ResultsStore::open_for_sweep(const std::string& dir, const SweepIdentity& sweep,
                                          const std::vector<PlannedTrial>& plan, bool extend, bool durable) {
  // A store of an older format is refused before anything changes; the other refusals come under the lock
  // (whose file, empty when no run holds it, is all they leave behind).
  const std::string index_path = (fs::path(dir) / kIndexName).string();
  if (fs::exists(index_path)) refuse_older_format(dir, read_index(index_path, /*with_plan=*/false));
  make_directories(dir);
  auto lock = std::make_shared<const StoreLock>(dir);  // one writer from here on
  if (!lock->taken_over().empty())
    spdlog::warn("{}: took over the lock of a run that died holding it ({})", dir, lock->taken_over());
  std::optional<Index> existing;
  const std::string plan_hash = plan_hash_of(plan);
  if (fs::exists(index_path)) {
    existing = read_index(index_path, /*with_plan=*/false);  // again, under the lock
    refuse_older_format(dir, *existing);
    if (existing->sweep.hash != sweep.hash && !extend)
      throw ConfigError(fmt::format(
          "{}: this store belongs to sweep {} (hash {}), not to {} (hash {}): choose another --out, or pass --extend to "
          "add the new sweep's trials to it",
          dir, existing->sweep.file, existing->sweep.hash, sweep.file, sweep.hash));
  }
  make_directories((fs::path(dir) / "trials").string());
  make_directories((fs::path(dir) / "checkpoints").string());
  remove_leftover_temp_files(dir);
  remove_leftover_temp_files(fs::path(dir) / "trials");
  for (const char* sub : {"checkpoints", "states", "catalog"})
    if (fs::exists(fs::path(dir) / sub)) remove_leftover_temp_files(fs::path(dir) / sub);
  std::string secret = load_or_create_secret(dir, existing.has_value());
  // The store's own sweep: its plan is this expansion when the plan hashes agree (the same sweep resumed),
  // else (a store that --extend merged plans into, or written before plans were hashed) the stored one.
  if (existing && existing->sweep.hash == sweep.hash) {
    ResultsStore store(dir, existing->sweep,
                       existing->plan_hash == plan_hash ? plan : read_index(index_path, /*with_plan=*/true).plan, durable);
    store.lock_ = std::move(lock);
    store.secret_ = std::move(secret);
    store.catalog_ = std::make_shared<CatalogWriter>(dir, durable);
    return store;
  }
  std::vector<PlannedTrial> merged = existing ? read_index(index_path, /*with_plan=*/true).plan : std::vector<PlannedTrial>{};
  std::set<std::string> known;
  for (const PlannedTrial& m : merged) known.insert(m.id);
  for (const PlannedTrial& t : plan)
    if (known.insert(t.id).second) merged.push_back(t);
  ResultsStore store(dir, sweep, std::move(merged), durable);
  store.lock_ = std::move(lock);
  store.secret_ = std::move(secret);
  store.catalog_ = std::make_shared<CatalogWriter>(dir, durable);
  store.write_index();
  return store;
}

const std::string& ResultsStore::secret() const {
  if (secret_.empty()) throw Error(fmt::format("{}: the store's secret is read only by a run (open_for_sweep)", dir_));
  return secret_;
}

ResultsStore ResultsStore::open_existing(const std::string& dir) {
  const std::string index_path = (fs::path(dir) / kIndexName).string();
  if (!fs::exists(index_path))
    throw DataError(fmt::format("{}: no results store here ({} missing)", dir, kIndexName));
  Index i = read_index(index_path, /*with_plan=*/true);
  return ResultsStore(dir, std::move(i.sweep), std::move(i.plan), true, i.version);
}

std::string ResultsStore::trial_path(const std::string& id) const {
  return (fs::path(dir_) / "trials" / (id + ".h5")).string();
}

std::string ResultsStore::state_path(const std::string& id, int64_t attempt) const {
  return (fs::path(dir_) / "states" / fmt::format("{}.{}.pt", id, attempt)).string();
}

void ResultsStore::hand_over_state(const std::string& id, int64_t attempt) const {
  const std::string mine = state_path(id, attempt);
  for (const std::string& previous : {state_path(id, attempt - 1), (fs::path(dir_) / "states" / (id + ".pt")).string()}) {
    if (!fs::exists(previous)) continue;
    move_file(previous, mine);
    return;
  }
}

void ResultsStore::remove_states(const std::string& id, int64_t attempt) const {
  std::error_code ignored;  // a state that is not there is what we want
  for (int64_t a = std::max<int64_t>(1, attempt - 1); a <= attempt; ++a) fs::remove(state_path(id, a), ignored);
  fs::remove(fs::path(dir_) / "states" / (id + ".pt"), ignored);
}

std::string ResultsStore::staged_checkpoint_path(const std::string& id, int64_t attempt) const {
  return fmt::format("{}.attempt-{}", checkpoint_path(id), attempt);
}

void ResultsStore::publish_checkpoint(const std::string& id, int64_t attempt) const {
  const std::string staged = staged_checkpoint_path(id, attempt);
  if (!fs::exists(staged)) throw DataError(fmt::format("{}: the trial's model was not written (attempt {})", staged, attempt));
  move_file(staged, checkpoint_path(id));
}

std::string ResultsStore::checkpoint_path(const std::string& id) const {
  return (fs::path(dir_) / checkpoint_in_store(id)).string();
}

void ResultsStore::write_index() const {
  write_atomically(
      (fs::path(dir_) / kIndexName).string(),
      [&](File& f) {
        f.set_attribute("/", "format", std::string(kSweepFormat));
        f.set_attribute("/", "format_version", kSweepFormatVersion);
        f.set_attribute("/", "sweep_hash", sweep_.hash);
        f.set_attribute("/", "sweep_file", sweep_.file);
        f.set_attribute("/", "plan_hash", plan_hash_of(plan_));
        f.write_string("/sweep", sweep_.yaml);
        f.write_string("/plan", plan_to_json(plan_).dump());
        f.create_group("/trials");
        for (const PlannedTrial& t : plan_) f.link_external("/trials/" + t.id, "trials/" + t.id + ".h5", "/trial");
      },
      durable_);
}

void ResultsStore::write_trial(const TrialRecord& r) const {
  const PlannedTrial& t = r.trial;
  write_atomically(
      trial_path(t.id),
      [&](File& f) {
        f.set_attributes("/trial", std::map<std::string, std::string>{{"id", t.id},
                                                                     {"kind", t.kind.name()},
                                                                     {"label", t.label},
                                                                     {"parent", t.parent},
                                                                     {"state", to_string(r.state)},
                                                                     {"error", r.error},
                                                                     {"sweep_hash", sweep_.hash},
                                                                     {"sweep_file", sweep_.file},
                                                                     {"checkpoint", r.has_checkpoint ? checkpoint_in_store(t.id) : ""}});
        f.set_attribute("/trial", "attempts", r.attempts);
        f.write_string("/trial/config", t.config_yaml);
        f.set_attributes("/trial/axes", t.axes);
        f.set_attributes("/trial/provenance", r.provenance);
        f.set_attributes("/trial/results", r.results.to_scalars());
        if (!r.series.empty()) f.write_table("/trial/series", r.series);
        if (!t.parent.empty()) f.link_external("/trial/parent", t.parent + ".h5", "/trial");
        // The model as a link too (h5py: trial["checkpoint"]); paths resolve next to this file.
        if (r.has_checkpoint) f.link_external("/trial/checkpoint", "../" + checkpoint_in_store(t.id), "/");
      },
      durable_);
  // A running trial's record changes again soon: readers read the few running trials from their files.
  if (catalog_ && r.state != TrialState::kRunning)
    if (const std::optional<FileSignature> file = signature_of(trial_path(t.id))) catalog_->add(r, *file);
}

void ResultsStore::flush_catalog() const {
  if (catalog_) catalog_->flush();
}

std::optional<TrialRecord> ResultsStore::read(const std::string& id, bool with_series) const {
  const auto planned = std::find_if(plan_.begin(), plan_.end(), [&](const PlannedTrial& t) { return t.id == id; });
  if (planned == plan_.end() && !fs::exists(trial_path(id))) return std::nullopt;
  return read_record(id, planned == plan_.end() ? nullptr : &*planned, with_series);
}

TrialRecord ResultsStore::read_record(const std::string& id, const PlannedTrial* planned, bool with_series) const {
  const std::string path = trial_path(id);
  if (!fs::exists(path)) {
    TrialRecord r;
    if (planned != nullptr) r.trial = *planned;
    return r;
  }
  const File f(path, OpenMode::kReadOnly);  // DataError for another format or a truncated file
  std::map<std::string, std::string> attrs = f.string_attributes("/trial");  // all but attempts are strings
  const auto attr = [&](const char* name) {
    const auto it = attrs.find(name);
    if (it == attrs.end()) throw DataError(fmt::format("{}: /trial has no attribute '{}'", path, name));
    return it->second;
  };
  TrialRecord r;
  PlannedTrial& t = r.trial;
  t.id = attr("id");
  t.kind = kind_named(attr("kind"), path + ": /trial");
  t.label = attr("label");
  t.parent = attr("parent");
  t.config_yaml = f.read_string("/trial/config");
  t.axes = f.string_attributes("/trial/axes");
  const std::string state = attr("state");
  const std::optional<TrialState> s = trial_state_from_string(state);
  if (!s) throw DataError(fmt::format("{}: /trial state = '{}' is not a trial state", path, state));
  r.state = *s;
  r.error = attr("error");
  r.attempts = f.int_attribute("/trial", "attempts");
  r.has_checkpoint = !attr("checkpoint").empty();
  r.provenance = f.string_attributes("/trial/provenance");
  r.results = core::TrialResults::from_scalars(f.double_attributes("/trial/results"));
  if (with_series && f.exists("/trial/series")) {
    if (f.is_group("/trial/series"))  // stores written before the series table: one dataset per series
      for (const std::string& name : f.list("/trial/series")) r.series[name] = f.read_doubles("/trial/series/" + name);
    else
      r.series = f.read_table("/trial/series");
  }
  return r;
}

std::vector<TrialRecord> ResultsStore::read_all(bool with_series) const {
  std::vector<TrialRecord> all;
  all.reserve(plan_.size());
  if (with_series) {  // the series are in the trial files only
    for (const PlannedTrial& t : plan_) all.push_back(read_record(t.id, &t, true));
    return all;
  }
  // A trial whose file still has the signature the catalog recorded is taken from the catalog (one stat(2)
  // instead of an HDF5 file read); every other one from its file (catalog.h).
  Catalog catalog = read_catalog(dir_);
  std::vector<std::optional<FileSignature>> files;  // each trial's, for a writer's compaction
  files.reserve(plan_.size());
  size_t from_files = 0;
  for (const PlannedTrial& t : plan_) {
    files.push_back(signature_of(trial_path(t.id)));
    const auto cached = files.back() ? catalog.entries.find(t.id) : catalog.entries.end();
    if (cached != catalog.entries.end() && cached->second.file == *files.back()) {
      all.push_back(std::move(cached->second.record));
      all.back().trial = t;
    } else {
      all.push_back(read_record(t.id, &t, false));  // pending when it has no file
      from_files += files.back().has_value();
    }
  }
  // A writer (a run starting or resuming) leaves one segment that describes every trial file as it is now.
  if (catalog_ && (from_files > 0 || catalog.segments > kSegmentsBeforeCompaction)) {
    std::vector<CatalogEntry> entries;
    for (size_t i = 0; i < all.size(); ++i)
      if (files[i] && all[i].state != TrialState::kRunning) entries.push_back({*files[i], all[i]});
    catalog_->compact(entries);
  }
  return all;
}

}  // namespace signsweep::storage
