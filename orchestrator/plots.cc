#include "orchestrator/plots.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"
#include "common/isolated.h"
#include "storage/foreign.h"

extern char** environ;

namespace signsweep::orchestrator {
namespace {

namespace fs = std::filesystem;

// Debian's interpreter carries python3-matplotlib (a python3 earlier on PATH, e.g. a virtual environment, may
// not); SIGNSWEEP_PYTHON overrides.
std::string python_interpreter() {
  if (const char* p = std::getenv("SIGNSWEEP_PYTHON")) return p;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

// <prefix>/share/signsweep when this binary runs installed (<prefix>/bin/signsweep); none in a build tree.
std::optional<fs::path> installed_data_directory() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const fs::path installed = (exe.parent_path() / SIGNSWEEP_DATA_FROM_BIN).lexically_normal();
  return fs::exists(installed / "plots.py") ? std::optional<fs::path>(installed) : std::nullopt;
}

}  // namespace

std::string data_directory() { return installed_data_directory().value_or(SIGNSWEEP_SOURCE_DIR).string(); }

std::string bundled_script(const std::string& name, const char* override_env) {
  if (const char* p = std::getenv(override_env); p != nullptr && *p != 0) return p;
  const std::optional<fs::path> installed = installed_data_directory();
  return (installed ? *installed / name : fs::path(SIGNSWEEP_SOURCE_DIR) / "report" / name).string();
}

int run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::cout.flush();
  pid_t pid = 0;
  if (const int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ); rc != 0)
    throw Error(fmt::format("cannot start {}: {}", args.front(), std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(fmt::format("waiting for {}: {}", args.front(), std::strerror(errno)));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!(out << text)) throw StorageError(fmt::format("{}: cannot write", path));
}

namespace {

// Every table of the report as <table>.csv and <table>.md in `dir`.
void write_tables(const std::string& store_dir, const report::ReportOptions& options, const std::string& dir) {
  const storage::ResultsStore store = storage::ResultsStore::open_existing(store_dir);
  for (const std::string& table : report::report_tables()) {
    report::ReportOptions o = options;
    o.table = table;
    o.format = "csv";
    const std::string csv = report::report_text(store, o);
    if (std::count(csv.begin(), csv.end(), '\n') < 2) continue;  // a header alone: the store has no such trials
    write_text_file((fs::path(dir) / (table + ".csv")).string(), csv);
    o.format = "md";
    write_text_file((fs::path(dir) / (table + ".md")).string(), report::report_text(store, o));
  }
}

}  // namespace

void write_report_folder(const std::string& store_dir, const report::ReportOptions& options, const std::string& dir) {
  const std::string plots_script = bundled_script("plots.py", "SIGNSWEEP_PLOTS_SCRIPT");
  fs::create_directories(dir);
  // The store is read in a child process (storage/foreign.h); plots.py reads only the tables written here.
  common::run_isolated(store_dir, storage::store_read_limits(store_dir), [&] { write_tables(store_dir, options, dir); });
  const int rc =
      run_program({python_interpreter(), plots_script, dir, "--store", store_dir, "--over", fmt::format("{}", fmt::join(options.over, ","))});
  if (rc == 2) throw InputError(fmt::format("report --plots: {} refused its input (its message is above)", plots_script));
  if (rc != 0) throw Error(fmt::format("report --plots: {} exited with {}", plots_script, rc));
  std::cout << fmt::format("tables and figures in {} (see {})\n", dir, (fs::path(dir) / "index.md").string());
}

}  // namespace signsweep::orchestrator
