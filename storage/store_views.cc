#include "storage/store_views.h"

#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"

namespace signsweep::storage {
namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

bool is_seed_axis(const std::string& key) { return key.find("seed") != std::string::npos; }

struct Stat {
  double sum = 0.0, sq = 0.0;
  int n = 0;
  void add(double v) {
    sum += v;
    sq += v * v;
    ++n;
  }
  double mean() const { return n > 0 ? sum / n : NAN; }
  double std() const { return n > 1 ? std::sqrt(std::max(0.0, sq / n - mean() * mean())) : 0.0; }
};

struct Table {
  std::vector<std::string> axis_columns;
  std::vector<std::string> metrics;
  std::map<std::vector<std::string>, std::map<std::string, Stat>> rows;  // axis values -> metric -> stat
};

Table build_table(const std::vector<TrialRecord>& trials, bool attacks, const std::vector<std::string>& metrics) {
  Table t;
  t.metrics = metrics;
  std::set<std::string> axis_keys;
  for (const TrialRecord& r : trials)
    if (r.state == TrialState::kDone && (r.trial.kind == "embed") != attacks)
      for (const auto& [k, v] : r.trial.axes)
        if (!is_seed_axis(k)) axis_keys.insert(k);
  t.axis_columns.assign(axis_keys.begin(), axis_keys.end());
  for (const TrialRecord& r : trials) {
    if (r.state != TrialState::kDone || (r.trial.kind == "embed") == attacks) continue;
    std::vector<std::string> key;
    for (const std::string& k : t.axis_columns) key.push_back(r.trial.axes.count(k) ? r.trial.axes.at(k) : "");
    auto& row = t.rows[key];
    for (const std::string& m : metrics)
      if (r.results.count(m)) row[m].add(r.results.at(m));
  }
  return t;
}

std::string render(const Table& t, const std::string& format) {
  std::vector<std::string> header = t.axis_columns;
  header.push_back("n");
  for (const std::string& m : t.metrics) {
    if (format == "csv") {
      header.push_back(m + "_mean");
      header.push_back(m + "_std");
    } else {
      header.push_back(m);
    }
  }
  std::string out;
  if (format == "md") {
    out += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
    for (size_t i = 0; i < header.size(); ++i) out += "---|";
    out += "\n";
  } else {
    out += fmt::format("{}\n", fmt::join(header, ","));
  }
  for (const auto& [key, stats] : t.rows) {
    std::vector<std::string> cells = key;
    int n = 0;
    for (const auto& [m, s] : stats) n = std::max(n, s.n);
    cells.push_back(std::to_string(n));
    for (const std::string& m : t.metrics) {
      const auto it = stats.find(m);
      const Stat s = it == stats.end() ? Stat{} : it->second;
      if (format == "csv") {
        cells.push_back(fmt::format("{:.6g}", s.mean()));
        cells.push_back(fmt::format("{:.6g}", s.std()));
      } else {
        cells.push_back(s.n == 0 ? "-" : fmt::format("{:.4g} ± {:.2g}", s.mean(), s.std()));
      }
    }
    if (format == "md") out += "| " + fmt::format("{}", fmt::join(cells, " | ")) + " |\n";
    else {
      for (auto& c : cells) c = csv_field(c);
      out += fmt::format("{}\n", fmt::join(cells, ","));
    }
  }
  return out;
}

}  // namespace

std::string status_text(const ResultsStore& store) {
  const std::vector<TrialRecord> all = store.read_all(false);
  std::map<TrialState, int> counts;
  for (const TrialRecord& r : all) ++counts[r.state];
  std::string s = fmt::format("sweep {} (hash {}), {} trials\n", store.sweep().file, store.sweep().hash, all.size());
  for (const TrialState st : {TrialState::kDone, TrialState::kRunning, TrialState::kPending, TrialState::kFailed})
    s += fmt::format("{:<8} {}\n", to_string(st), counts[st]);
  for (const TrialRecord& r : all)
    if (r.state == TrialState::kRunning)
      s += fmt::format("running {} [{}] {} (attempt {}, started {})\n", r.trial.id, r.trial.kind, r.trial.label, r.attempts,
                       r.provenance.count("started") ? r.provenance.at("started") : "?");
  for (const TrialRecord& r : all)
    if (r.state == TrialState::kFailed)
      s += fmt::format("failed  {} [{}] {} (attempt {}): {}\n", r.trial.id, r.trial.kind, r.trial.label, r.attempts, r.error);
  return s;
}

const std::vector<std::string>& report_tables() {
  static const std::vector<std::string> tables{"embed", "attacks"};
  return tables;
}

std::string report_text(const ResultsStore& store, const std::string& table, const std::string& format) {
  if (format != "md" && format != "csv") throw ConfigError(fmt::format("--format {}: expected md or csv", format));
  if (table != "embed" && table != "attacks")
    throw ConfigError(fmt::format("--table {}: unknown table (tables: {})", table, fmt::join(report_tables(), ", ")));
  const std::vector<TrialRecord> all = store.read_all(false);
  if (table == "embed")
    return render(build_table(all, false, {"test_accuracy", "ber_white_box", "p_value"}), format);
  return render(build_table(all, true, {"accuracy_before", "test_accuracy", "ber_white_box_before", "ber_white_box", "p_value"}),
                format);
}

std::string export_csv(const ResultsStore& store) {
  const std::vector<TrialRecord> all = store.read_all(false);
  std::set<std::string> axes, results;
  for (const TrialRecord& r : all) {
    for (const auto& [k, v] : r.trial.axes) axes.insert(k);
    for (const auto& [k, v] : r.results) results.insert(k);
  }
  std::vector<std::string> header{"id",    "kind",    "label",    "parent", "state", "attempts",
                                  "error", "started", "finished", "host",   "device"};
  header.insert(header.end(), axes.begin(), axes.end());
  header.insert(header.end(), results.begin(), results.end());
  std::string out = fmt::format("{}\n", fmt::join(header, ","));
  for (const TrialRecord& r : all) {
    const auto prov = [&](const char* key) { return r.provenance.count(key) ? r.provenance.at(key) : std::string(); };
    std::vector<std::string> cells{r.trial.id,       r.trial.kind,       r.trial.label, r.trial.parent,
                                   to_string(r.state), std::to_string(r.attempts), r.error, prov("started"),
                                   prov("finished"), prov("host"),      prov("device")};
    for (const std::string& a : axes) cells.push_back(r.trial.axes.count(a) ? r.trial.axes.at(a) : "");
    for (const std::string& k : results) cells.push_back(r.results.count(k) ? fmt::format("{:.17g}", r.results.at(k)) : "");
    for (auto& c : cells) c = csv_field(c);
    out += fmt::format("{}\n", fmt::join(cells, ","));
  }
  return out;
}

}  // namespace signsweep::storage
