#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "common/errors.h"
#include "core/trial_results.h"
#include "report/statistics.h"
#include "report/store_views.h"

namespace signsweep::report {

using storage::PlannedTrial;
using storage::ResultsStore;
using storage::TrialRecord;
using storage::TrialState;
namespace {

using core::NullCheck;
using core::TrialResults;
using core::WatermarkReading;
using core::remote_ber_key;

// ---- rows ---------------------------------------------------------------------------------------------

struct Trial {
  const TrialRecord* record;
  TrialResults results;
  std::map<std::string, std::string> settings;  // attacks: their resolved config's settings (with_setting_axes)
};

using Value = std::function<std::optional<double>(const Trial&)>;
using Count = std::function<int64_t(const Trial&)>;

enum class Aggregate {
  kMean,    // mean over runs, sample std, percentile bootstrap interval over the runs
  kCounts,  // a proportion of counts (a BER: wrong bits of N): pooled over the runs, Clopper-Pearson interval
  kMedian,  // p-values
  kRate,    // verdicts (1/0): k of n models, Clopper-Pearson interval
};

struct Column {
  std::string name;    // CSV stem: <name>_mean, _std, _lo, _hi / _median / _rate, _lo, _hi
  std::string header;  // markdown
  Aggregate aggregate;
  Value value;
  Count count = nullptr;           // kCounts: the denominator of each trial's proportion (its bits)
  bool interval_at_one_run = false;  // kCounts whose sample is inside the run (a false-positive rate of m null models)
  bool fractional = false;  // kCounts whose value times its count is a mean of counts (the reference's BER: wrong
                            // bits of N averaged over R repeats), pooled unrounded
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
    Trial t{&r, r.results};
    const bool attack = !r.trial.parent.empty() && r.trial.kind.stage != core::Stage::kNullCheck;
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

Count bits_of(bool before) {
  return [before](const Trial& t) -> int64_t {
    const auto& r = reading(t, before);
    return r ? r->bits : 0;
  };
}

Value white_box_ber(bool before) {
  return [before](const Trial& t) -> std::optional<double> {
    const auto& r = reading(t, before);
    return r ? r->ber_white_box : std::nullopt;
  };
}

Value mean_repeat_ber(bool before) {
  return [before](const Trial& t) -> std::optional<double> {
    const auto& r = reading(t, before);
    return r ? r->mean_repeat_ber : std::nullopt;
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
    columns.push_back({remote_ber_key(h), fmt::format("remote BER h={:g}", h), Aggregate::kCounts,
                       [h](const Trial& t) -> std::optional<double> {
                         if (!t.results.watermark) return std::nullopt;
                         const auto it = t.results.watermark->ber_remote.find(h);
                         return it == t.results.watermark->ber_remote.end() ? std::nullopt : std::optional<double>(it->second);
                       },
                       bits_of(false)});
  return columns;
}

Column test_accuracy(const char* header) {
  return {"test_accuracy", header, Aggregate::kMean, [](const Trial& t) { return t.results.test_accuracy; }};
}

// The headline BER is the reference's (mean_repeat_ber: the BER of each of R repeats of S test images,
// averaged); the BER of the projection averaged over all S x R images is the second column. Pooled over the
// runs as the projection's is: the wrong bits of N (here averaged over the repeats) summed over the models,
// Clopper-Pearson on N bits a model, so three models that read every bit give [0, 0.0377] at N = 32, not the
// [0, 0] a bootstrap of three zeros would claim.
Column reference_ber(const char* header, bool before) {
  Column c{before ? "mean_repeat_ber_before" : "mean_repeat_ber", header, Aggregate::kCounts, mean_repeat_ber(before),
           bits_of(before)};
  c.fractional = true;
  return c;
}

std::optional<double> figure(const Trial& t, const char* name) {
  const auto it = t.results.figures.find(name);
  return it == t.results.figures.end() ? std::nullopt : std::optional<double>(it->second);
}

Column figure_column(const char* name, const std::string& header, Aggregate aggregate = Aggregate::kMean) {
  return {name, header, aggregate, [name](const Trial& t) { return figure(t, name); }};
}

bool any_has(const std::vector<Trial>& trials, const char* name) {
  return std::any_of(trials.begin(), trials.end(), [&](const Trial& t) { return t.results.figures.count(name) > 0; });
}

std::vector<Column> embed_columns(const std::vector<Trial>& trials) {
  std::vector<Column> c{test_accuracy("test acc"),
                        reference_ber("BER (reference: mean of R repeats)", false),
                        {"ber_white_box", "BER (projection)", Aggregate::kCounts, white_box_ber(false), bits_of(false)},
                        {"p_value", "p (median)", Aggregate::kMedian, p_value(false)},
                        {"owned", "owned", Aggregate::kRate, owned(false)}};
  for (Column& r : remote_columns(trials)) c.push_back(std::move(r));
  return c;
}

// ---- attacks: their settings, no-op baselines and the removal verdict --------------------------------

// An attack's top-level settings as its resolved config says them (scalars as written, others as flow YAML).
std::map<std::string, std::string> attack_settings(const PlannedTrial& t) {
  std::map<std::string, std::string> out;
  YAML::Node root;
  try {
    root = YAML::Load(t.config_yaml);
  } catch (const YAML::Exception&) {
    return out;  // an unreadable config has no settings to match on
  }
  if (!root.IsMap()) return out;
  for (const auto& kv : root) {
    if (kv.second.IsScalar()) {
      out[kv.first.as<std::string>()] = kv.second.Scalar();
      continue;
    }
    YAML::Emitter e;
    e << YAML::Flow << kv.second;
    out[kv.first.as<std::string>()] = e.c_str();
  }
  return out;
}

// The setting whose no-op value (0) makes an attack its own baseline: the same attacker budget (data, seed,
// optimizer, epochs) with nothing removed. Pruning at rate 0 is plain fine-tuning; overwriting at lambda 0 is
// the same fine-tuning on the same pseudo-labelled batches without the attacker's regularizer.
const char* removal_setting(const core::TrialKind& kind) {
  if (kind.stage != core::Stage::kAttack) return nullptr;
  switch (kind.attack) {
    case core::AttackKind::kPrune: case core::AttackKind::kPruneLayerwise: return "rate";
    case core::AttackKind::kOverwrite: return "lambda";
    default: return nullptr;
  }
}

bool is_zero(const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  return end != value.c_str() && *end == '\0' && v == 0.0;
}

// What pairs an attack with its baseline: its model, its kind and every setting but the removal one.
std::string baseline_match(const Trial& t, const char* setting) {
  std::string key = t.record->trial.parent + "\n" + t.record->trial.kind.name();
  for (const auto& [k, v] : t.settings)
    if (k != setting) key += "\n" + k + "=" + v;
  return key;
}

void set_figure(Trial& t, const char* name, std::optional<double> value) {
  if (value && !std::isnan(*value)) t.results.figures[name] = *value;
}

std::optional<double> difference(std::optional<double> a, std::optional<double> b) {
  return a && b ? std::optional<double>(*a - *b) : std::nullopt;
}

// Per attacked model: the change against the watermarked model, against the baseline where the sweep has
// it, and the verdicts usable (accuracy within `margin` of the watermarked model's) and removed (usable and
// judged not-owned). An attack on the prediction API has no white-box verdict after it: no removal verdict.
void judge_attacks(std::vector<Trial>& trials, double margin) {
  std::map<std::string, const Trial*> baselines;
  for (const Trial& t : trials)
    if (const char* setting = removal_setting(t.record->trial.kind)) {
      const auto it = t.settings.find(setting);
      if (it != t.settings.end() && is_zero(it->second)) baselines.emplace(baseline_match(t, setting), &t);
    }
  std::vector<std::map<std::string, double>> added(trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    Trial& t = trials[i];
    const auto before = mean_repeat_ber(true)(t), after = mean_repeat_ber(false)(t);
    set_figure(t, "accuracy_change", difference(t.results.test_accuracy, t.results.accuracy_before));
    set_figure(t, "ber_change", difference(after, before));
    if (t.results.test_accuracy && t.results.accuracy_before) {
      const bool usable = *t.results.test_accuracy >= *t.results.accuracy_before - margin;
      t.results.figures["usable"] = usable ? 1.0 : 0.0;
      const auto owned_after = t.results.watermark ? t.results.watermark->owned : std::nullopt;
      if (owned_after) t.results.figures["removed"] = usable && !*owned_after ? 1.0 : 0.0;
    }
    const char* setting = removal_setting(t.record->trial.kind);
    if (setting == nullptr) continue;
    const auto baseline = baselines.find(baseline_match(t, setting));
    if (baseline == baselines.end() || baseline->second == &t) continue;
    const Trial& b = *baseline->second;
    added[i]["accuracy_change_vs_baseline"] = difference(t.results.test_accuracy, b.results.test_accuracy).value_or(NAN);
    added[i]["ber_change_vs_baseline"] = difference(after, mean_repeat_ber(false)(b)).value_or(NAN);
  }
  for (size_t i = 0; i < trials.size(); ++i)  // after the loop: the baselines are read unchanged
    for (const auto& [name, v] : added[i])
      if (!std::isnan(v)) trials[i].results.figures[name] = v;
}

// Attack settings that differ between trials of one attack become axes of their rows even where separate
// entries set them rather than a grid (two quantize entries of variants reference and weights, a budget given
// per entry): rows never pool different attacks. Not the attacker's seed, which follows the model's seed and
// is pooled with it. `records` owns the records the returned trials point to.
std::vector<Trial> with_setting_axes(const std::vector<Trial>& trials, std::vector<TrialRecord>& records) {
  std::vector<std::map<std::string, std::string>> settings_of;  // each trial's config, parsed once
  std::map<std::string, std::map<std::string, std::set<std::string>>> values;  // kind -> setting -> values
  for (const Trial& t : trials) {
    settings_of.push_back(attack_settings(t.record->trial));
    for (const auto& [k, v] : settings_of.back()) values[t.record->trial.kind.name()][k].insert(v);
  }
  records.reserve(trials.size());  // the trials point into it
  std::vector<Trial> out;
  for (size_t i = 0; i < trials.size(); ++i) {
    const Trial& t = trials[i];
    TrialRecord r = *t.record;
    const auto& settings = settings_of[i];
    for (const auto& [k, seen] : values[r.trial.kind.name()]) {
      if (k == "seed" || k == "attack" || seen.size() < 2 || r.trial.axes.count("attack." + k)) continue;
      const auto it = settings.find(k);
      r.trial.axes["attack." + k] = it == settings.end() ? "" : it->second;
    }
    records.push_back(std::move(r));
    out.push_back({&records.back(), t.results, settings});
  }
  return out;
}

std::vector<Column> attack_columns(const std::vector<Trial>& trials, double margin) {
  std::vector<Column> c{{"accuracy_before", "acc before", Aggregate::kMean, [](const Trial& t) { return t.results.accuracy_before; }},
                        test_accuracy("acc after"),
                        figure_column("accuracy_change", "acc change (after - before)"),
                        reference_ber("BER before (reference)", true),
                        reference_ber("BER after (reference)", false),
                        figure_column("ber_change", "BER change (reference)"),
                        {"ber_white_box", "BER after (projection)", Aggregate::kCounts, white_box_ber(false), bits_of(false)}};
  for (Column& r : remote_columns(trials)) c.push_back(std::move(r));
  if (any_has(trials, "accuracy_after_pruning"))
    c.push_back(figure_column("accuracy_after_pruning", "acc after pruning (before fine-tuning)"));
  if (any_has(trials, "accuracy_change_vs_baseline")) {
    c.push_back(figure_column("accuracy_change_vs_baseline", "acc change vs baseline"));
    c.push_back(figure_column("ber_change_vs_baseline", "BER change vs baseline (reference)"));
  }
  if (any_has(trials, "attacker_mean_repeat_ber"))
    c.push_back(figure_column("attacker_mean_repeat_ber", "attacker's own BER (reference)"));
  c.push_back({"p_value", "p after (median)", Aggregate::kMedian, p_value(false)});
  c.push_back({"owned", "owned after", Aggregate::kRate, owned(false)});
  c.push_back(figure_column("usable", fmt::format("usable (acc within {:g})", margin), Aggregate::kRate));
  c.push_back(figure_column("removed", "removed (not owned, usable)", Aggregate::kRate));
  return c;
}

Value null_figure(double NullCheck::*field) {
  return [field](const Trial& t) -> std::optional<double> {
    return t.results.null_check ? std::optional<double>((*t.results.null_check).*field) : std::nullopt;
  };
}

std::vector<Column> null_columns() {
  return {{"null_models", "null models", Aggregate::kMedian,
           [](const Trial& t) -> std::optional<double> {
             return t.results.null_check ? std::optional<double>(static_cast<double>(t.results.null_check->models)) : std::nullopt;
           }},
          reference_ber("BER (reference)", false),
          {"ber_white_box", "BER (projection)", Aggregate::kCounts, white_box_ber(false), bits_of(false)},
          {"null_min_ber", "threshold (lowest null BER)", Aggregate::kMean, null_figure(&NullCheck::min_ber)},
          {"null_mean_ber", "mean null BER", Aggregate::kMean, null_figure(&NullCheck::mean_ber)},
          {"null_false_positive_rate", "false-positive rate (binomial verdict)", Aggregate::kCounts,
           null_figure(&NullCheck::false_positive_rate),
           [](const Trial& t) -> int64_t { return t.results.null_check ? t.results.null_check->models : 0; }, true},
          {"owned", "owned (binomial)", Aggregate::kRate, owned(false)},
          {"owned_empirically", "owned (empirical)", Aggregate::kRate,
           [](const Trial& t) -> std::optional<double> {
             return t.results.null_check ? optional_bool(t.results.null_check->owned_empirically) : std::nullopt;
           }}};
}

// ---- rendering ----------------------------------------------------------------------------------------

// One column's figure over a row's trials: the value, its spread and its interval where it has one.
struct Cell {
  int64_t runs = 0;                  // trials with a value
  double value = std::nan("");       // mean, pooled proportion, median or rate
  double std = std::nan("");         // kMean only
  std::optional<Interval> interval;  // none for one run (unless the column's sample is inside the run)
  std::optional<std::pair<int64_t, int64_t>> counts;  // kRate: k of n
};

Cell pooled_counts(const Column& c, const std::vector<const Trial*>& trials) {
  double k = 0.0;
  int64_t n = 0;
  Cell cell;
  for (const Trial* t : trials) {
    const auto v = c.value(*t);
    const int64_t of = c.count(*t);
    if (!v || std::isnan(*v) || of <= 0) continue;
    ++cell.runs;
    const double wrong = *v * static_cast<double>(of);  // a BER times its bits: the wrong bits
    k += c.fractional ? wrong : static_cast<double>(std::llround(wrong));
    n += of;
  }
  if (n == 0) return cell;
  cell.value = k / static_cast<double>(n);
  if (cell.runs >= 2 || c.interval_at_one_run) cell.interval = clopper_pearson(k, n);
  return cell;
}

Cell aggregate(const Column& c, const std::vector<const Trial*>& trials) {
  if (c.aggregate == Aggregate::kCounts) return pooled_counts(c, trials);
  std::vector<double> values;
  for (const Trial* t : trials)
    if (const auto v = c.value(*t); v && !std::isnan(*v)) values.push_back(*v);
  Cell cell;
  cell.runs = static_cast<int64_t>(values.size());
  if (values.empty()) return cell;
  switch (c.aggregate) {
    case Aggregate::kMean: {
      const Summary s = summarize(values);
      cell.value = s.mean;
      cell.std = s.std;
      cell.interval = s.interval;
      break;
    }
    case Aggregate::kMedian: cell.value = median(values); break;
    case Aggregate::kRate: {
      int64_t yes = 0;
      for (const double v : values) yes += v != 0.0;
      const auto n = static_cast<int64_t>(values.size());
      cell.counts = std::make_pair(yes, n);
      cell.value = static_cast<double>(yes) / static_cast<double>(n);
      if (n >= 2) cell.interval = clopper_pearson(yes, n);
      break;
    }
    case Aggregate::kCounts: break;
  }
  return cell;
}

std::string md_cell(const Cell& c, Aggregate aggregate) {
  if (c.runs == 0 || std::isnan(c.value)) return "-";
  const std::string interval = c.interval ? fmt::format(" [{:.3g}, {:.3g}]", c.interval->lo, c.interval->hi) : "";
  switch (aggregate) {
    case Aggregate::kMedian: return fmt::format("{:.2g}", c.value);
    case Aggregate::kRate: return fmt::format("{}/{}{}", c.counts->first, c.counts->second, interval);
    case Aggregate::kMean:
    case Aggregate::kCounts: return fmt::format("{:.4g}{}", c.value, interval);
  }
  return "-";
}

std::string number(double v) { return std::isnan(v) ? "" : fmt::format("{:.6g}", v); }

std::vector<std::string> csv_cells(const Column& column, const Cell& c) {
  const bool has = c.runs > 0 && !std::isnan(c.value);
  const std::string lo = c.interval ? number(c.interval->lo) : "", hi = c.interval ? number(c.interval->hi) : "";
  switch (column.aggregate) {
    case Aggregate::kMean: return {has ? number(c.value) : "", has ? number(c.std) : "", lo, hi};
    case Aggregate::kCounts:
    case Aggregate::kRate: return {has ? number(c.value) : "", lo, hi};
    case Aggregate::kMedian: return {has ? number(c.value) : ""};
  }
  return {};
}

std::vector<std::string> csv_header(const Column& c) {
  switch (c.aggregate) {
    case Aggregate::kMean: return {c.name + "_mean", c.name + "_std", c.name + "_lo", c.name + "_hi"};
    case Aggregate::kCounts: return {c.name + "_mean", c.name + "_lo", c.name + "_hi"};
    case Aggregate::kMedian: return {c.name + "_median"};
    case Aggregate::kRate: return {c.name + "_rate", c.name + "_lo", c.name + "_hi"};
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

// What the numbers of a table are: the pooling, and each interval's method (named once, for the columns
// that use it).
std::string methods_line(const Table& t, const std::vector<std::string>& over) {
  std::set<Aggregate> used;
  for (const Column& c : t.columns) used.insert(c.aggregate);
  std::string out = fmt::format("Rows pool {} (n runs each). Intervals are 95%, shown where a row pools 2 runs or more",
                                over.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(over, ", ")));
  std::vector<std::string> methods;
  if (used.count(Aggregate::kCounts))
    methods.push_back("BER (and false-positive rates): the proportion pooled over the runs' counts (wrong bits of N "
                      "per model, for the reference's BER averaged over its R repeats; bits taken as independent), "
                      "Clopper-Pearson");
  if (used.count(Aggregate::kMean)) methods.push_back("other figures: the mean over runs, percentile bootstrap over the runs");
  if (used.count(Aggregate::kRate)) methods.push_back("owned: models judged owned at the significance level, k/n, Clopper-Pearson");
  if (used.count(Aggregate::kMedian)) methods.push_back("p: the median over runs");
  return out + (methods.empty() ? "." : fmt::format(": {}.", fmt::join(methods, "; ")));
}

std::string render_md(const Table& t, const std::vector<std::string>& over) {
  std::string out = methods_line(t, over) + "\n\n";
  std::vector<std::string> header = t.axes;
  header.push_back("n");
  for (const Column& c : t.columns) header.push_back(c.header);
  out += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
  for (size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& [key, trials] : t.rows) {
    std::vector<std::string> cells = key;
    cells.push_back(std::to_string(trials.size()));
    for (const Column& c : t.columns) cells.push_back(md_cell(aggregate(c, trials), c.aggregate));
    out += "| " + fmt::format("{}", fmt::join(cells, " | ")) + " |\n";
  }
  return out;
}

}  // namespace

const std::vector<std::string>& report_tables() {
  static const std::vector<std::string> tables{"embed", "attacks", "null", "training", "cost"};
  return tables;
}

namespace {

bool is_plain(const Trial& t) { return !t.results.watermark; }

// The training table's rows: one per (training trial, epoch), with the trial's axes plus `epoch` and `stage`
// (embed, or null-model: the null-model stage's plain models), and that epoch's test and bit accuracy.
// `records` owns the per-epoch records the trials point to.
std::vector<Trial> epoch_trials(const std::vector<TrialRecord>& all, std::vector<TrialRecord>& records) {
  size_t epochs = 0;
  for (const TrialRecord& r : all)
    if (r.state == TrialState::kDone && r.series.count("test_accuracy")) epochs += r.series.at("test_accuracy").size();
  records.reserve(epochs);  // the trials point into it
  std::vector<Trial> out;
  for (const TrialRecord& r : all) {
    const bool trained = r.trial.kind.trains_model();
    if (r.state != TrialState::kDone || !trained || !r.series.count("test_accuracy")) continue;
    const std::vector<double>& accuracy = r.series.at("test_accuracy");
    // A plain model's series has a bit_accuracy column too (0: no signature to read): it is no reading.
    const bool watermarked = r.results.watermark.has_value();
    const auto bits = watermarked ? r.series.find("bit_accuracy") : r.series.end();
    for (size_t e = 0; e < accuracy.size(); ++e) {
      TrialRecord epoch;
      epoch.trial = r.trial;
      epoch.trial.axes["epoch"] = std::to_string(e + 1);
      epoch.trial.axes["stage"] = r.trial.kind.name();
      records.push_back(std::move(epoch));
      TrialResults results;
      results.test_accuracy = accuracy[e];
      if (bits != r.series.end() && e < bits->second.size()) results.figures["bit_accuracy"] = bits->second[e];
      out.push_back({&records.back(), std::move(results)});
    }
  }
  return out;
}

std::vector<Column> training_columns() {
  return {test_accuracy("test acc"),
          {"bit_accuracy", "bit accuracy (white-box)", Aggregate::kMean, [](const Trial& t) { return figure(t, "bit_accuracy"); }}};
}

// The accuracy cost of a watermark, paired: each watermarked model against the plain model that shares every
// axis but the watermark's (same seed, same data and recipe); watermarked models without one are left out.
std::vector<Trial> paired_cost_trials(const std::vector<Trial>& embedded) {
  const auto recipe = [](const Trial& t) {
    std::map<std::string, std::string> axes;
    for (const auto& [k, v] : t.record->trial.axes)
      if (k.rfind("watermark", 0) != 0) axes.emplace(k, v);
    return axes;
  };
  std::map<std::map<std::string, std::string>, const Trial*> plain;
  for (const Trial& t : embedded)
    if (is_plain(t) && t.results.test_accuracy) plain.emplace(recipe(t), &t);
  std::vector<Trial> out;
  for (const Trial& t : embedded) {
    if (is_plain(t) || !t.results.test_accuracy) continue;
    const auto twin = plain.find(recipe(t));
    if (twin == plain.end()) continue;
    Trial paired = t;
    const double plain_accuracy = *twin->second->results.test_accuracy;
    paired.results.figures["plain_test_accuracy"] = plain_accuracy;
    paired.results.figures["accuracy_cost"] = *t.results.test_accuracy - plain_accuracy;
    out.push_back(std::move(paired));
  }
  return out;
}

std::vector<Column> cost_columns() {
  return {test_accuracy("acc watermarked"),
          {"plain_test_accuracy", "acc plain (same seed)", Aggregate::kMean,
           [](const Trial& t) { return figure(t, "plain_test_accuracy"); }},
          {"accuracy_cost", "accuracy cost (watermarked - plain, paired)", Aggregate::kMean,
           [](const Trial& t) { return figure(t, "accuracy_cost"); }}};
}

// The null table's caution: an empirical threshold from fewer than 30 null models is unreliable.
std::string null_models_warning(const std::vector<Trial>& trials) {
  int64_t fewest = -1;
  for (const Trial& t : trials)
    if (t.results.null_check && (fewest < 0 || t.results.null_check->models < fewest)) fewest = t.results.null_check->models;
  if (fewest < 0 || fewest >= 30) return "";
  return fmt::format("\nWarning: as few as {} null model(s) stand behind an empirical threshold here; about 30 make it "
                     "meaningful (0 false positives of m bounds the rate only by 1 - 0.05^(1/m) at 95%).\n",
                     fewest);
}

// The sweep's removal_margin as its stored spec says it (stores of earlier versions: the default).
double stored_removal_margin(const ResultsStore& store) {
  try {
    const YAML::Node spec = YAML::Load(store.sweep().yaml);
    if (spec.IsMap() && spec[core::kRemovalMarginKey]) return spec[core::kRemovalMarginKey].as<double>();
  } catch (const YAML::Exception&) {
  }
  return core::kDefaultRemovalMargin;
}

std::string ber_note() {
  return "\nBER (reference): the BER of each of R repeats of S target-class test images, averaged (the GradSigns "
         "reference's mean_repeat_ber); BER (projection): the bits of the projection averaged over all S x R images.\n";
}

std::string removal_note(double margin) {
  return ber_note() + fmt::format(
      "Changes are paired per attacked model: after minus before, and against the baseline (the same attack and "
      "budget with nothing removed: pruning rate 0, overwriting lambda 0). An attacked model is usable when its "
      "accuracy is within {:g} of the watermarked model's, and the watermark is removed when the binomial verdict "
      "flips to not-owned on a usable model; a model that is not usable is wrecked, neither robust nor a removal. "
      "Attacks on the prediction API leave the weights the owner's: they have no verdict after, only remote BERs.\n",
      margin);
}

}  // namespace

std::string report_text(const ResultsStore& store, const ReportOptions& options) {
  if (options.format != "md" && options.format != "csv")
    throw ConfigError(fmt::format("--format {}: expected md or csv", options.format));
  const auto& tables = report_tables();
  if (std::find(tables.begin(), tables.end(), options.table) == tables.end())
    throw ConfigError(fmt::format("--table {}: unknown table (tables: {})", options.table, fmt::join(tables, ", ")));
  const std::vector<TrialRecord> all = store.read_all(options.table == "training");
  std::vector<TrialRecord> epochs;  // records the rows point to: the training table's epochs, the attacks' settings
  std::vector<Trial> trials;
  std::vector<Column> columns;
  std::string note;
  if (options.table == "embed") {
    trials = trials_of(store, all, [](const TrialRecord& r) { return r.trial.kind.stage == core::Stage::kEmbed; });
    columns = embed_columns(trials);
    note = ber_note();
  } else if (options.table == "attacks") {
    const double margin = options.removal_margin.value_or(stored_removal_margin(store));
    trials = with_setting_axes(trials_of(store, all, [](const TrialRecord& r) {
      return !r.trial.parent.empty() && r.trial.kind.stage != core::Stage::kNullCheck;
    }), epochs);
    judge_attacks(trials, margin);
    columns = attack_columns(trials, margin);
    note = removal_note(margin);
  } else if (options.table == "null") {
    trials = trials_of(store, all, [](const TrialRecord& r) { return r.trial.kind.stage == core::Stage::kNullCheck; });
    columns = null_columns();
    note = ber_note() + null_models_warning(trials);
  } else if (options.table == "training") {
    trials = epoch_trials(all, epochs);
    columns = training_columns();
  } else {
    trials = paired_cost_trials(trials_of(store, all, [](const TrialRecord& r) { return r.trial.kind.stage == core::Stage::kEmbed; }));
    columns = cost_columns();
  }
  const Table table = group(trials, options.over, std::move(columns));
  return options.format == "csv" ? render_csv(table) : render_md(table, options.over) + note;
}

}  // namespace signsweep::report
