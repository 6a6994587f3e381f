#include "workers/data/mat_check.h"

#include <zlib.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/hash.h"
#include "common/limits.h"

namespace signsweep::workers {
namespace {

constexpr size_t kHeaderBytes = 128;  // descriptive text, subsystem offset, version, endian indicator
constexpr uint16_t kV5Version = 0x0100;
constexpr uint32_t kMiInt8 = 1, kMiInt32 = 5, kMiUint32 = 6, kMiMatrix = 14, kMiCompressed = 15;
constexpr uint32_t kMaxRank = 32;        // MATLAB's arrays have far fewer dimensions
constexpr uint32_t kMaxNameBytes = 4096;  // MATLAB names are at most 63 characters
constexpr size_t kInflatedHeaderBytes = 4096;  // of a compressed variable: its flags, dimensions and name

// Numeric classes (mxDOUBLE_CLASS 6 .. mxUINT64_CLASS 15) and char (4); cells, structs, objects, sparse refused.
bool numeric_or_char_class(uint32_t c) { return c == 4 || (c >= 6 && c <= 15); }

struct Tag {
  uint32_t type = 0;
  uint32_t nbytes = 0;
  size_t data = 0;  // offset of the element's data
  size_t next = 0;  // offset of the next element (8-byte aligned)
};

class Reader {
 public:
  // `bytes`: the file (or an inflated start of it); the tags' own bounds checks keep every read inside it.
  Reader(const std::string& path, const uint8_t* bytes, bool swap) : path_(path), bytes_(bytes), swap_(swap) {}

  uint16_t u16(size_t at) const {
    uint16_t v = 0;
    std::memcpy(&v, bytes_ + at, 2);
    return swap_ ? __builtin_bswap16(v) : v;
  }

  uint32_t u32(size_t at) const {
    uint32_t v = 0;
    std::memcpy(&v, bytes_ + at, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }

  // The tag at `at` within [at, end): the small format (type and size in one word, data in the tag) or the
  // full one (two words, then nbytes of data padded to 8; compressed data is not padded), its data inside
  // [at, end) unless `sized_elsewhere` (a compressed variable's matrix, of which only the start is inflated).
  Tag tag(size_t at, size_t end, const char* what, size_t base, bool sized_elsewhere = false) const {
    if (at + 8 > end) fail(at + base, fmt::format("{} tag past the end of its element", what));
    Tag t;
    const uint32_t word = u32(at);
    if (word >> 16 != 0) {
      t.type = word & 0xFFFF;
      t.nbytes = word >> 16;
      t.data = at + 4;
      if (t.nbytes > 4) fail(at + base, fmt::format("{} small element of {} bytes (at most 4)", what, t.nbytes));
      t.next = at + 8;
      return t;
    }
    t.type = word;
    t.nbytes = u32(at + 4);
    t.data = at + 8;
    if (!sized_elsewhere && t.nbytes > end - t.data)
      fail(at + base, fmt::format("{} claims {} bytes but {} remain: truncated or corrupt", what, t.nbytes, end - t.data));
    t.next = t.data + (t.type == kMiCompressed ? t.nbytes : (static_cast<size_t>(t.nbytes) + 7) / 8 * 8);
    return t;
  }

  // A variable's array flags, dimensions and name, within [at, end) of its miMATRIX data (for a compressed
  // variable, the inflated start of it); returns its element count (the product of its dimensions).
  int64_t matrix_headers(size_t at, size_t end, size_t base) const {
    const Tag flags = tag(at, end, "array flags", base);
    if (flags.type != kMiUint32 || flags.nbytes != 8) fail(at + base, "array flags are not two uint32 words");
    const uint32_t array_class = u32(flags.data) & 0xFF;
    if (!numeric_or_char_class(array_class))
      fail(at + base, fmt::format("variable of MATLAB class {}: only numeric arrays are read", array_class));
    const Tag dims = tag(flags.next, end, "dimensions", base);
    if (dims.type != kMiInt32 || dims.nbytes % 4 != 0 || dims.nbytes / 4 < 2 || dims.nbytes / 4 > kMaxRank)
      fail(flags.next + base, fmt::format("dimensions element of {} bytes (2 to {} int32 values)", dims.nbytes, kMaxRank));
    const Tag name = tag(dims.next, end, "name", base);
    if (name.type != kMiInt8 || name.nbytes > kMaxNameBytes)
      fail(dims.next + base, fmt::format("variable name of {} bytes (at most {})", name.nbytes, kMaxNameBytes));
    int64_t elements = 1;
    for (uint32_t i = 0; i < dims.nbytes / 4; ++i) {
      const auto d = static_cast<int32_t>(u32(dims.data + 4 * i));
      if (d < 0) fail(dims.data + 4 * i + base, fmt::format("negative dimension {}", d));
      elements = limits::saturated_product(elements, d);
    }
    return elements;
  }

  // The element count `elements` against the bytes that hold them: matio allocates the product of the
  // dimensions, whatever the data element holds. Every element takes at least one byte stored, and deflate
  // expands at most 1032:1.
  void require_data_for(int64_t elements, uint64_t stored_bytes, size_t offset) const {
    if (static_cast<uint64_t>(elements) > stored_bytes)
      fail(offset, fmt::format("dimensions of {} elements but {} bytes to hold them: truncated or corrupt",
                               elements == limits::kSaturated ? std::string("more than 2^63 - 1") : std::to_string(elements),
                               stored_bytes));
  }

  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw DataError(fmt::format("{}: not a MATLAB v5 file signsweep reads: {} (offset {})", path_, what, offset));
  }

