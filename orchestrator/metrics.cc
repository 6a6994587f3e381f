#include "orchestrator/metrics.h"

#include <fmt/format.h>

#include "common/errors.h"

#ifdef SIGNSWEEP_WITH_PROMETHEUS
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <arpa/inet.h>

#include <chrono>
#include <mutex>

namespace signsweep::orchestrator {

namespace pm = prometheus;

namespace {

// Adds the binned durations of the steps a worker ran since its last message (comm::DurationBins).
void observe(pm::Histogram& h, const comm::DurationBins& bins) {
  if (bins.counts.empty()) return;
  h.ObserveMultiple(std::vector<double>(bins.counts.begin(), bins.counts.end()), bins.sum);
}

}  // namespace

struct SweepMetrics::Impl {
  std::string sweep;
  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
  std::unique_ptr<pm::Exposer> exposer;
  pm::Family<pm::Gauge>& trials = pm::BuildGauge().Name("signsweep_trials").Help("Trials of the sweep by state").Register(*registry);
  pm::Family<pm::Counter>& completed = pm::BuildCounter().Name("signsweep_trials_completed_total").Help("Trials finished done, by kind").Register(*registry);
  pm::Family<pm::Counter>& failed = pm::BuildCounter().Name("signsweep_trials_failed_total").Help("Trials finished failed, by kind").Register(*registry);
  pm::Family<pm::Counter>& retried = pm::BuildCounter().Name("signsweep_trials_retried_total").Help("Trials dispatched again (attempt > 1)").Register(*registry);
  pm::Family<pm::Gauge>& queue = pm::BuildGauge().Name("signsweep_ready_queue_depth").Help("Trials ready to run and waiting for a group").Register(*registry);
  pm::Family<pm::Gauge>& start_time = pm::BuildGauge().Name("signsweep_sweep_start_time_seconds").Help("Unix time the sweep started").Register(*registry);
  pm::Family<pm::Gauge>& remaining = pm::BuildGauge().Name("signsweep_sweep_expected_remaining_seconds").Help("Estimated time to the end of the sweep").Register(*registry);
  pm::Family<pm::Gauge>& busy = pm::BuildGauge().Name("signsweep_worker_group_busy").Help("1 while the group runs a trial").Register(*registry);
  pm::Family<pm::Gauge>& lost = pm::BuildGauge().Name("signsweep_worker_groups_lost").Help("Worker groups declared lost (silent past lost_after)").Register(*registry);
  pm::Family<pm::Gauge>& heard = pm::BuildGauge().Name("signsweep_worker_group_last_heard_timestamp_seconds").Help("Unix time rank 0 last heard from the group (seconds since: time() minus this)").Register(*registry);
  pm::Family<pm::Gauge>& info = pm::BuildGauge().Name("signsweep_worker_group_info").Help("Device of each worker group (value 1)").Register(*registry);
  pm::Family<pm::Histogram>& step = pm::BuildHistogram().Name("signsweep_step_duration_seconds").Help("Training step time per group").Register(*registry);
  pm::Family<pm::Histogram>& allreduce = pm::BuildHistogram().Name("signsweep_allreduce_duration_seconds").Help("Gradient allreduce time per step per group").Register(*registry);
  pm::Family<pm::Counter>& images = pm::BuildCounter().Name("signsweep_images_total").Help("Training images processed per group (throughput: rate())").Register(*registry);
  pm::Family<pm::Gauge>& loss = pm::BuildGauge().Name("signsweep_trial_loss").Help("Current training loss of running trials").Register(*registry);
  pm::Family<pm::Gauge>& accuracy = pm::BuildGauge().Name("signsweep_trial_accuracy_ratio").Help("Last epoch's training accuracy of running trials").Register(*registry);
  pm::Family<pm::Gauge>& bit_accuracy = pm::BuildGauge().Name("signsweep_trial_bit_accuracy_ratio").Help("Last epoch's bit accuracy of running trials").Register(*registry);
  pm::Family<pm::Histogram>& final_ber = pm::BuildHistogram().Name("signsweep_final_bit_error_ratio").Help("White-box BER of finished trials by stage (embed or attack name)").Register(*registry);
  std::mutex mutex;  // running-trial gauges are added and removed
  std::map<int, std::string> running;  // group -> trial

  pm::Labels labels(std::initializer_list<std::pair<const std::string, std::string>> extra) const {
    pm::Labels l{{"sweep", sweep}};
    for (const auto& [k, v] : extra) l[k] = v;
    return l;
  }
  static pm::Histogram::BucketBoundaries time_buckets() { return comm::duration_bucket_bounds(); }
  void remove_trial_gauges(int group) {
    const auto it = running.find(group);
    if (it == running.end()) return;
    const pm::Labels l = labels({{"group", std::to_string(group)}, {"trial", it->second}});
    for (auto* f : {&loss, &accuracy, &bit_accuracy})
      if (f->Has(l)) f->Remove(&f->Add(l));
    running.erase(it);
  }
};

SweepMetrics::SweepMetrics(const std::string& sweep, const MetricsOptions& options, const std::vector<std::string>& group_devices)
    : impl_(std::make_unique<Impl>()) {
  impl_->sweep = sweep;
  impl_->start_time.Add(impl_->labels({})).Set(static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count()));
  impl_->lost.Add(impl_->labels({})).Set(0);
  for (size_t g = 0; g < group_devices.size(); ++g) {
    impl_->busy.Add(impl_->labels({{"group", std::to_string(g)}})).Set(0);
    impl_->images.Add(impl_->labels({{"group", std::to_string(g)}}));  // at 0 from the start, for rate()
    impl_->heard.Add(impl_->labels({{"group", std::to_string(g)}})).SetToCurrentTime();
    impl_->info.Add(impl_->labels({{"group", std::to_string(g)}, {"device", group_devices[g]}})).Set(1);
  }
  if (options.port < 0) return;
  in6_addr parsed{};
  if (inet_pton(AF_INET, options.bind.c_str(), &parsed) != 1 && inet_pton(AF_INET6, options.bind.c_str(), &parsed) != 1)
    throw ConfigError(fmt::format("--metrics-bind {}: not an IPv4 or IPv6 address", options.bind));
  const std::string address = options.bind.find(':') != std::string::npos ? fmt::format("[{}]:{}", options.bind, options.port)
                                                                           : fmt::format("{}:{}", options.bind, options.port);
  try {
    impl_->exposer = std::make_unique<pm::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    throw ConfigError(fmt::format("--metrics-bind/--metrics-port {}: cannot serve metrics there (address in use, or not "
                                  "an address of this machine): {}",
                                  address, e.what()));
  }
  impl_->exposer->RegisterCollectable(impl_->registry);
}

