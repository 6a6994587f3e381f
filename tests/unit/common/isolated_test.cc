// common::run_isolated with real child processes: each outcome of the child (return, exception, fault signal,
// endless loop, excess memory, a kill) comes back as the exception isolated.h promises, and this process lives on.
#include "common/isolated.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/errors.h"

#include <sys/wait.h>

namespace signsweep::common {
namespace {

IsolationLimits quick() {
  IsolationLimits limits;
  limits.seconds = 2;
  return limits;
}

// The message of what `work` in a child throws here, and whether it is a DataError.
struct Outcome {
  std::string message;
  bool data_error = false;
  bool input_error = false;
};

Outcome outcome_of(const std::function<void()>& work, const IsolationLimits& limits = quick()) {
  try {
    run_isolated("input.h5", limits, work);
  } catch (const DataError& e) {
    return {e.what(), true, true};
  } catch (const InputError& e) {
    return {e.what(), false, true};
  } catch (const Error& e) {
    return {e.what(), false, false};
  }
  return {"(returned)", false, false};
}

TEST(IsolatedTest, work_that_returns_returns_and_runs_in_another_process) {
  int touched = 0;
  run_isolated("input.h5", quick(), [&] { touched = 1; });
  EXPECT_EQ(touched, 0) << "the work ran in this process's memory";
}

TEST(IsolatedTest, input_errors_come_back_as_data_errors_with_the_childs_message) {
  const Outcome o = outcome_of([] { throw ConfigError("input.h5: /config: key 'x' is not known"); });
  EXPECT_TRUE(o.data_error) << o.message;
  EXPECT_EQ(o.message, "input.h5: /config: key 'x' is not known");
}

TEST(IsolatedTest, other_exceptions_come_back_as_errors_not_input_errors) {
  const Outcome o = outcome_of([] { throw std::runtime_error("disk full"); });
  EXPECT_FALSE(o.input_error) << o.message;
  EXPECT_EQ(o.message, "disk full");
}

// In a sanitizer build the sanitizer catches the fault, reports it and exits 1: the other way a child dies.
TEST(IsolatedTest, a_segfault_in_the_child_is_a_data_error_naming_the_input_and_how_it_died) {
  const Outcome o = outcome_of([] { std::raise(SIGSEGV); });
  EXPECT_TRUE(o.data_error) << o.message;
  EXPECT_NE(o.message.find("input.h5: the process reading it "), std::string::npos) << o.message;
  EXPECT_TRUE(o.message.find("died of SIGSEGV") != std::string::npos ||
              o.message.find("exited with status 1 without a report") != std::string::npos) << o.message;
}

TEST(IsolatedTest, an_abort_in_the_child_is_a_data_error) {
  const Outcome o = outcome_of([] { std::abort(); });
  EXPECT_TRUE(o.data_error) << o.message;
  EXPECT_NE(o.message.find("SIGABRT"), std::string::npos) << o.message;
}

TEST(IsolatedTest, a_child_that_never_returns_is_killed_at_the_limit_and_is_a_data_error) {
  IsolationLimits limits;
  limits.seconds = 0.5;
  const auto start = std::chrono::steady_clock::now();
  const Outcome o = outcome_of([] { for (;;) std::this_thread::sleep_for(std::chrono::seconds(1)); }, limits);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(o.data_error) << o.message;
  EXPECT_NE(o.message.find("did not finish within 0.5 s"), std::string::npos) << o.message;
  EXPECT_GE(waited, 0.5);
}

TEST(IsolatedTest, a_child_killed_by_another_signal_is_an_error_not_bad_input) {
  const Outcome o = outcome_of([] { std::raise(SIGKILL); });
  EXPECT_FALSE(o.input_error) << o.message;
  EXPECT_NE(o.message.find("SIGKILL"), std::string::npos) << o.message;
}

TEST(IsolatedTest, an_allocation_past_the_memory_limit_is_a_data_error) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "sanitizer builds apply no address-space limit (isolated.h)";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "sanitizer builds apply no address-space limit (isolated.h)";
#endif
#endif
  IsolationLimits limits = quick();
  limits.memory_bytes = int64_t{256} << 20;
  const Outcome o = outcome_of([] {
    std::vector<char> big(size_t{1} << 30);  // what a corrupt length asks for
    std::memset(big.data(), 1, big.size());
  }, limits);
  EXPECT_TRUE(o.data_error) << o.message;
  EXPECT_NE(o.message.find("more than 0.25 GiB of memory"), std::string::npos) << o.message;
}

size_t open_descriptors() {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {}));
}

TEST(IsolatedTest, failures_leave_no_descriptor_or_child_behind) {
  const size_t before = open_descriptors();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(outcome_of([] { std::raise(SIGSEGV); }).data_error);
  EXPECT_FALSE(outcome_of([] { throw std::runtime_error("x"); }).input_error);
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a child was left unreaped";
}

}  // namespace
}  // namespace signsweep::common
