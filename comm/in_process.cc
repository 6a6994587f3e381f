#include "comm/in_process.h"

#include <algorithm>

#include "common/errors.h"

namespace signsweep::comm {

void InProcessChannel::fail(std::exception_ptr error) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    worker_error_ = std::move(error);
  }
  to_scheduler_ready_.notify_one();
}

void InProcessChannel::SchedulerEnd::idle(IdleBackoff& /*backoff*/) {
  std::unique_lock<std::mutex> lock(c_.mutex_);
  c_.to_scheduler_ready_.wait_for(lock, kLongestIdle, [&] { return !c_.to_scheduler_.empty() || c_.worker_error_; });
}

std::optional<Envelope> InProcessChannel::SchedulerEnd::poll() {
  const std::lock_guard<std::mutex> lock(c_.mutex_);
  if (c_.worker_error_) std::rethrow_exception(c_.worker_error_);
  if (c_.to_scheduler_.empty()) return std::nullopt;
  Envelope e = std::move(c_.to_scheduler_.front());
  c_.to_scheduler_.pop_front();
  return e;
}

void InProcessChannel::SchedulerEnd::send(int to, Tag tag, const std::string& payload) {
  if (to != kWorker) throw Error("in-process channel: a message to an address no worker has");
  {
    const std::lock_guard<std::mutex> lock(c_.mutex_);
    c_.to_worker_.push_back(Envelope{0, tag, payload});
  }
  c_.to_worker_ready_.notify_one();
}

Envelope InProcessChannel::WorkerEnd::wait() {
  std::unique_lock<std::mutex> lock(c_.mutex_);
  c_.to_worker_ready_.wait(lock, [&] { return !c_.to_worker_.empty(); });
  Envelope e = std::move(c_.to_worker_.front());
  c_.to_worker_.pop_front();
  return e;
}

std::optional<std::string> InProcessChannel::WorkerEnd::poll(Tag tag) {
  const std::lock_guard<std::mutex> lock(c_.mutex_);
  const auto it = std::find_if(c_.to_worker_.begin(), c_.to_worker_.end(), [&](const Envelope& e) { return e.tag == tag; });
  if (it == c_.to_worker_.end()) return std::nullopt;
  std::string payload = std::move(it->payload);
  c_.to_worker_.erase(it);
  return payload;
}

void InProcessChannel::WorkerEnd::send(Tag tag, const std::string& payload) {
  {
    const std::lock_guard<std::mutex> lock(c_.mutex_);
    c_.to_scheduler_.push_back(Envelope{kWorker, tag, payload});
  }
  c_.to_scheduler_ready_.notify_one();
}

}  // namespace signsweep::comm
