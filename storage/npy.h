// NumPy .npy reader (format versions 1.0, 2.0, 3.0): little/big-endian float32/float64/int8..int64/
// uint8..uint64/bool, C or Fortran order (returned in C order), any rank. Values are converted to double.
// Bad input (not .npy, truncated, unsupported dtype, malformed header) throws DataError naming the file.
// Torch-free. Thread-safety: functions only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace signsweep::storage {

struct NpyArray {
  std::vector<int64_t> shape;
  std::string dtype;            // as in the header, e.g. "<f4"
  std::vector<double> values;   // C order
  int64_t numel() const;
};

NpyArray read_npy(const std::string& path);
// Parses .npy bytes; `origin` names the file in errors.
NpyArray parse_npy(const std::string& bytes, const std::string& origin);

}  // namespace signsweep::storage
