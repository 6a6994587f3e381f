// Readers of a results store for people: `signsweep status` (counts by state, running trials, failures
// with their errors) and `export --csv` (one flat row per trial for pandas); `report` is report.h.
// Torch-free.
#pragma once

#include <string>
#include <vector>

#include "storage/results_store.h"

namespace signsweep::report {

using storage::ResultsStore;

// `all`: the store's records (read_all(false)), read once by the caller, which also needs them.
std::string status_text(const ResultsStore& store, const std::vector<storage::TrialRecord>& all);

// One CSV field, quoted when it holds a comma, quote or newline (RFC 4180).
std::string csv_field(const std::string& s);

// Columns: id, kind, label, parent, state, attempts, error, started, finished, every axis, every result scalar.
std::string export_csv(const ResultsStore& store);
// The per-epoch series of every trial that has them (embed and null-model trials): one row per trial and
// epoch. Columns: id, kind, label, every axis, epoch (from 1), every series (loss, train/test accuracy,
// bit_accuracy, lr, images_per_second, ...). Numbers in their shortest round-trip form.
std::string export_series_csv(const ResultsStore& store);

}  // namespace signsweep::report
