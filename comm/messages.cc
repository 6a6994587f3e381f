#include "comm/messages.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "common/json.h"

namespace signsweep::comm {
namespace {

constexpr int64_t kMaxCpuId = 1023;  // CPU_SETSIZE - 1: sched_getaffinity's mask holds no higher id

// JSON has no NaN or infinity: nlohmann writes them as null, and they come back as NaN (a diverging
// trial's loss must reach rank 0 as a number, not as a decoding error that aborts the job).
double number(const nlohmann::json& v, const char* key) { return v.is_null() ? std::nan("") : common::json_number(v, key); }

}  // namespace

std::string encode(const Task& t) {
  return nlohmann::json{{"id", t.id},         {"kind", t.kind.name()},         {"label", t.label},
                        {"config", t.config_yaml}, {"checkpoint", t.checkpoint}, {"parent_checkpoint", t.parent_checkpoint},
                        {"attempt", t.attempt}, {"report_progress", t.report_progress}, {"time_limit_s", t.time_limit_s},
                        {"null_checkpoints", t.null_checkpoints}, {"state", t.state}, {"heartbeat_s", t.heartbeat_s}}
      .dump();
}

const std::vector<double>& duration_bucket_bounds() {
  static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
  return bounds;
}

void DurationBins::add(double seconds) {
  const auto& bounds = duration_bucket_bounds();
  if (counts.empty()) counts.assign(bounds.size() + 1, 0);
  ++counts[static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin())];  // le
  sum += seconds;
}

void DurationBins::add(const std::vector<double>& seconds) {
  for (const double s : seconds) add(s);
}

int64_t DurationBins::total() const { return std::accumulate(counts.begin(), counts.end(), int64_t{0}); }

namespace {

nlohmann::json bins_json(const DurationBins& b) { return {{"counts", b.counts}, {"sum", b.sum}}; }

DurationBins bins_from(const nlohmann::json& j) {
  DurationBins b;
  b.counts = common::json_integers(j.at("counts"), "counts", 0);
  b.sum = number(j.at("sum"), "sum");
  if (!b.counts.empty() && b.counts.size() != duration_bucket_bounds().size() + 1)
    throw ProtocolError("duration bins of another bucket layout");
  return b;
}

}  // namespace

std::string encode(const Progress& p) {
  return nlohmann::json{{"id", p.id},     {"group", p.group}, {"epoch", p.epoch}, {"step", p.step},
                        {"steps", p.steps}, {"loss", p.loss},   {"accuracy", p.accuracy}, {"bit_accuracy", p.bit_accuracy},
                        {"images_per_second", p.images_per_second}, {"step_times", bins_json(p.step_times)},
                        {"allreduce_times", bins_json(p.allreduce_times)}, {"images", p.images}}
      .dump();
}

std::string encode(const Result& r) {
  nlohmann::json results = nlohmann::json::object();  // non-finite values as null (see number())
  for (const auto& [k, v] : r.results.to_scalars()) results[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  return nlohmann::json{{"id", r.id},           {"ok", r.ok},         {"interrupted", r.interrupted}, {"store_failed", r.store_failed}, {"error", r.error}, {"results", results},
                        {"series", r.series}}
      .dump();
}

std::string encode(const RankReport& r) {
  return nlohmann::json{{"host", r.host}, {"gpus", r.gpus}, {"cpus", r.cpus}, {"cpus_per_task", r.cpus_per_task}}.dump();
}

namespace {

// Decodes one message with `read`; anything that does not decode (invalid JSON, past the limits, a missing
// key or one of another type) is a ProtocolError naming the message kind.
template <typename F>
auto decoded(const char* kind, const std::string& s, F&& read) -> decltype(read(nlohmann::json())) {
  try {
    return read(common::parse_json(s, kind));
  } catch (const ProtocolError& e) {
    throw ProtocolError(fmt::format("malformed {} message: {}", kind, e.what()));
  } catch (const InputError& e) {
    throw ProtocolError(fmt::format("malformed {} message: {}", kind, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw ProtocolError(fmt::format("malformed {} message: {}", kind, e.what()));
  }
}

}  // namespace

RankReport decode_rank_report(const std::string& s) {
  return decoded("rank report", s, [](const nlohmann::json& j) {
    RankReport r{j.at("host"), j.at("gpus").get<std::vector<std::string>>(), {}, 0};
    for (const int64_t cpu : common::json_integers(j.at("cpus"), "cpus", 0, kMaxCpuId)) r.cpus.push_back(static_cast<int>(cpu));
    r.cpus_per_task = static_cast<int>(common::json_integer(j.at("cpus_per_task"), "cpus_per_task", 0, kMaxCpuId + 1));
    return r;
  });
}

Task decode_task(const std::string& s) {
  return decoded("task", s, [](const nlohmann::json& j) {
    Task t;
    t.id = j.at("id");
    const std::string kind = j.at("kind");
    const std::optional<core::TrialKind> typed = core::TrialKind::from_string(kind);
    if (!typed) throw ProtocolError(fmt::format("kind '{}' is not a trial kind", kind.substr(0, 80)));
    t.kind = *typed;
    t.label = j.at("label");
    t.config_yaml = j.at("config");
    t.checkpoint = j.at("checkpoint");
    t.parent_checkpoint = j.at("parent_checkpoint");
    t.null_checkpoints = j.at("null_checkpoints").get<std::vector<std::string>>();
    t.state = j.at("state");
    t.attempt = common::json_integer(j.at("attempt"), "attempt", 1);
    t.report_progress = j.at("report_progress");
    t.time_limit_s = common::json_number(j.at("time_limit_s"), "time_limit_s");
    t.heartbeat_s = common::json_number(j.at("heartbeat_s"), "heartbeat_s");
    return t;
  });
}

Progress decode_progress(const std::string& s) {
  return decoded("progress", s, [](const nlohmann::json& j) {
    Progress p;
    p.id = j.at("id");
    p.group = static_cast<int>(common::json_integer(j.at("group"), "group", INT_MIN, INT_MAX));
    p.epoch = common::json_integer(j.at("epoch"), "epoch", 0);
    p.step = common::json_integer(j.at("step"), "step", 0);
    p.steps = common::json_integer(j.at("steps"), "steps", 0);
    p.loss = number(j.at("loss"), "loss");
    p.accuracy = number(j.at("accuracy"), "accuracy");
    p.bit_accuracy = number(j.at("bit_accuracy"), "bit_accuracy");
    p.images_per_second = number(j.at("images_per_second"), "images_per_second");
    p.step_times = bins_from(j.at("step_times"));
    p.allreduce_times = bins_from(j.at("allreduce_times"));
    p.images = common::json_integer(j.at("images"), "images", 0);
    return p;
  });
}

Result decode_result(const std::string& s) {
  return decoded("result", s, [](const nlohmann::json& j) {
    Result r;
    r.id = j.at("id");
    r.ok = j.at("ok");
    r.interrupted = j.at("interrupted");
    r.store_failed = j.at("store_failed");
    r.error = j.at("error");
    std::map<std::string, double> results;
    for (const auto& [k, v] : j.at("results").items()) results[k] = number(v, "results");
    r.results = core::TrialResults::from_scalars(results);
    for (const auto& [k, v] : j.at("series").items()) {
      std::vector<double>& values = r.series[k];
      for (const auto& x : v) values.push_back(number(x, "series"));
    }
    return r;
  });
}

}  // namespace signsweep::comm
