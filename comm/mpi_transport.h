// The messages of messages.h over MPI: string payloads (MPI_CHAR) with a tag, length-then-bytes gathers
// and scatters, and rank 0's mailbox on a communicator. Every MPI call is checked (CommError-style Error
// naming the call).
// Thread-safety: MPI is used from the main thread only (MPI_THREAD_FUNNELED).
#pragma once

#include <mpi.h>

#include <optional>
#include <string>
#include <vector>

#include "comm/mailbox.h"

namespace signsweep::comm {

// Blocking send of a string payload with `tag`.
void send_string(MPI_Comm comm, int dest, int tag, const std::string& payload);
// Receives the message `status` describes (after MPI_Probe / MPI_Iprobe).
std::string receive_probed(MPI_Comm comm, const MPI_Status& status);
// The payload of a message from `source` with `tag` when one has arrived (received), nullopt otherwise.
std::optional<std::string> receive_if_waiting(MPI_Comm comm, int source, int tag);
// The next message from `source` (any tag), waiting without busy-polling a core (idle_backoff.h).
Envelope wait_for_message(MPI_Comm comm, int source);
// The root's string on every rank of `comm`.
std::string broadcast_string(MPI_Comm comm, const std::string& payload, int root = 0);
// Every rank's string on the root (in rank order; empty elsewhere).
std::vector<std::string> gather_strings(MPI_Comm comm, const std::string& mine, int root = 0);
// The root's `all[r]` on rank r.
std::string scatter_strings(MPI_Comm comm, const std::vector<std::string>& all, int root = 0);
// The root's `all[r]` on rank r.
int scatter_int(MPI_Comm comm, const std::vector<int>& all, int root = 0);

class MpiMailbox : public Mailbox {
 public:
  explicit MpiMailbox(MPI_Comm comm) : comm_(comm) {}
  std::optional<Envelope> poll() override;  // MPI_Iprobe
  void send(int to, Tag tag, const std::string& payload) override;

 private:
  MPI_Comm comm_;
};

// A group leader's line to `scheduler` (rank 0 of `comm`).
class MpiLeaderLink : public LeaderLink {
 public:
  explicit MpiLeaderLink(MPI_Comm comm, int scheduler = 0) : comm_(comm), scheduler_(scheduler) {}
  Envelope wait() override { return wait_for_message(comm_, scheduler_); }
  std::optional<std::string> poll(Tag tag) override { return receive_if_waiting(comm_, scheduler_, tag); }
  void send(Tag tag, const std::string& payload) override { send_string(comm_, scheduler_, tag, payload); }

 private:
  MPI_Comm comm_;
  int scheduler_;
};

}  // namespace signsweep::comm
