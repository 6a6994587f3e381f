// Files that carry the SHA-256 of their own content, so that silent corruption (a flipped bit on a disk or in a
// network filesystem's cache, a truncated copy) is refused, never read as a model or a training state:
//   bytes [0, 512)    "signsweep-sha256 <64 hex digits>\n", then zeros: the header
//   bytes [512, end)  the content, whose SHA-256 the header names
// HDF5 files (checkpoints) keep the header in their user block (h5.h: write_atomically with a user block), so
// h5py and h5dump still open them; other files (LibTorch archives of training states) are the header then the
// archive. Files written before sealing start with their format's own signature and are read unchecked.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/errors.h"

namespace signsweep::storage {

inline constexpr size_t kSealSize = 512;  // a valid HDF5 user block size

// A sealed file whose content does not match its header, or whose header is damaged: a DataError that names the
// file. Callers that can do without the file (a resumable state) catch it and go on without it.
class CorruptFile : public DataError {
 public:
  using DataError::DataError;
};

// Writes the header of `bytes`, whose first kSealSize bytes are reserved (zeros) for it.
void seal_in_place(std::string& bytes);
// The header, then `content`.
std::string sealed(const std::string& content);

// The content of a file's bytes: checked against the header (CorruptFile when it does not match), or, for a
// file that starts with `unsealed_signature` (its format's own: written before sealing), the bytes unchecked.
// `format` names the format in messages ("an HDF5 file"). Returns the offset of the content in `bytes`.
size_t checked_content_offset(const std::string& path, const std::string& bytes, std::string_view unsealed_signature,
                              std::string_view format);

}  // namespace signsweep::storage
