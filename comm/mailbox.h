// Rank 0's view of the messages with the worker groups' leaders (messages.h), as an interface: the
// scheduler is written against it, so its rules are unit-tested with a scripted mailbox, and MPI stays in
// mpi_transport.h (as Horovod separates its controller from the MPI controller). MPI-free.
// Thread-safety: one caller.
#pragma once

#include <optional>
#include <string>

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
};

}  // namespace signsweep::comm
