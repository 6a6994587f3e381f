// Replacing a file atomically: `write` fills `<path>.tmp-<pid>`, which is fsync'd and renamed over `path`.
// A crash leaves either the old file or the new one, never a half-written file at `path`; a failure removes
// the temporary file. `durable` = false skips the fsync: still safe against a killed process (the page cache
// survives it), not against a power loss or kernel crash. Used by every file the store writes (HDF5 through
// storage::write_atomically, the trainer's resumable state).
#pragma once

#include <functional>
#include <string>

namespace signsweep::storage {

void replace_file_atomically(const std::string& path, const std::function<void(const std::string& temp_path)>& write,
                             bool durable = true);

}  // namespace signsweep::storage
