// How a rank waits for a message without taking a core: poll, then sleep 50 us, doubling up to 1 ms, until
// something arrives. Open MPI's blocking calls (MPI_Probe, MPI_Recv) busy-poll; an idle worker or the
// scheduler spinning there takes a core from the ranks that train beside it on the same node (with 4 workers
// on 2 cores, most of the node). 1 ms bounds the added dispatch latency and costs ~1,000 wake-ups a second.
// MPI-free. Thread-safety: one per waiting thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace signsweep::comm {

class IdleBackoff {
 public:
  // Sleeps the current delay, then doubles it (up to the cap).
  void wait() {
    std::this_thread::sleep_for(delay_);
    delay_ = std::min(delay_ * 2, kMax);
  }
  // A message arrived: poll again soon.
  void reset() { delay_ = kMin; }

 private:
  static constexpr std::chrono::microseconds kMin{50};
  static constexpr std::chrono::microseconds kMax{1000};
  std::chrono::microseconds delay_{kMin};
};

}  // namespace signsweep::comm
