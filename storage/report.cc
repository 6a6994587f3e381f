#include "storage/report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"
#include "storage/statistics.h"
#include "storage/store_views.h"
#include "storage/trial_results.h"

namespace signsweep::storage {
namespace {

// ---- rows ---------------------------------------------------------------------------------------------

struct Trial {
  const TrialRecord* record;
  TrialResults results;
};

using Value = std::function<std::optional<double>(const Trial&)>;

enum class Aggregate {
  kMean,    // mean, sample std, 95% CI
  kMedian,  // p-values
  kRate,    // verdicts (1/0): the fraction judged owned
};

struct Column {
  std::string name;    // CSV stem: <name>_mean, _std, _ci95 / _median / _rate
  std::string header;  // markdown
  Aggregate aggregate;
  Value value;
};

// Axis values compare as numbers when both are numbers (16 < 128), else as text.
bool axis_less(const std::string& a, const std::string& b) {
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a);
  const double y = std::strtod(b.c_str(), &end_b);
  const bool numbers = !a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0';
  if (numbers && x != y) return x < y;
  return numbers ? false : a < b;
}

struct KeyLess {
  bool operator()(const std::vector<std::string>& a, const std::vector<std::string>& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), axis_less);
  }
};

struct Table {
  std::vector<std::string> axes;  // the grouping axes (every axis of these trials but the pooled ones)
  std::vector<Column> columns;
  std::map<std::vector<std::string>, std::vector<const Trial*>, KeyLess> rows;
};

// An attack on the prediction API as format-1 stores recorded it: the white-box figures "after" were a copy
// of those before. Such a record is recognised by its remote readings after the attack.
void drop_copied_white_box(Trial& t) {
  WatermarkReading& after = *t.results.watermark;
  after.ber_white_box.reset();
  after.p_value.reset();
  after.owned.reset();
}

std::vector<Trial> trials_of(const ResultsStore& store, const std::vector<TrialRecord>& all,
                             const std::function<bool(const TrialRecord&)>& wanted) {
  std::vector<Trial> out;
  for (const TrialRecord& r : all) {
    if (r.state != TrialState::kDone || !wanted(r)) continue;
    Trial t{&r, TrialResults::from_scalars(r.results)};
    const bool attack = !r.trial.parent.empty() && r.trial.kind != kNullCheckKind;
    if (store.format_version() == 1 && attack && t.results.watermark && !t.results.watermark->ber_remote.empty())
      drop_copied_white_box(t);
    out.push_back(std::move(t));
  }
  return out;
}

Table group(const std::vector<Trial>& trials, const std::vector<std::string>& over, std::vector<Column> columns) {
  Table t;
  std::set<std::string> axes;
  for (const Trial& trial : trials)
    for (const auto& [k, v] : trial.record->trial.axes)
      if (std::find(over.begin(), over.end(), k) == over.end()) axes.insert(k);
  t.axes.assign(axes.begin(), axes.end());
  t.columns = std::move(columns);
  for (const Trial& trial : trials) {
    std::vector<std::string> key;
    for (const std::string& a : t.axes) {
      const auto it = trial.record->trial.axes.find(a);
      key.push_back(it == trial.record->trial.axes.end() ? "" : it->second);
    }
    t.rows[key].push_back(&trial);
  }
  return t;
}

// ---- columns ------------------------------------------------------------------------------------------

std::optional<double> optional_bool(const std::optional<bool>& b) {
  return b ? std::optional<double>(*b ? 1.0 : 0.0) : std::nullopt;
}

// Reading accessors: `before` selects the reading before an attack.
const std::optional<WatermarkReading>& reading(const Trial& t, bool before) {
  return before ? t.results.watermark_before : t.results.watermark;
}

Value white_box_ber(bool before) {
  return [before](const Trial& t) -> std::optional<double> {
    const auto& r = reading(t, before);
    return r ? r->ber_white_box : std::nullopt;
  };
}

Value p_value(bool before) {
  return [before](const Trial& t) -> std::optional<double> {
    const auto& r = reading(t, before);
    return r ? r->p_value : std::nullopt;
  };
}

Value owned(bool before) {
  return [before](const Trial& t) -> std::optional<double> {
    const auto& r = reading(t, before);
    return r ? optional_bool(r->owned) : std::nullopt;
  };
}

