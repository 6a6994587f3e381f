// Both ends of the messages between rank 0 and the worker groups' leaders (messages.h), as interfaces:
// Mailbox is the scheduler's view, LeaderLink a group leader's. The scheduler and the worker loop are written
// against them, so both are unit-tested without MPI, and one process runs them over an in-process channel
// (in_process.h); MPI stays in mpi_transport.h (as Horovod separates its controller from the MPI transport).
// MPI-free.
// Thread-safety: one caller per object.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "comm/idle_backoff.h"
#include "comm/messages.h"

namespace signsweep::comm {

struct Envelope {
  int from = 0;  // the sender's rank
  Tag tag = kReady;
  std::string payload;
};

class Mailbox {
 public:
  virtual ~Mailbox() = default;
  // The next message if one has arrived; never blocks.
  virtual std::optional<Envelope> poll() = 0;
  virtual void send(int to, Tag tag, const std::string& payload) = 0;
  // After a poll() found nothing: waits until a message may have arrived, then the caller polls again. By
  // default it sleeps the backoff's delay (MPI has nothing to block on without spinning); a mailbox that can be
  // woken (in_process.h) blocks until a message arrives, at most kLongestIdle, so its caller still checks
  // its clocks and stop requests.
  virtual void idle(IdleBackoff& backoff) { backoff.wait(); }
  static constexpr std::chrono::milliseconds kLongestIdle{250};
};

// A group leader's line to rank 0.
class LeaderLink {
 public:
  virtual ~LeaderLink() = default;
  // Waits for rank 0's next message (any tag), without taking a core while nothing arrives.
  virtual Envelope wait() = 0;
  // The payload of a waiting message of `tag` (received), nullopt when none has arrived; never blocks.
  virtual std::optional<std::string> poll(Tag tag) = 0;
  virtual void send(Tag tag, const std::string& payload) = 0;
};

}  // namespace signsweep::comm
