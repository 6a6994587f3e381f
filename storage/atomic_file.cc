#include "storage/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::storage {

void replace_file_atomically(const std::string& path, const std::function<void(const std::string& temp_path)>& write,
                             bool durable) {
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  try {
    write(tmp);  // the writer has closed (flushed) the file when it returns
    if (durable) {
      const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::fsync(fd) != 0) {
        if (fd >= 0) ::close(fd);
        throw StorageError(fmt::format("{}: fsync failed", tmp));
      }
      ::close(fd);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw StorageError(fmt::format("{}: rename to {} failed", tmp, path));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace signsweep::storage