// One column per finite-difference step h that any of the trials was read remotely at.
std::vector<Column> remote_columns(const std::vector<Trial>& trials) {
  std::set<double> steps;
  for (const Trial& t : trials)
    if (t.results.watermark)
      for (const auto& [h, ber] : t.results.watermark->ber_remote) steps.insert(h);
  std::vector<Column> columns;
  for (const double h : steps)
    columns.push_back({remote_ber_key(h), fmt::format("remote BER h={:g}", h), Aggregate::kMean,
                       [h](const Trial& t) -> std::optional<double> {
                         if (!t.results.watermark) return std::nullopt;
                         const auto it = t.results.watermark->ber_remote.find(h);
                         return it == t.results.watermark->ber_remote.end() ? std::nullopt : std::optional<double>(it->second);
                       }});
  return columns;
}

Column test_accuracy(const char* header) {
  return {"test_accuracy", header, Aggregate::kMean, [](const Trial& t) { return t.results.test_accuracy; }};
}

std::vector<Column> embed_columns(const std::vector<Trial>& trials) {
  std::vector<Column> c{test_accuracy("test acc"),
                        {"ber_white_box", "BER", Aggregate::kMean, white_box_ber(false)},
                        {"p_value", "p (median)", Aggregate::kMedian, p_value(false)},
                        {"owned", "owned", Aggregate::kRate, owned(false)}};
  for (Column& r : remote_columns(trials)) c.push_back(std::move(r));
  return c;
}

std::vector<Column> attack_columns(const std::vector<Trial>& trials) {
  std::vector<Column> c{{"accuracy_before", "acc before", Aggregate::kMean, [](const Trial& t) { return t.results.accuracy_before; }},
                        test_accuracy("acc after"),
                        {"ber_white_box_before", "BER before", Aggregate::kMean, white_box_ber(true)},
                        {"ber_white_box", "BER after", Aggregate::kMean, white_box_ber(false)}};
  for (Column& r : remote_columns(trials)) c.push_back(std::move(r));
  c.push_back({"p_value", "p after (median)", Aggregate::kMedian, p_value(false)});
  c.push_back({"owned", "owned after", Aggregate::kRate, owned(false)});
  return c;
}

Value null_figure(double NullCheck::*field) {
  return [field](const Trial& t) -> std::optional<double> {
    return t.results.null_check ? std::optional<double>((*t.results.null_check).*field) : std::nullopt;
  };
}

std::vector<Column> null_columns() {
  return {{"null_models", "null models", Aggregate::kMean,
           [](const Trial& t) -> std::optional<double> {
             return t.results.null_check ? std::optional<double>(static_cast<double>(t.results.null_check->models)) : std::nullopt;
           }},
          {"ber_white_box", "BER", Aggregate::kMean, white_box_ber(false)},
          {"null_min_ber", "threshold (lowest null BER)", Aggregate::kMean, null_figure(&NullCheck::min_ber)},
          {"null_mean_ber", "mean null BER", Aggregate::kMean, null_figure(&NullCheck::mean_ber)},
          {"null_false_positive_rate", "false positives (binomial)", Aggregate::kMean,
           null_figure(&NullCheck::false_positive_rate)},
          {"owned", "owned (binomial)", Aggregate::kRate, owned(false)},
          {"owned_empirically", "owned (empirical)", Aggregate::kRate,
           [](const Trial& t) -> std::optional<double> {
             return t.results.null_check ? optional_bool(t.results.null_check->owned_empirically) : std::nullopt;
           }}};
}

// ---- rendering ----------------------------------------------------------------------------------------

struct Cell {
  std::optional<Summary> mean;
  std::optional<double> median;
  std::optional<std::pair<int64_t, int64_t>> rate;  // owned, of
};

Cell aggregate(const Column& c, const std::vector<const Trial*>& trials) {
  std::vector<double> values;
  for (const Trial* t : trials)
    if (const auto v = c.value(*t); v && !std::isnan(*v)) values.push_back(*v);
  Cell cell;
  if (values.empty()) return cell;
  switch (c.aggregate) {
    case Aggregate::kMean: cell.mean = summarize(values); break;
    case Aggregate::kMedian: cell.median = median(values); break;
    case Aggregate::kRate: {
      int64_t yes = 0;
      for (const double v : values) yes += v != 0.0;
      cell.rate = std::make_pair(yes, static_cast<int64_t>(values.size()));
      break;
    }
  }
  return cell;
}