 private:
  const std::string& path_;
  const uint8_t* bytes_;
  bool swap_;
};

// The first bytes of a zlib stream (at most `limit`), or what it holds when shorter.
std::vector<uint8_t> inflate_start(const uint8_t* data, size_t size, size_t limit) {
  std::vector<uint8_t> out(limit);
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return {};
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(limit);
  inflate(&z, Z_SYNC_FLUSH);
  out.resize(limit - z.avail_out);
  inflateEnd(&z);
  return out;
}

}  // namespace

void check_mat_v5_headers(const std::string& path) {
  const std::string text = common::read_file_bytes(path);
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  if (size < kHeaderBytes || (std::memcmp(&bytes[126], "IM", 2) != 0 && std::memcmp(&bytes[126], "MI", 2) != 0))
    throw DataError(fmt::format("{}: not a MATLAB v5 .mat file (no 128-byte header with an endian indicator)", path));
  const bool swap = bytes[126] == 'M';  // written big-endian: "MI" read on this little-endian machine
  const Reader file(path, bytes, swap);
  // matio reads a header of any other version as another format (v4: its first bytes a name length it
  // allocates; v7.3: HDF5), none of which this walk checks.
  const uint16_t version = file.u16(124);
  if (version != kV5Version)
    throw DataError(fmt::format("{}: not a MATLAB v5 .mat file (header version 0x{:04x}, v5's is 0x{:04x})", path,
                                version, kV5Version));
  for (size_t at = kHeaderBytes; at < size;) {
    const Tag element = file.tag(at, size, "variable", 0);
    if (element.type == kMiMatrix) {
      const int64_t elements = file.matrix_headers(element.data, element.data + element.nbytes, 0);
      file.require_data_for(elements, element.nbytes, element.data);
    } else if (element.type == kMiCompressed) {
      const std::vector<uint8_t> start = inflate_start(bytes + element.data, element.nbytes, kInflatedHeaderBytes);
      const Reader inner(path, start.data(), swap);
      const Tag matrix = inner.tag(0, start.size(), "compressed variable", element.data, true);
      if (matrix.type != kMiMatrix) file.fail(element.data, "a compressed element that is not a variable");
      // The inflated start holds the headers; the data is checked against what the compressed bytes can hold.
      const int64_t elements = inner.matrix_headers(matrix.data, start.size(), element.data);
      file.require_data_for(elements, uint64_t{element.nbytes} * 1032, element.data);
    }
    at = std::max(element.next, at + 8);
  }
}

}  // namespace signsweep::workers
