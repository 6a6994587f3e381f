#include "report/store_views.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"

namespace signsweep::report {

using storage::PlannedTrial;
using storage::ResultsStore;
using storage::TrialRecord;
using storage::TrialState;
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string status_text(const ResultsStore& store, const std::vector<TrialRecord>& all) {
  std::map<TrialState, int> counts;
  for (const TrialRecord& r : all) ++counts[r.state];
  std::string s = fmt::format("sweep {} (hash {}), {} trials\n", store.sweep().file, store.sweep().hash, all.size());
  for (const TrialState st : {TrialState::kDone, TrialState::kRunning, TrialState::kPending, TrialState::kFailed})
    s += fmt::format("{:<8} {}\n", to_string(st), counts[st]);
  for (const TrialRecord& r : all)
    if (r.state == TrialState::kRunning)
      s += fmt::format("running {} [{}] {} (attempt {}, started {})\n", r.trial.id, r.trial.kind.name(), r.trial.label, r.attempts,
                       r.provenance.count("started") ? r.provenance.at("started") : "?");
  for (const TrialRecord& r : all)
    if (r.state == TrialState::kFailed)
      s += fmt::format("failed  {} [{}] {} (attempt {}): {}\n", r.trial.id, r.trial.kind.name(), r.trial.label, r.attempts, r.error);
  // Worker groups declared lost while they ran a trial (scheduler.h): which, on which host, since when.
  for (const TrialRecord& r : all)
    if (r.provenance.count("lost"))
      s += fmt::format("lost    {} [{}] {} (now {}): worker {}\n", r.trial.id, r.trial.kind.name(), r.trial.label,
                       to_string(r.state), r.provenance.at("lost"));
  return s;
}

std::string export_csv(const ResultsStore& store) {
  const std::vector<TrialRecord> all = store.read_all(false);
  std::set<std::string> axes, results;
  for (const TrialRecord& r : all) {
    for (const auto& [k, v] : r.trial.axes) axes.insert(k);
    for (const auto& [k, v] : r.results.to_scalars()) results.insert(k);
  }
  std::vector<std::string> header{"id",    "kind",    "label",    "parent", "state", "attempts",
                                  "error", "started", "finished", "host",   "device"};
  header.insert(header.end(), axes.begin(), axes.end());
  header.insert(header.end(), results.begin(), results.end());
  std::string out = fmt::format("{}\n", fmt::join(header, ","));
  for (const TrialRecord& r : all) {
    const auto prov = [&](const char* key) { return r.provenance.count(key) ? r.provenance.at(key) : std::string(); };
    std::vector<std::string> cells{r.trial.id,       r.trial.kind.name(),       r.trial.label, r.trial.parent,
                                   to_string(r.state), std::to_string(r.attempts), r.error, prov("started"),
                                   prov("finished"), prov("host"),      prov("device")};
    for (const std::string& a : axes) cells.push_back(r.trial.axes.count(a) ? r.trial.axes.at(a) : "");
    // {} is fmt's shortest form that reads back as the same double (1e-06, not 9.9999999999999995e-07).
    const std::map<std::string, double> scalars = r.results.to_scalars();
    for (const std::string& k : results) cells.push_back(scalars.count(k) ? fmt::format("{}", scalars.at(k)) : "");
    for (auto& c : cells) c = csv_field(c);
    out += fmt::format("{}\n", fmt::join(cells, ","));
  }
  return out;
}

std::string export_series_csv(const ResultsStore& store) {
  const std::vector<TrialRecord> all = store.read_all(true);
  std::set<std::string> axes, series;
  for (const TrialRecord& r : all) {
    if (r.series.empty()) continue;
    for (const auto& [k, v] : r.trial.axes) axes.insert(k);
    for (const auto& [k, v] : r.series) series.insert(k);
  }
  std::vector<std::string> header{"id", "kind", "label"};
  header.insert(header.end(), axes.begin(), axes.end());
  header.push_back("epoch");
  header.insert(header.end(), series.begin(), series.end());
  std::string out = fmt::format("{}\n", fmt::join(header, ","));
  for (const TrialRecord& r : all) {
    size_t epochs = 0;
    for (const auto& [k, v] : r.series) epochs = std::max(epochs, v.size());
    for (size_t e = 0; e < epochs; ++e) {
      std::vector<std::string> cells{r.trial.id, r.trial.kind.name(), r.trial.label};
      for (const std::string& a : axes) cells.push_back(r.trial.axes.count(a) ? r.trial.axes.at(a) : "");
      cells.push_back(std::to_string(e + 1));
      for (const std::string& k : series) {
        const auto it = r.series.find(k);
        cells.push_back(it != r.series.end() && e < it->second.size() ? fmt::format("{}", it->second[e]) : "");
      }
      for (auto& c : cells) c = csv_field(c);
      out += fmt::format("{}\n", fmt::join(cells, ","));
    }
  }
  return out;
}

}  // namespace signsweep::report
