#include "storage/store_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/machine.h"
#include "storage/atomic_file.h"

namespace signsweep::storage {
namespace {

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

void write_all(int fd, const std::string& text, const std::string& path) {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0 ||
      ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw StorageError(fmt::format("{}: cannot write the lock holder: {}", path, std::strerror(errno)));
  ::fsync(fd);
}

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

StoreLock::StoreLock(const std::string& dir) : path_((std::filesystem::path(dir) / "lock").string()) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw WriteError(fmt::format("{}: cannot open the store's lock file: {}", path_, write_failure_reason(path_, errno)));
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
  if (::fcntl(fd_, F_SETLK, &whole) != 0) {
    const int err = errno;
    const std::string holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EACCES || err == EAGAIN)
      throw ConfigError(fmt::format(
          "{}: another signsweep run holds this store ({}; lock file {}): one run per store. Wait for it or stop "
          "it; status, report and export read the store meanwhile",
          dir, holder.empty() ? "holder unknown" : holder, path_));
    throw StorageError(fmt::format("{}: cannot lock the store: {}", path_, std::strerror(err)));
  }
  const std::string left = read_all(fd_);  // what a process that died holding the lock left
  const std::string mine = fmt::format("host {} pid {} ", common::host_name(), ::getpid());
  if (left.rfind(mine, 0) != 0) taken_over_ = left;  // (this process itself may lock a store twice)
  write_all(fd_, fmt::format("{}started {}\n", mine, now_utc()), path_);
}

StoreLock::~StoreLock() {
  if (fd_ < 0) return;
  (void)::ftruncate(fd_, 0);  // a clean exit leaves no holder behind
  ::close(fd_);               // releases the lock
}

}  // namespace signsweep::storage
