#include "storage/atomic_file.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::storage {
namespace {

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) bytes /= 1024.0, ++u;
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

// The temporary file, closed (and removed unless released) on every way out.
class TempFile {
 public:
  TempFile(std::string path, mode_t mode) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd_ < 0) fail("create");
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) std::remove(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(fmt::format("write ({} of {} bytes written)", done, bytes.size()));
      done += static_cast<size_t>(n);
    }
  }
  void sync() {
    if (::fsync(fd_) != 0) fail("fsync");
  }
  // close(2) reports delayed write errors (NFS, quotas): checked like a write.
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close");
  }
  void rename_to(const std::string& path) {
    if (std::rename(path_.c_str(), path.c_str()) != 0) fail("rename to " + path);
    released_ = true;
  }

 private:
  [[noreturn]] void fail(const std::string& operation) const {
    const int error = errno;
    throw WriteError(fmt::format("{}: cannot write ({} failed): {}", path_, operation, write_failure_reason(path_, error)));
  }
  std::string path_;
  int fd_ = -1;
  bool released_ = false;
};

}  // namespace

std::string write_failure_reason(const std::string& path, int error) {
  std::string reason = std::strerror(error);
  if (error != ENOSPC && error != EDQUOT) return reason;
  struct statvfs fs {};
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return reason;
  const double block = static_cast<double>(fs.f_frsize);
  return fmt::format("{}; {} free of {} on the filesystem of {}", reason, bytes_text(block * static_cast<double>(fs.f_bavail)),
                     bytes_text(block * static_cast<double>(fs.f_blocks)), dir.empty() ? "." : dir.string());
}

void move_file(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) == 0) return;
  const int error = errno;
  throw WriteError(fmt::format("{}: cannot move it to {}: {}", from, to, write_failure_reason(to, error)));
}

void make_directories(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    throw WriteError(fmt::format("{}: cannot create the directory: {}", dir, write_failure_reason(dir + "/.", error.value())));
}

void check_writable(const std::string& dir, const std::string& what) {
  std::filesystem::path p = std::filesystem::absolute(dir);
  std::error_code error;
  while (!std::filesystem::exists(p, error) && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();
  if (!std::filesystem::is_directory(p, error))
    throw ConfigError(fmt::format("{} {}: {} is not a directory", what, dir, p.string()));
  struct statvfs fs {};
  if (::statvfs(p.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0)
    throw ConfigError(fmt::format("{} {}: cannot be written: {} is on a filesystem mounted read-only ({})", what, dir,
                                  p.string(), std::strerror(EROFS)));
  if (::access(p.c_str(), W_OK | X_OK) != 0)
    throw ConfigError(fmt::format("{} {}: cannot be written: {}: {}", what, dir, p.string(), std::strerror(errno)));
}

void write_file_atomically(const std::string& path, const std::string& bytes, bool durable, mode_t mode) {
  TempFile temp(fmt::format("{}.tmp-{}", path, ::getpid()), mode);
  temp.write_all(bytes);
  if (durable) temp.sync();
  temp.close();
  temp.rename_to(path);
}

}  // namespace signsweep::storage
