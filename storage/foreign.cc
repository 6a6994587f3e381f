#include "storage/foreign.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::storage {
namespace {

namespace fs = std::filesystem;

// A folder only this process uses (mkdtemp: mode 0700, a name nobody can predict), removed with what is in it.
class PrivateDir {
 public:
  PrivateDir() {
    std::string pattern = (fs::temp_directory_path() / "signsweep-read-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw StorageError(fmt::format("{}: cannot create a private folder for a copy of a model file", pattern));
    path_ = pattern;
  }
  ~PrivateDir() {
    std::error_code ignored;  // a folder left in the temporary directory is no reason to fail a read
    fs::remove_all(path_, ignored);
  }
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Reads `path` with `read` in a child, which writes what it read to a private copy with `write`; returns the
// copy read back with the same `read`. A failure to write back what was read is the file's (a layout our writer
// cannot hold).
template <class T>
T read_through_copy(const std::string& path, const std::string& kind, const common::IsolationLimits& limits,
                    T (*read)(const std::string&), void (*write)(const std::string&, const T&)) {
  const PrivateDir dir;
  const std::string copy = dir.file("copy.h5");
  common::run_isolated(path, limits, [&] {
    const T value = read(path);
    try {
      write(copy, value);
    } catch (const StorageError& e) {
      throw DataError(fmt::format("{}: what it holds cannot be written back as a {}: {}", path, kind, e.what()));
    }
  });
  return read(copy);
}

// 4 GiB plus 8 times `bytes` (capped at 1 TiB of files).
int64_t memory_for(uintmax_t bytes) {
  return common::IsolationLimits{}.memory_bytes + 8 * static_cast<int64_t>(std::min<uintmax_t>(bytes, uintmax_t{1} << 40));
}

}  // namespace

common::IsolationLimits foreign_read_limits(const std::string& path) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  common::IsolationLimits limits;
  limits.memory_bytes = memory_for(error ? 0 : size);
  return limits;
}

common::IsolationLimits store_read_limits(const std::string& store_dir) {
  uintmax_t bytes = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator it(store_dir, error), end; !error && it != end; it.increment(error))
    if (it->is_regular_file(error)) bytes += it->file_size(error);
  common::IsolationLimits limits;
  limits.seconds = 600;
  limits.memory_bytes = memory_for(bytes);
  return limits;
}

Checkpoint load_foreign_checkpoint(const std::string& path) { return load_foreign_checkpoint(path, foreign_read_limits(path)); }

Checkpoint load_foreign_checkpoint(const std::string& path, const common::IsolationLimits& limits) {
  return read_through_copy<Checkpoint>(path, "checkpoint", limits, load_checkpoint, save_checkpoint);
}

KerasModel read_foreign_keras_model(const std::string& path) {
  return read_foreign_keras_model(path, foreign_read_limits(path));
}

KerasModel read_foreign_keras_model(const std::string& path, const common::IsolationLimits& limits) {
  return read_through_copy<KerasModel>(path, "Keras model", limits, read_keras_model, write_keras_model);
}

}  // namespace signsweep::storage