SweepMetrics::~SweepMetrics() = default;

void SweepMetrics::declare_kinds(const std::vector<std::string>& kinds) {
  for (const std::string& kind : kinds) {
    const pm::Labels l = impl_->labels({{"kind", kind}});
    impl_->completed.Add(l);
    impl_->failed.Add(l);
    impl_->retried.Add(l);
  }
}

int SweepMetrics::port() const {
  if (!impl_->exposer) return -1;
  const auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? -1 : ports.front();
}

void SweepMetrics::set_states(const std::map<std::string, int64_t>& counts) {
  for (const auto& [state, n] : counts) impl_->trials.Add(impl_->labels({{"state", state}})).Set(static_cast<double>(n));
}

void SweepMetrics::set_queue(int64_t ready) { impl_->queue.Add(impl_->labels({})).Set(static_cast<double>(ready)); }

void SweepMetrics::set_expected_remaining(double seconds) { impl_->remaining.Add(impl_->labels({})).Set(seconds); }

void SweepMetrics::on_dispatch(int group, const std::string& trial, const std::string& kind, int64_t attempt) {
  impl_->busy.Add(impl_->labels({{"group", std::to_string(group)}})).Set(1);
  if (attempt > 1) impl_->retried.Add(impl_->labels({{"kind", kind}})).Increment();
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->remove_trial_gauges(group);
  impl_->running[group] = trial;
}

void SweepMetrics::on_progress(const comm::Progress& p) {
  const std::string g = std::to_string(p.group);
  observe(impl_->step.Add(impl_->labels({{"group", g}}), Impl::time_buckets()), p.step_times);
  observe(impl_->allreduce.Add(impl_->labels({{"group", g}}), Impl::time_buckets()), p.allreduce_times);
  impl_->images.Add(impl_->labels({{"group", g}})).Increment(static_cast<double>(p.images));
  const pm::Labels l = impl_->labels({{"group", g}, {"trial", p.id}});
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->running[p.group] = p.id;
  impl_->loss.Add(l).Set(p.loss);
  if (p.epoch > 0 && p.step == p.steps) {  // the epoch's end carries accuracy and bit accuracy
    impl_->accuracy.Add(l).Set(p.accuracy);
    impl_->bit_accuracy.Add(l).Set(p.bit_accuracy);
  }
}

void SweepMetrics::on_result(int group, const std::string& /*trial*/, const std::string& kind, bool ok, double final_ber) {
  impl_->busy.Add(impl_->labels({{"group", std::to_string(group)}})).Set(0);
  (ok ? impl_->completed : impl_->failed).Add(impl_->labels({{"kind", kind}})).Increment();
  if (ok && final_ber >= 0.0)
    impl_->final_ber.Add(impl_->labels({{"stage", kind}}), pm::Histogram::BucketBoundaries{0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5})
        .Observe(final_ber);
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->remove_trial_gauges(group);
}

void SweepMetrics::on_heard(int group) {
  impl_->heard.Add(impl_->labels({{"group", std::to_string(group)}})).SetToCurrentTime();
}

void SweepMetrics::on_lost(int group) {
  impl_->lost.Add(impl_->labels({})).Increment();
  impl_->busy.Add(impl_->labels({{"group", std::to_string(group)}})).Set(0);
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->remove_trial_gauges(group);
}

std::string SweepMetrics::scrape_text() const {
  return pm::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace signsweep::orchestrator

#else  // built without prometheus-cpp

namespace signsweep::orchestrator {

struct SweepMetrics::Impl {};

SweepMetrics::SweepMetrics(const std::string&, const MetricsOptions& options, const std::vector<std::string>&) {
  if (options.port >= 0)
    throw ConfigError("--metrics-port: this signsweep was built without prometheus-cpp (SIGNSWEEP_WITH_PROMETHEUS=OFF)");
}
SweepMetrics::~SweepMetrics() = default;
int SweepMetrics::port() const { return -1; }
void SweepMetrics::declare_kinds(const std::vector<std::string>&) {}
void SweepMetrics::set_states(const std::map<std::string, int64_t>&) {}
void SweepMetrics::set_queue(int64_t) {}
void SweepMetrics::set_expected_remaining(double) {}
void SweepMetrics::on_dispatch(int, const std::string&, const std::string&, int64_t) {}
void SweepMetrics::on_progress(const comm::Progress&) {}
void SweepMetrics::on_result(int, const std::string&, const std::string&, bool, double) {}
void SweepMetrics::on_heard(int) {}
void SweepMetrics::on_lost(int) {}
std::string SweepMetrics::scrape_text() const { return ""; }

}  // namespace signsweep::orchestrator

#endif
