#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace signsweep::common {

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

bool Progress::stderr_is_terminal() { return isatty(fileno(stderr)) != 0; }

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (tty_ && !finished_) std::fputs("\n", stderr);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Progress::wants_update(int64_t done) const {
  return tty_ && (done >= total_ || std::chrono::steady_clock::now() - last_draw_ >= std::chrono::milliseconds(100));
}

void Progress::update(int64_t done, const std::string& status) {
  if (!wants_update(done)) return;
  const auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  constexpr int kWidth = 24;
  const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(frac * kWidth);
  const double elapsed = elapsed_seconds();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
  std::fprintf(stderr, "\r%s [%s%s] %3d%% %lld/%lld %s | ETA %s\x1b[K", label_.c_str(),
               std::string(filled, '#').c_str(), std::string(kWidth - filled, '-').c_str(),
               static_cast<int>(frac * 100), static_cast<long long>(done), static_cast<long long>(total_),
               status.c_str(), format_duration(eta).c_str());
  std::fflush(stderr);
}

void Progress::finish(const std::string& summary) {
  if (tty_) std::fputs("\r\x1b[K", stderr);
  finished_ = true;
  spdlog::info("{} {} ({})", label_, summary, format_duration(elapsed_seconds()));
}

}  // namespace signsweep::common
