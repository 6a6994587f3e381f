// Readers of a results store for people: `signsweep status` (counts by state, running trials, failures
// with their errors), `report` (tables over the sweep's axes, mean +- std over seeds) and `export --csv`
// (one flat row per trial for pandas). Torch-free.
#pragma once

#include <string>
#include <vector>

#include "storage/results_store.h"

namespace signsweep::storage {

std::string status_text(const ResultsStore& store);

// "embed": test accuracy and BER per grid point; "attacks": accuracy and BER after each attack setting,
// per grid point. Seeds (axes whose key contains "seed") are averaged over.
const std::vector<std::string>& report_tables();
// format "md" or "csv"; throws ConfigError naming the unknown table or format.
std::string report_text(const ResultsStore& store, const std::string& table, const std::string& format);

// Columns: id, kind, label, parent, state, attempts, error, started, finished, every axis, every result scalar.
std::string export_csv(const ResultsStore& store);

}  // namespace signsweep::storage
