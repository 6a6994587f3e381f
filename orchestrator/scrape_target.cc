#include "orchestrator/scrape_target.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/machine.h"
#include "storage/atomic_file.h"

namespace signsweep::orchestrator {

std::string default_targets_dir(const std::string& store) {
  if (const char* dir = std::getenv("SIGNSWEEP_METRICS_TARGETS"); dir != nullptr && *dir != '\0') return dir;
  const std::filesystem::path parent = std::filesystem::absolute(store).lexically_normal().parent_path();
  return (parent / "prometheus-targets").string();
}

std::string reachable_host(const std::string& bind) {
  return bind == "0.0.0.0" || bind == "::" ? common::host_name() : bind;
}

std::string target_file_json(const std::string& host, int port, const std::map<std::string, std::string>& labels) {
  const std::string address = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
  nlohmann::json target{{"targets", {address}}, {"labels", labels}};
  return nlohmann::json::array({target}).dump(2) + "\n";
}

ScrapeTarget::ScrapeTarget(const std::string& dir, const std::string& host, int port,
                           const std::map<std::string, std::string>& labels)
    : path_((std::filesystem::path(dir) / fmt::format("signsweep-{}-{}.json", host, port)).string()) {
  storage::make_directories(dir);
  // Not durable: a target of a run that a power loss ended is stale anyway.
  storage::write_file_atomically(path_, target_file_json(host, port, labels), /*durable=*/false);
  spdlog::info("metrics: Prometheus target file {} (file_sd_configs)", path_);
}

ScrapeTarget::~ScrapeTarget() { remove(); }

void ScrapeTarget::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  if (ec) spdlog::warn("metrics: cannot remove the target file {}: {}", path_, ec.message());
  path_.clear();
}

}  // namespace signsweep::orchestrator
