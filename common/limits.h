// The limits on what signsweep reads from files and peers it did not write itself (data sets, keys,
// checkpoints, Keras files, stores, YAML, messages between ranks). A header, attribute or document that asks
// for more is refused with an InputError naming the file, what was asked and the limit (exit 2), before
// memory is allocated for it. README, "Input limits", lists them; raise one here if a real data set needs it.
// Thread-safety: constants and a pure function.
#pragma once

#include <cstdint>
#include <string>

namespace signsweep::limits {

inline constexpr int64_t kMaxImages = int64_t{1} << 24;           // images in one file, folder or split (16.7 M)
inline constexpr int64_t kMaxImageSide = 8192;                     // height or width of a stored or decoded image
inline constexpr int64_t kMaxDatasetBytes = int64_t{16} << 30;     // decoded 8-bit pixels of one split (16 GiB)
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 28;    // one array in a checkpoint, Keras file, store or .npy
inline constexpr int64_t kMaxStringBytes = int64_t{64} << 20;      // one string or JSON document from a file or peer
inline constexpr int64_t kMaxConfigBytes = int64_t{4} << 20;       // one YAML file
inline constexpr int64_t kMaxNestingDepth = 64;                    // YAML and JSON: lists and mappings inside each other
inline constexpr int64_t kMaxConfigNodes = int64_t{1} << 20;       // YAML nodes, counted with aliases expanded
inline constexpr int64_t kMaxSweepTrials = 100'000;                // trials one sweep expands into

// Throws DataError "<origin>: <what> <value> exceeds signsweep's limit of <limit> (README: Input limits)"
// when value > limit.
void check(const std::string& origin, const std::string& what, int64_t value, int64_t limit);

// a * b and a + b of non-negative header values, or kSaturated when the result does not fit (or an operand is
// negative): what check() then reports as "more than 2^63 - 1".
inline constexpr int64_t kSaturated = INT64_MAX;
int64_t saturated_product(int64_t a, int64_t b);
int64_t saturated_sum(int64_t a, int64_t b);

}  // namespace signsweep::limits
