#include "comm/collective.h"

#include <limits>

#include "comm/mpi_transport.h"
#include "common/errors.h"

namespace signsweep::comm {
namespace {

// MPI counts are int: large buffers go in slices.
template <typename F>
void in_slices(int64_t count, F f) {
  constexpr int64_t kMax = std::numeric_limits<int>::max() / 2;
  for (int64_t start = 0; start < count; start += kMax) {
    if (f(start, static_cast<int>(std::min(kMax, count - start))) != MPI_SUCCESS) throw Error("MPI collective failed");
  }
}

}  // namespace

MpiCollective::MpiCollective(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm, &rank_);
  MPI_Comm_size(comm, &size_);
}

void MpiCollective::allreduce_sum(float* data, int64_t count) {
  in_slices(count, [&](int64_t s, int n) { return MPI_Allreduce(MPI_IN_PLACE, data + s, n, MPI_FLOAT, MPI_SUM, comm_); });
}
void MpiCollective::allreduce_sum(double* data, int64_t count) {
  in_slices(count, [&](int64_t s, int n) { return MPI_Allreduce(MPI_IN_PLACE, data + s, n, MPI_DOUBLE, MPI_SUM, comm_); });
}
void MpiCollective::broadcast(float* data, int64_t count, int root) {
  in_slices(count, [&](int64_t s, int n) { return MPI_Bcast(data + s, n, MPI_FLOAT, root, comm_); });
}
void MpiCollective::broadcast(double* data, int64_t count, int root) {
  in_slices(count, [&](int64_t s, int n) { return MPI_Bcast(data + s, n, MPI_DOUBLE, root, comm_); });
}

std::string MpiCollective::broadcast(const std::string& payload, int root) { return broadcast_string(comm_, payload, root); }

}  // namespace signsweep::comm
