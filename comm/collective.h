// The collectives a worker group trains with, behind a small interface so the trainer stays MPI-free in
// its headers and a single process needs no communicator (nullptr = one rank).
// Thread-safety: one caller (the training thread).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

namespace signsweep::comm {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place sums over the group.
  virtual void allreduce_sum(float* data, int64_t count) = 0;
  virtual void allreduce_sum(double* data, int64_t count) = 0;
  virtual void broadcast(float* data, int64_t count, int root) = 0;
  virtual void broadcast(double* data, int64_t count, int root) = 0;
  // The root's string on every rank of the group (a task, or "" for stop, from the group's leader).
  virtual std::string broadcast(const std::string& payload, int root) = 0;
};

class MpiCollective : public Collective {
 public:
  explicit MpiCollective(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, int64_t count) override;
  void allreduce_sum(double* data, int64_t count) override;
  void broadcast(float* data, int64_t count, int root) override;
  void broadcast(double* data, int64_t count, int root) override;
  std::string broadcast(const std::string& payload, int root) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace signsweep::comm
