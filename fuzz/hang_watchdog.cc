#include "fuzz/hang_watchdog.h"

#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace signsweep::fuzz {
namespace {

// Everything the signal handler reads is fixed before the first input, and it calls only what is safe in a
// handler (write, open, close, clock_gettime, getrusage, _exit) apart from the sanitizer's stack trace, which
// libFuzzer's own timeout handler calls the same way.
struct Watchdog {
  long hang_ms = 0;  // 0: off
  int exit_code = 70;  // libFuzzer's -timeout_exitcode default
  bool save_input = true;  // as libFuzzer: not when every input argument is a file (a rerun of findings)
  std::array<char, 4096> artifact_prefix{};  // libFuzzer's -artifact_prefix (empty: the working folder)
  std::array<char, 160> message{};
  const uint8_t* volatile data = nullptr;
  volatile size_t size = 0;
  volatile uint64_t inputs = 0;  // run by this process, the one that hangs too
  timespec start{};              // of this process's fuzzing (LLVMFuzzerInitialize)
};
Watchdog watchdog;

void write_all(int fd, const char* bytes, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, bytes, n);
    if (w <= 0) return;
    bytes += w;
    n -= static_cast<size_t>(w);
  }
}
void write_text(int fd, const char* text) { write_all(fd, text, std::strlen(text)); }

void write_number(int fd, uint64_t n) {
  char digits[24];
  int i = sizeof digits;
  do digits[--i] = static_cast<char>('0' + n % 10); while ((n /= 10) > 0);
  write_all(fd, digits + i, sizeof digits - static_cast<size_t>(i));
}

// libFuzzer's final statistics, as it prints them when it ends a process on a timeout: fork mode adds each
// job's executions from these lines of its log (and shows the last job's rate), so a job the watchdog ended
// would otherwise count none.
void write_final_stats() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const double seconds = static_cast<double>(now.tv_sec - watchdog.start.tv_sec) +
                         static_cast<double>(now.tv_nsec - watchdog.start.tv_nsec) * 1e-9;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  write_text(2, "stat::number_of_executed_units: ");
  write_number(2, watchdog.inputs);
  write_text(2, "\nstat::average_exec_per_sec:     ");
  const auto whole_seconds = static_cast<uint64_t>(seconds);  // libFuzzer's rate: per whole second, 0 before one
  write_number(2, whole_seconds > 0 ? watchdog.inputs / whole_seconds : 0);
  write_text(2, "\nstat::peak_rss_mb:              ");
  write_number(2, static_cast<uint64_t>(usage.ru_maxrss) / 1024);
  write_text(2, "\n");
}

// The artifact's name: 16 hex digits of the input's FNV-1a hash (libFuzzer names its own by SHA-1), so the
// same input found twice is saved once.
void hash_hex(const uint8_t* data, size_t size, char (&hex)[17]) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ULL;
  for (int i = 15; i >= 0; --i, h >>= 4) hex[i] = "0123456789abcdef"[h & 0xf];
  hex[16] = '\0';
}

void save_hanging_input() {
  char hex[17];
  hash_hex(watchdog.data, watchdog.size, hex);
  std::array<char, 4096 + 32> path{};
  const size_t prefix = std::strlen(watchdog.artifact_prefix.data());
  std::memcpy(path.data(), watchdog.artifact_prefix.data(), prefix);
  std::memcpy(path.data() + prefix, "timeout-", 8);
  std::memcpy(path.data() + prefix + 8, hex, sizeof hex);
  const int fd = ::open(path.data(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    write_all(fd, reinterpret_cast<const char*>(watchdog.data), watchdog.size);
    ::close(fd);
    write_text(2, "Test unit written to ");
    write_text(2, path.data());
    write_text(2, "\n");
  }
}

void on_hang(int) {
  write_text(2, watchdog.message.data());
  __sanitizer_print_stack_trace();
  if (watchdog.save_input) save_hanging_input();
  write_final_stats();
  ::_exit(watchdog.exit_code);
}

void set_timer(long ms) {
  itimerval t{};
  t.it_value.tv_sec = ms / 1000;
  t.it_value.tv_usec = (ms % 1000) * 1000;
  setitimer(ITIMER_PROF, &t, nullptr);
}

// libFuzzer saves no artifact when every input argument is a file (it runs them once each): the triage's reruns.
bool all_inputs_are_files(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    struct stat st {};
    if (::stat(argv[i], &st) != 0 || !S_ISREG(st.st_mode)) return false;
    ++inputs;
  }
  return inputs > 0;
}

// The value of libFuzzer flag -<name>=<value> among the arguments, or nullptr.
const char* flag_value(int argc, char** argv, const char* name) {
  const std::string prefix = std::string("-") + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return nullptr;
}

}  // namespace

void install_hang_watchdog(int argc, char** argv) {
  const char* ms = std::getenv("SIGNSWEEP_FUZZ_HANG_MS");
  watchdog.hang_ms = ms ? std::strtol(ms, nullptr, 10) : 0;
  if (watchdog.hang_ms <= 0) return;
  watchdog.save_input = !all_inputs_are_files(argc, argv);
  if (const char* code = flag_value(argc, argv, "timeout_exitcode")) watchdog.exit_code = std::atoi(code);
  if (const char* prefix = flag_value(argc, argv, "artifact_prefix"))
    std::strncpy(watchdog.artifact_prefix.data(), prefix, watchdog.artifact_prefix.size() - 1);
  std::snprintf(watchdog.message.data(), watchdog.message.size(),
                "==%d== ERROR: hang watchdog: one input took over %ld ms of CPU time (SIGNSWEEP_FUZZ_HANG_MS)\n",
                static_cast<int>(::getpid()), watchdog.hang_ms);
  clock_gettime(CLOCK_MONOTONIC, &watchdog.start);
  struct sigaction action {};
  action.sa_handler = on_hang;
  sigaction(SIGPROF, &action, nullptr);
}

HangWatch::HangWatch(const uint8_t* data, size_t size) {
  if (watchdog.hang_ms <= 0) return;
  watchdog.data = data;
  watchdog.size = size;
  watchdog.inputs = watchdog.inputs + 1;
  set_timer(watchdog.hang_ms);
}

HangWatch::~HangWatch() {
  if (watchdog.hang_ms > 0) set_timer(0);
}

}  // namespace signsweep::fuzz
