#include "storage/catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
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
constexpr int kSegmentFormat = 2;  // a segment of any other format is skipped (its trials are read from their files)

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

// Strings and doubles of an entry travel as CBOR byte strings (one node each instead of one per value: reading
// 10^5 entries through nlohmann's tree of maps took 90 us each). Provenance: key \x1f value \x1e ...;
// results: the segment's name table's indices (uint16) and the values (float64), native byte order.
constexpr char kKeyEnd = '\x1f';
constexpr char kPairEnd = '\x1e';

nlohmann::json::binary_t pack_strings(const std::map<std::string, std::string>& pairs) {
  nlohmann::json::binary_t out;
  for (const auto& [k, v] : pairs) {
    out.insert(out.end(), k.begin(), k.end());
    out.push_back(static_cast<uint8_t>(kKeyEnd));
    out.insert(out.end(), v.begin(), v.end());
    out.push_back(static_cast<uint8_t>(kPairEnd));
  }
  return out;
}

std::map<std::string, std::string> unpack_strings(const std::vector<uint8_t>& bytes) {
  std::map<std::string, std::string> out;
  const std::string text(bytes.begin(), bytes.end());
  size_t at = 0;
  while (at < text.size()) {
    const size_t key_end = text.find(kKeyEnd, at);
    const size_t pair_end = text.find(kPairEnd, at);
    if (key_end == std::string::npos || pair_end == std::string::npos || key_end > pair_end)
      throw DataError("catalog entry with malformed provenance");
    out[text.substr(at, key_end - at)] = text.substr(key_end + 1, pair_end - key_end - 1);
    at = pair_end + 1;
  }
  return out;
}

template <typename T>
nlohmann::json::binary_t pack_values(const std::vector<T>& values) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
  return nlohmann::json::binary_t(std::vector<uint8_t>(bytes, bytes + values.size() * sizeof(T)));
}

template <typename T>
std::vector<T> unpack_values(const std::vector<uint8_t>& bytes) {
  if (bytes.size() % sizeof(T) != 0) throw DataError("catalog entry with a truncated array");
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());  // memcpy from an empty one is UB
  return values;
}

// Results by index into the segment's table of names (`names`, extended as new names appear).
nlohmann::json entry_to_json(const CatalogEntry& e, std::map<std::string, uint16_t>& names) {
  const TrialRecord& r = e.record;
  std::vector<uint16_t> indices;
  std::vector<double> values;
  for (const auto& [name, value] : r.results.to_scalars()) {
    const auto it = names.emplace(name, static_cast<uint16_t>(names.size())).first;
    indices.push_back(it->second);
    values.push_back(value);
  }
  return nlohmann::json::array({r.trial.id, e.file.inode, e.file.size, e.file.mtime_ns, e.file.ctime_ns, to_string(r.state),
                                r.error, r.attempts, r.has_checkpoint, nlohmann::json::binary(pack_strings(r.provenance)),
                                nlohmann::json::binary(pack_values(indices)), nlohmann::json::binary(pack_values(values))});
}

// Throws nlohmann::json::exception or DataError on anything that is not an entry as written above.
CatalogEntry entry_from_json(const nlohmann::json& j, const std::vector<std::string>& names) {
  CatalogEntry e;
  e.file = {j.at(1).get<uint64_t>(), j.at(2).get<uint64_t>(), j.at(3).get<int64_t>(), j.at(4).get<int64_t>()};
  TrialRecord& r = e.record;
  r.trial.id = j.at(0).get<std::string>();
  const std::optional<TrialState> state = trial_state_from_string(j.at(5).get<std::string>());
  if (!state) throw DataError("catalog entry with an unknown state");
  r.state = *state;
  r.error = j.at(6).get<std::string>();
  r.attempts = j.at(7).get<int64_t>();
  r.has_checkpoint = j.at(8).get<bool>();
  r.provenance = unpack_strings(j.at(9).get_binary());
  const std::vector<uint16_t> indices = unpack_values<uint16_t>(j.at(10).get_binary());
  const std::vector<double> values = unpack_values<double>(j.at(11).get_binary());
  if (indices.size() != values.size()) throw DataError("catalog entry with results of two lengths");
  std::map<std::string, double> scalars;
  for (size_t i = 0; i < indices.size(); ++i) scalars[names.at(indices[i])] = values[i];
  r.results = core::TrialResults::from_scalars(scalars);
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
    const auto names = doc.at("names").get<std::vector<std::string>>();
    std::vector<CatalogEntry> entries;
    for (const auto& j : doc.at("entries")) entries.push_back(entry_from_json(j, names));
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
  std::map<std::string, uint16_t> names;
  for (const CatalogEntry& e : entries) doc["entries"].push_back(entry_to_json(e, names));
  std::vector<std::string> table(names.size());
  for (const auto& [name, index] : names) table[index] = name;
  doc["names"] = table;
  const std::vector<uint8_t> bytes = nlohmann::json::to_cbor(doc);
  make_directories(catalog_dir(dir_).string());
  write_file_atomically((catalog_dir(dir_) / segment_name(next_seq_++)).string(), std::string(bytes.begin(), bytes.end()),
                        durable_);
  last_flush_ = std::chrono::steady_clock::now();
}

}  // namespace signsweep::storage
