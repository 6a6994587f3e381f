// Progress of a long loop (an epoch of steps): on a terminal a single line redrawn in place
//   epoch 2/5 [########----------]  45% 225/500 loss 0.4123 | 1850 img/s | ETA 0:07
// and otherwise nothing until the end of the epoch, which prints one plain log line with its metrics.
// Thread-safety: not thread-safe; one loop owns one Progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace signsweep::common {

class Progress {
 public:
  // `label` prefixes every line (e.g. "epoch 2/5"); `total` is the number of steps.
  Progress(std::string label, int64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Whether update(done, ...) would draw now: lets a caller skip computing the status (which may need a
  // device sync) when nothing would be shown.
  bool wants_update(int64_t done) const;
  // Step `done` of total finished; `status` is shown after the bar (redrawn at most ~10 times/s).
  void update(int64_t done, const std::string& status);
  // Ends the loop: clears the bar and logs `summary` as one line with the elapsed time.
  void finish(const std::string& summary);

  double elapsed_seconds() const;
  static bool stderr_is_terminal();

 private:
  std::string label_;
  int64_t total_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1:05:07" / "3:04" for a number of seconds.
std::string format_duration(double seconds);

}  // namespace signsweep::common
