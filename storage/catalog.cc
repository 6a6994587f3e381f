#include "storage/catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "storage/atomic_file.h"

namespace signsweep::storage {
namespace fs = std::filesystem;
namespace {

constexpr const char* kCatalogDir = "catalog";
constexpr const char* kSegmentSuffix = ".cbor";
constexpr int kSegmentFormat = 1;

fs::path catalog_dir(const std::string& store_dir) { return fs::path(store_dir) / kCatalogDir; }

// Zero-padded, so that names sort as numbers.
std::string segment_name(uint64_t seq) { return fmt::format("{:020d}{}", seq, kSegmentSuffix); }

// The segments of a catalog in the order they were written (missing folder: none).
std::vector<std::pair<uint64_t, fs::path>> list_segments(const std::string& store_dir) {
  std::vector<std::pair<uint64_t, fs::path>> segments;
  std::error_code ec;
  for (fs::directory_iterator it(catalog_dir(store_dir), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != 20 + std::char_traits<char>::length(kSegmentSuffix) || name.substr(20) != kSegmentSuffix) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) continue;
    segments.emplace_back(std::stoull(name.substr(0, 20)), it->path());
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

nlohmann::json entry_to_json(const CatalogEntry& e) {
  const TrialRecord& r = e.record;
  return {{"id", r.trial.id},
          {"file", {e.file.inode, e.file.size, e.file.mtime_ns, e.file.ctime_ns}},
          {"state", to_string(r.state)},
          {"error", r.error},
          {"attempts", r.attempts},
          {"checkpoint", r.has_checkpoint},
          {"provenance", r.provenance},
          {"results", r.results.to_scalars()}};
}

// Throws nlohmann::json::exception or DataError on anything that is not an entry as written above.
CatalogEntry entry_from_json(const nlohmann::json& j) {
  CatalogEntry e;
  const auto& file = j.at("file");
  e.file = {file.at(0).get<uint64_t>(), file.at(1).get<uint64_t>(), file.at(2).get<int64_t>(), file.at(3).get<int64_t>()};
  TrialRecord& r = e.record;
  r.trial.id = j.at("id").get<std::string>();
  const std::optional<TrialState> state = trial_state_from_string(j.at("state").get<std::string>());
  if (!state) throw DataError("catalog entry with an unknown state");
  r.state = *state;
  r.error = j.at("error").get<std::string>();
  r.attempts = j.at("attempts").get<int64_t>();
  r.has_checkpoint = j.at("checkpoint").get<bool>();
  r.provenance = j.at("provenance").get<std::map<std::string, std::string>>();
  r.results = core::TrialResults::from_scalars(j.at("results").get<std::map<std::string, double>>());
  return e;
}

// One segment's entries, in the order written; nullopt when it cannot be read as a segment.
std::optional<std::vector<CatalogEntry>> read_segment(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    const nlohmann::json doc = nlohmann::json::from_cbor(bytes);
    if (doc.at("format").get<int>() != kSegmentFormat) return std::nullopt;
    std::vector<CatalogEntry> entries;
    for (const auto& j : doc.at("entries")) entries.push_back(entry_from_json(j));
    return entries;
  } catch (const std::exception& e) {  // nlohmann's parse and type errors, DataError: not a segment of ours
    spdlog::debug("{}: not read as a catalog segment ({}); its trials are read from their files", path.string(), e.what());
    return std::nullopt;
  }
}

int64_t nanoseconds(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

}  // namespace

std::optional<FileSignature> signature_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileSignature{static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size), nanoseconds(st.st_mtim),
                       nanoseconds(st.st_ctim)};
}

Catalog read_catalog(const std::string& store_dir) {
  Catalog catalog;
  for (const auto& [seq, path] : list_segments(store_dir)) {
    std::optional<std::vector<CatalogEntry>> entries = read_segment(path);
    if (!entries) continue;
    ++catalog.segments;
    for (CatalogEntry& e : *entries) {
      const std::string id = e.record.trial.id;
      catalog.entries[id] = std::move(e);  // a later segment's entry replaces an earlier one
    }
  }
  return catalog;
}

CatalogWriter::CatalogWriter(std::string store_dir, bool durable)
    : dir_(std::move(store_dir)), durable_(durable), last_flush_(std::chrono::steady_clock::now()) {
  const auto segments = list_segments(dir_);
  next_seq_ = segments.empty() ? 0 : segments.back().first + 1;
}

CatalogWriter::~CatalogWriter() {
  try {
    flush();
  } catch (const std::exception& e) {  // flush logs its own failures; this is for anything else (e.g. bad_alloc)
    spdlog::warn("{}: the catalog's last segment was not written: {}", catalog_dir(dir_).string(), e.what());
  }
}

void CatalogWriter::add(const TrialRecord& record, const FileSignature& file) {
  const std::lock_guard<std::mutex> lock(mutex_);
  CatalogEntry e;
  e.file = file;
  e.record = record;
  e.record.trial = PlannedTrial{};  // readers take the plan's; only the id is kept
  e.record.trial.id = record.trial.id;
  e.record.series.clear();
  buffer_.push_back(std::move(e));
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_flush_).count();
  if (buffer_.size() >= kRecordsPerSegment || since >= kSecondsPerSegment) write_buffer();
}

void CatalogWriter::write_buffer() {
  if (buffer_.empty()) return;
  try {
    write_segment(buffer_);
  } catch (const WriteError& e) {  // the trial files hold these records; readers then read them from there
    spdlog::warn("{}: a catalog segment was not written ({}); readers read those trials from their files",
                 catalog_dir(dir_).string(), e.what());
  }
  buffer_.clear();
}

void CatalogWriter::flush() {
  const std::lock_guard<std::mutex> lock(mutex_);
  write_buffer();
}

void CatalogWriter::compact(const std::vector<CatalogEntry>& entries) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto old = list_segments(dir_);
  buffer_.clear();  // everything buffered is older than `entries`
  try {
    write_segment(entries);
  } catch (const WriteError& e) {
    spdlog::warn("{}: the catalog was not rewritten ({}); readers read its trials from their files", catalog_dir(dir_).string(),
                 e.what());
    return;  // the old segments stay: what they say is still checked against every file
  }
  for (const auto& [seq, path] : old) {
    std::error_code ec;
    fs::remove(path, ec);  // a segment left behind only repeats what the new one says
  }
}

void CatalogWriter::write_segment(const std::vector<CatalogEntry>& entries) {
  nlohmann::json doc = {{"format", kSegmentFormat}, {"entries", nlohmann::json::array()}};
  for (const CatalogEntry& e : entries) doc["entries"].push_back(entry_to_json(e));
  const std::vector<uint8_t> bytes = nlohmann::json::to_cbor(doc);
  make_directories(catalog_dir(dir_).string());
  write_file_atomically((catalog_dir(dir_) / segment_name(next_seq_++)).string(), std::string(bytes.begin(), bytes.end()),
                        durable_);
  last_flush_ = std::chrono::steady_clock::now();
}

}  // namespace signsweep::storage
