// `signsweep report STORE --plots DIR`: the tables and the paper's figures in one folder. The tables come
// from report/report.h (DIR/<table>.md and .csv, for every table that has rows); the figures from
// report/plots.py, run with Debian's Python (matplotlib): it reads those CSVs, never the store, so every
// number it plots is the table's, and writes DIR/<figure>.png, .svg, .pdf and the .csv of the rows it plots,
// then DIR/index.md.
// Torch-free.
#pragma once

#include <string>
#include <vector>

#include "report/report.h"

namespace signsweep::orchestrator {

// Where this binary's own files are (plots.py, experiments/, dashboards/): <prefix>/share/signsweep when it
// runs installed (cmake --install, the .deb), else the source tree it was built from.
std::string data_directory();

// A script signsweep ships (report/<name> in a build tree, <prefix>/share/signsweep/<name> installed); the
// environment variable `override_env`, when set, names another.
std::string bundled_script(const std::string& name, const char* override_env);
// Runs args[0] (looked up on PATH) with its output on ours; returns its exit status (128 + signal).
int run_program(const std::vector<std::string>& args);
// Writes `text` to `path` (StorageError when it cannot).
void write_text_file(const std::string& path, const std::string& text);

// Throws Error when the script fails (its own message is on stderr), DataError for a missing store.
void write_report_folder(const std::string& store_dir, const report::ReportOptions& options, const std::string& dir);

}  // namespace signsweep::orchestrator
