// What every reader under fuzzing shares (fuzz/readers.h): the scratch folder its input files go to, framing,
// and the one rule read_input applies. Depends on signsweep::common only.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "comm/messages.h"  // ProtocolError: a header-only class of an MPI-free header, so comm is not linked
#include "common/errors.h"
#include "fuzz/readers.h"

namespace signsweep::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path make_scratch_dir() {
  const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path dir = base / ("signsweep-fuzz-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  spdlog::set_level(spdlog::level::off);  // readers' warnings would flood the fuzzer's output
  return dir;
}

struct ScratchRemover {
  ~ScratchRemover() {
    std::error_code ec;
    fs::remove_all(scratch_dir(), ec);
  }
};

void clear_scratch() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scratch_dir(), ec)) fs::remove_all(entry.path(), ec);
}

}  // namespace

const fs::path& scratch_dir() {
  static const fs::path dir = make_scratch_dir();
  static const ScratchRemover remover;
  return dir;
}

std::string write_input(const std::string& relative, const std::string& bytes) {
  const fs::path path = scratch_dir() / relative;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the scratch folder must be writable: not a finding of the reader
  return path.string();
}

std::pair<std::string, std::string> unframe(const std::string& input) {
  if (input.size() < 4) return {"", input};
  uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(input[static_cast<size_t>(i)]);
  const size_t first = std::min<size_t>(n, input.size() - 4);
  return {input.substr(4, first), input.substr(4 + first)};
}

std::vector<uint8_t> framed(const std::vector<uint8_t>& first, const std::vector<uint8_t>& rest) {
  std::vector<uint8_t> out(4);
  for (size_t i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(first.size() >> (8 * i));
  out.insert(out.end(), first.begin(), first.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::optional<std::string> read_input(const Readers& readers, const std::string& name, const uint8_t* data, size_t size) {
  const auto reader = readers.find(name);
  if (reader == readers.end()) throw std::invalid_argument("no reader named " + name);
  clear_scratch();
  try {
    reader->second(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const InputError& e) {
    return e.what();
  } catch (const comm::ProtocolError& e) {
    return e.what();
  }
  return std::nullopt;
}

}  // namespace signsweep::fuzz
