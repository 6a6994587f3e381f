#include "fuzz/hang_watchdog.h"

#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <sys/time.h>
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
// handler (write, open, close, _exit) apart from the sanitizer's stack trace, which libFuzzer's own timeout
// handler calls the same way.
struct Watchdog {
  long hang_ms = 0;  // 0: off
  int exit_code = 70;  // libFuzzer's -timeout_exitcode default
  std::array<char, 4096> artifact_prefix{};  // libFuzzer's -artifact_prefix (empty: the working folder)
  std::array<char, 160> message{};
  const uint8_t* volatile data = nullptr;
  volatile size_t size = 0;
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

// The artifact's name: 16 hex digits of the input's FNV-1a hash (libFuzzer names its own by SHA-1), so the
// same input found twice is saved once.
void hash_hex(const uint8_t* data, size_t size, char (&hex)[17]) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ULL;
  for (int i = 15; i >= 0; --i, h >>= 4) hex[i] = "0123456789abcdef"[h & 0xf];
  hex[16] = '\0';
}

void on_hang(int) {
  write_text(2, watchdog.message.data());
  __sanitizer_print_stack_trace();
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
  ::_exit(watchdog.exit_code);
}

void set_timer(long ms) {
  itimerval t{};
  t.it_value.tv_sec = ms / 1000;
  t.it_value.tv_usec = (ms % 1000) * 1000;
  setitimer(ITIMER_PROF, &t, nullptr);
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
  if (const char* code = flag_value(argc, argv, "timeout_exitcode")) watchdog.exit_code = std::atoi(code);
  if (const char* prefix = flag_value(argc, argv, "artifact_prefix"))
    std::strncpy(watchdog.artifact_prefix.data(), prefix, watchdog.artifact_prefix.size() - 1);
  std::snprintf(watchdog.message.data(), watchdog.message.size(),
                "==%d== ERROR: hang watchdog: one input took over %ld ms of CPU time (SIGNSWEEP_FUZZ_HANG_MS)\n",
                static_cast<int>(::getpid()), watchdog.hang_ms);
  struct sigaction action {};
  action.sa_handler = on_hang;
  sigaction(SIGPROF, &action, nullptr);
}

HangWatch::HangWatch(const uint8_t* data, size_t size) {
  if (watchdog.hang_ms <= 0) return;
  watchdog.data = data;
  watchdog.size = size;
  set_timer(watchdog.hang_ms);
}

HangWatch::~HangWatch() {
  if (watchdog.hang_ms > 0) set_timer(0);
}

}  // namespace signsweep::fuzz
