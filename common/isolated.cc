#include "common/isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <new>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define SIGNSWEEP_SANITIZED_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SIGNSWEEP_SANITIZED_ALLOCATOR 1
#endif

namespace signsweep::common {
namespace {

// What the child writes to the pipe before it leaves with a failure: a tag, then the message.
constexpr char kInputTag = 'I';
constexpr char kOtherTag = 'E';
constexpr char kMemoryTag = 'M';
constexpr char kResultTag = 'R';
constexpr size_t kMaxReportBytes = size_t{1} + limits::kMaxStringBytes;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return fmt::format("SIG{} ({})", abbrev ? abbrev : std::to_string(signal), ::strsignal(signal));
}

bool is_fault(int signal) {
  return signal == SIGSEGV || signal == SIGBUS || signal == SIGABRT || signal == SIGFPE || signal == SIGILL ||
         signal == SIGTRAP || signal == SIGSYS;
}

// ---- the child ----------------------------------------------------------------------------------------

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone or stopped listening: nothing left to tell
    done += static_cast<size_t>(n);
  }
}

// The address space the child has (/proc/self/statm's first field, in pages) plus `extra`, as its limit:
// an allocation past it fails (std::bad_alloc, or HDF5's own allocation error) instead of growing until the
// OOM killer picks a process.
void limit_address_space(int64_t extra) {
#ifndef SIGNSWEEP_SANITIZED_ALLOCATOR
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  if (!(statm >> pages)) return;
  rlimit current{};
  if (::getrlimit(RLIMIT_AS, &current) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + static_cast<rlim_t>(extra);
  if (current.rlim_cur != RLIM_INFINITY && current.rlim_cur <= wanted) return;
  const rlimit limit{wanted, current.rlim_max};
  ::setrlimit(RLIMIT_AS, &limit);
#else
  (void)extra;
#endif
}

[[noreturn]] void run_child(int report_fd, pid_t parent, const IsolationLimits& limits, const std::function<std::string()>& work) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan left reading when the parent dies
  if (::getppid() != parent) ::_exit(1);
  // The parent's stop handlers (a batch system's SIGTERM, Ctrl-C) are for the parent: it finishes what it
  // does, this read included, then stops. A second signal ends the parent, and PDEATHSIG this child.
  for (const int s : {SIGTERM, SIGUSR1, SIGINT}) std::signal(s, SIG_IGN);
  std::ofstream("/proc/self/oom_score_adj") << 1000;  // if memory runs out anyway, the OOM killer takes the child
  limit_address_space(limits.memory_bytes);
  std::string report;
  try {
    report = kResultTag + work();
    if (report.size() > kMaxReportBytes)
      report = kOtherTag + fmt::format("the text made from it ({} bytes) exceeds signsweep's limit of {} bytes for one "
                                       "document", report.size() - 1, limits::kMaxStringBytes);
  } catch (const std::bad_alloc&) {
    report = std::string(1, kMemoryTag);
  } catch (const InputError& e) {
    report = kInputTag + std::string(e.what());
  } catch (const std::exception& e) {
    report = kOtherTag + std::string(e.what());
  } catch (...) {
    report = kOtherTag + std::string("an exception of unknown type");
  }
  write_all(report_fd, report.substr(0, kMaxReportBytes));
  ::_exit(report[0] == kResultTag ? 0 : 1);
}

// ---- the parent ---------------------------------------------------------------------------------------

// Collects what the child writes until it closes the pipe (it exits); kills it at `deadline`.
// Returns false when it was killed for time.
bool collect_report(int fd, pid_t child, std::chrono::steady_clock::time_point deadline, std::string& report) {
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(child, SIGKILL);
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) throw Error(fmt::format("waiting for a reading process: poll: {}", std::strerror(errno)));
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // end of file: the child has exited (or closed the pipe on its way out)
    if (report.size() < kMaxReportBytes) report.append(buffer, static_cast<size_t>(n));
  }
}

int reap(pid_t child) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) throw Error(fmt::format("waiting for a reading process: waitpid: {}", std::strerror(errno)));
  return status;
}

[[noreturn]] void throw_failure(const std::string& what, const IsolationLimits& limits, int status, const std::string& report) {
  if (!report.empty() && report[0] != kResultTag) {
    const std::string message = report.substr(1);
    if (report[0] == kInputTag) throw DataError(message);
    if (report[0] == kMemoryTag)
      throw DataError(fmt::format("{}: reading it needed more than {:.2f} GiB of memory: the file is corrupt or crafted",
                                  what, static_cast<double>(limits.memory_bytes) / (int64_t{1} << 30)));
    throw Error(message);
  }
  if (WIFSIGNALED(status) && !is_fault(WTERMSIG(status)))
    throw Error(fmt::format("{}: the process reading it was killed by {}", what, signal_name(WTERMSIG(status))));
  // A fault, or an exit without a report (a sanitizer's, or a library's abort path).
  const std::string how = WIFSIGNALED(status) ? fmt::format("died of {}", signal_name(WTERMSIG(status)))
                                              : fmt::format("exited with status {} without a report", WEXITSTATUS(status));
  throw DataError(fmt::format("{}: the process reading it {}: the reading library (HDF5) cannot handle this file, which "
                              "is corrupt or crafted", what, how));
}

}  // namespace

std::string run_isolated_for(const std::string& what, const IsolationLimits& limits, const std::function<std::string()>& work) {
  std::cout.flush();  // what this process has buffered must not be written a second time by the child
  std::cerr.flush();
  std::fflush(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(fmt::format("{}: cannot create a pipe: {}", what, std::strerror(errno)));
  Fd read_end(fds[0]);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[1]);
    throw Error(fmt::format("{}: cannot start a process to read it: fork: {}", what, std::strerror(errno)));
  }
  if (child == 0) {
    ::close(fds[0]);
    run_child(fds[1], parent, limits, work);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limits.seconds);
  std::string report;
  const bool finished = collect_report(read_end.get(), child,
                                       std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline), report);
  const int status = reap(child);
  if (!finished)
    throw DataError(fmt::format("{}: reading it did not finish within {:g} s: the file is corrupt or crafted (the reading "
                                "library loops on it)", what, limits.seconds));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !report.empty() && report[0] == kResultTag) return report.substr(1);
  throw_failure(what, limits, status, report);
}

void run_isolated(const std::string& what, const IsolationLimits& limits, const std::function<void()>& work) {
  run_isolated_for(what, limits, [&] {
    work();
    return std::string();
  });
}

}  // namespace signsweep::common