std::string md_cell(const Cell& c) {
  if (c.mean) return c.mean->n < 2 ? fmt::format("{:.4g}", c.mean->mean) : fmt::format("{:.4g} ± {:.2g}", c.mean->mean, c.mean->ci95);
  if (c.median) return fmt::format("{:.2g}", *c.median);
  if (c.rate) return fmt::format("{}/{}", c.rate->first, c.rate->second);
  return "-";
}

std::string number(double v) { return std::isnan(v) ? "" : fmt::format("{:.6g}", v); }

std::vector<std::string> csv_cells(const Column& column, const Cell& c) {
  switch (column.aggregate) {
    case Aggregate::kMean:
      if (!c.mean) return {"", "", ""};
      return {number(c.mean->mean), number(c.mean->std), number(c.mean->ci95)};
    case Aggregate::kMedian: return {c.median ? number(*c.median) : ""};
    case Aggregate::kRate:
      return {c.rate ? number(static_cast<double>(c.rate->first) / static_cast<double>(c.rate->second)) : ""};
  }
  return {};
}

std::vector<std::string> csv_header(const Column& c) {
  switch (c.aggregate) {
    case Aggregate::kMean: return {c.name + "_mean", c.name + "_std", c.name + "_ci95"};
    case Aggregate::kMedian: return {c.name + "_median"};
    case Aggregate::kRate: return {c.name + "_rate"};
  }
  return {};
}

std::string render_csv(const Table& t) {
  std::vector<std::string> header = t.axes;
  header.push_back("n");
  for (const Column& c : t.columns)
    for (std::string& h : csv_header(c)) header.push_back(std::move(h));
  std::string out = fmt::format("{}\n", fmt::join(header, ","));
  for (const auto& [key, trials] : t.rows) {
    std::vector<std::string> cells = key;
    cells.push_back(std::to_string(trials.size()));
    for (const Column& c : t.columns)
      for (std::string& v : csv_cells(c, aggregate(c, trials))) cells.push_back(std::move(v));
    for (auto& c : cells) c = csv_field(c);
    out += fmt::format("{}\n", fmt::join(cells, ","));
  }
  return out;
}

std::string render_md(const Table& t, const std::vector<std::string>& over) {
  std::string out = fmt::format(
      "Rows pool {} (n runs each): mean ± 95% CI (Student's t, n-1); p: median; owned: models judged owned at the "
      "significance level.\n\n",
      over.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(over, ", ")));
  std::vector<std::string> header = t.axes;
  header.push_back("n");
  for (const Column& c : t.columns) header.push_back(c.header);
  out += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
  for (size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& [key, trials] : t.rows) {
    std::vector<std::string> cells = key;
    cells.push_back(std::to_string(trials.size()));
    for (const Column& c : t.columns) cells.push_back(md_cell(aggregate(c, trials)));
    out += "| " + fmt::format("{}", fmt::join(cells, " | ")) + " |\n";
  }
  return out;
}

}  // namespace

const std::vector<std::string>& report_tables() {
  static const std::vector<std::string> tables{"embed", "attacks", "null"};
  return tables;
}

std::string report_text(const ResultsStore& store, const ReportOptions& options) {
  if (options.format != "md" && options.format != "csv")
    throw ConfigError(fmt::format("--format {}: expected md or csv", options.format));
  const auto& tables = report_tables();
  if (std::find(tables.begin(), tables.end(), options.table) == tables.end())
    throw ConfigError(fmt::format("--table {}: unknown table (tables: {})", options.table, fmt::join(tables, ", ")));
  const std::vector<TrialRecord> all = store.read_all(false);
  std::vector<Trial> trials;
  std::vector<Column> columns;
  if (options.table == "embed") {
    trials = trials_of(store, all, [](const TrialRecord& r) { return r.trial.kind == kEmbedKind; });
    columns = embed_columns(trials);
  } else if (options.table == "attacks") {
    trials = trials_of(store, all, [](const TrialRecord& r) {
      return !r.trial.parent.empty() && r.trial.kind != kNullCheckKind;
    });
    columns = attack_columns(trials);
  } else {
    trials = trials_of(store, all, [](const TrialRecord& r) { return r.trial.kind == kNullCheckKind; });
    columns = null_columns();
  }
  const Table table = group(trials, options.over, std::move(columns));
  return options.format == "csv" ? render_csv(table) : render_md(table, options.over);
}

}  // namespace signsweep::storage
