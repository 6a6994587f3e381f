#include "comm/mpi_transport.h"

#include <numeric>

#include "comm/idle_backoff.h"
#include "common/errors.h"

namespace signsweep::comm {
namespace {

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error(std::string("MPI call failed: ") + what);
}

int size_of(MPI_Comm comm) {
  int n = 0;
  check(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  return n;
}

int rank_of(MPI_Comm comm) {
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

// Offsets of consecutive blocks of `lengths` (MPI_Gatherv / MPI_Scatterv displacements).
std::vector<int> offsets_of(const std::vector<int>& lengths) {
  std::vector<int> offsets(lengths.size(), 0);
  if (!lengths.empty()) std::partial_sum(lengths.begin(), lengths.end() - 1, offsets.begin() + 1);
  return offsets;
}

}  // namespace

void send_string(MPI_Comm comm, int dest, int tag, const std::string& payload) {
  check(MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_CHAR, dest, tag, comm), "MPI_Send");
}

std::string receive_probed(MPI_Comm comm, const MPI_Status& status) {
  int count = 0;
  check(MPI_Get_count(&status, MPI_CHAR, &count), "MPI_Get_count");
  std::string payload(static_cast<size_t>(count), '\0');
  check(MPI_Recv(payload.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, comm, MPI_STATUS_IGNORE), "MPI_Recv");
  return payload;
}

std::optional<std::string> receive_if_waiting(MPI_Comm comm, int source, int tag) {
  int flag = 0;
  MPI_Status status;
  check(MPI_Iprobe(source, tag, comm, &flag, &status), "MPI_Iprobe");
  if (!flag) return std::nullopt;
  return receive_probed(comm, status);
}

Envelope wait_for_message(MPI_Comm comm, int source) {
  IdleBackoff backoff;
  while (true) {
    int flag = 0;
    MPI_Status status;
    check(MPI_Iprobe(source, MPI_ANY_TAG, comm, &flag, &status), "MPI_Iprobe");
    if (flag) return Envelope{status.MPI_SOURCE, static_cast<Tag>(status.MPI_TAG), receive_probed(comm, status)};
    backoff.wait();
  }
}

std::string broadcast_string(MPI_Comm comm, const std::string& payload, int root) {
  int64_t size = static_cast<int64_t>(payload.size());
  check(MPI_Bcast(&size, 1, MPI_INT64_T, root, comm), "MPI_Bcast");
  std::string out = payload;
  out.resize(static_cast<size_t>(size));
  check(MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, root, comm), "MPI_Bcast");
  return out;
}

std::vector<std::string> gather_strings(MPI_Comm comm, const std::string& mine, int root) {
  const int n = size_of(comm);
  const bool is_root = rank_of(comm) == root;
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(is_root ? static_cast<size_t>(n) : 0);
  check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, comm), "MPI_Gather");
  const std::vector<int> offsets = offsets_of(lengths);
  std::string all(is_root ? static_cast<size_t>(std::accumulate(lengths.begin(), lengths.end(), 0)) : 0, '\0');
  check(MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, root, comm),
        "MPI_Gatherv");
  std::vector<std::string> out;
  for (size_t r = 0; r < lengths.size(); ++r) out.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(lengths[r])));
  return out;
}

std::string scatter_strings(MPI_Comm comm, const std::vector<std::string>& all, int root) {
  const bool is_root = rank_of(comm) == root;
  std::vector<int> lengths;
  std::string joined;
  for (const std::string& s : all) {
    lengths.push_back(static_cast<int>(s.size()));
    joined += s;
  }
  if (is_root && static_cast<int>(lengths.size()) != size_of(comm)) throw Error("scatter_strings: one string per rank needed");
  int length = 0;
  check(MPI_Scatter(lengths.data(), 1, MPI_INT, &length, 1, MPI_INT, root, comm), "MPI_Scatter");
  const std::vector<int> offsets = offsets_of(lengths);
  std::string mine(static_cast<size_t>(length), '\0');
  check(MPI_Scatterv(joined.data(), lengths.data(), offsets.data(), MPI_CHAR, mine.data(), length, MPI_CHAR, root, comm),
        "MPI_Scatterv");
  return mine;
}

int scatter_int(MPI_Comm comm, const std::vector<int>& all, int root) {
  if (rank_of(comm) == root && static_cast<int>(all.size()) != size_of(comm)) throw Error("scatter_int: one value per rank needed");
  int mine = 0;
  check(MPI_Scatter(all.data(), 1, MPI_INT, &mine, 1, MPI_INT, root, comm), "MPI_Scatter");
  return mine;
}

std::optional<Envelope> MpiMailbox::poll() {
  int flag = 0;
  MPI_Status status;
  check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &status), "MPI_Iprobe");
  if (!flag) return std::nullopt;
  return Envelope{status.MPI_SOURCE, static_cast<Tag>(status.MPI_TAG), receive_probed(comm_, status)};
}

void MpiMailbox::send(int to, Tag tag, const std::string& payload) { send_string(comm_, to, tag, payload); }

}  // namespace signsweep::comm
