#include "storage/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"

namespace signsweep::storage {
namespace {

// NumPy's own bounds: np.load refuses headers past 10000 bytes (max_header_size), arrays past 64 dimensions.
constexpr int64_t kMaxHeaderBytes = 10000;
constexpr int64_t kMaxRank = 64;

struct Header {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};

// The quoted string or parenthesised tuple after `'key':` in NumPy's header dict (a Python literal that
// NumPy writes in one fixed form), or nullopt when the key is absent. Plain string scanning: the header is
// untrusted text, and a backtracking regex recurses once per character.
std::optional<std::string> header_value(const std::string& text, const std::string& key, char open, char close) {
  const size_t k = text.find("'" + key + "'");
  if (k == std::string::npos) return std::nullopt;
  size_t i = text.find_first_not_of(" \t", k + key.size() + 2);
  if (i == std::string::npos || text[i] != ':') return std::nullopt;
  i = text.find_first_not_of(" \t", i + 1);
  if (i == std::string::npos || text[i] != open) return std::nullopt;
  const size_t end = text.find(close, i + 1);
  if (end == std::string::npos) return std::nullopt;
  return text.substr(i + 1, end - i - 1);
}

Header parse_header(const std::string& text, const std::string& origin) {
  const auto fail = [&](const std::string& what) -> Header {
    throw DataError(fmt::format("{}: malformed .npy header ({}): {}", origin, what, text));
  };
  Header h;
  const auto descr = header_value(text, "descr", '\'', '\'');
  if (!descr) return fail("no 'descr'");
  h.descr = *descr;
  const size_t f = text.find("'fortran_order'");
  if (f == std::string::npos) return fail("no 'fortran_order'");
  const size_t value = text.find_first_not_of(" \t:", f + 15);
  if (value == std::string::npos || (text.compare(value, 4, "True") != 0 && text.compare(value, 5, "False") != 0))
    return fail("'fortran_order' is neither True nor False");
  h.fortran = text.compare(value, 4, "True") == 0;
  const auto shape = header_value(text, "shape", '(', ')');
  if (!shape) return fail("no 'shape'");
  std::stringstream dims(*shape);
  for (std::string d; std::getline(dims, d, ',');) {
    d.erase(std::remove_if(d.begin(), d.end(), ::isspace), d.end());
    if (d.empty()) continue;
    if (!std::all_of(d.begin(), d.end(), ::isdigit) || d.size() > 18) return fail("shape entry '" + d + "'");
    h.shape.push_back(std::stoll(d));
    limits::check(origin, "rank", static_cast<int64_t>(h.shape.size()), kMaxRank);
  }
  return h;
}

template <typename T>
double load_as_double(const char* p, bool swap) {
  T v;
  char buf[sizeof(T)];
  std::memcpy(buf, p, sizeof(T));
  if (swap) std::reverse(buf, buf + sizeof(T));
  std::memcpy(&v, buf, sizeof(T));
  return static_cast<double>(v);
}

using Loader = double (*)(const char*, bool);

Loader loader_for(char kind, size_t size) {
  if (kind == 'f' && size == 4) return &load_as_double<float>;
  if (kind == 'f' && size == 8) return &load_as_double<double>;
  if (kind == 'i' && size == 1) return &load_as_double<int8_t>;
  if (kind == 'i' && size == 2) return &load_as_double<int16_t>;
  if (kind == 'i' && size == 4) return &load_as_double<int32_t>;
  if (kind == 'i' && size == 8) return &load_as_double<int64_t>;
  if ((kind == 'u' || kind == 'b') && size == 1) return &load_as_double<uint8_t>;
  if (kind == 'u' && size == 2) return &load_as_double<uint16_t>;
  if (kind == 'u' && size == 4) return &load_as_double<uint32_t>;
  if (kind == 'u' && size == 8) return &load_as_double<uint64_t>;
  return nullptr;
}

// Fortran (column-major) -> C (row-major) order.
std::vector<double> to_c_order(const std::vector<double>& f, const std::vector<int64_t>& shape) {
  std::vector<double> c(f.size());
  const size_t rank = shape.size();
  std::vector<int64_t> idx(rank, 0);
  for (size_t k = 0; k < f.size(); ++k) {  // k walks C order; compute the Fortran offset of idx
    int64_t off = 0, stride = 1;
    for (size_t d = 0; d < rank; ++d) {
      off += idx[d] * stride;
      stride *= shape[d];
    }
    c[k] = f[static_cast<size_t>(off)];
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return c;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(const std::string& bytes, const std::string& origin) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    throw DataError(fmt::format("{}: not a .npy file (magic \\x93NUMPY missing)", origin));
  const auto major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(fmt::format("{}: truncated .npy header", origin));
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    throw DataError(fmt::format("{}: unsupported .npy format version {}", origin, major));
  }
  limits::check(origin, ".npy header bytes", static_cast<int64_t>(header_len), kMaxHeaderBytes);
  if (bytes.size() < header_start + header_len)
    throw DataError(fmt::format("{}: truncated .npy header ({} of {} bytes)", origin, bytes.size() - header_start, header_len));
  const Header h = parse_header(bytes.substr(header_start, header_len), origin);
  if (h.descr.size() < 3) throw DataError(fmt::format("{}: unsupported dtype '{}'", origin, h.descr));
  const char order = h.descr[0], kind = h.descr[1];
  const std::string size_text = h.descr.substr(2);
  const size_t size = size_text == "1" || size_text == "2" || size_text == "4" || size_text == "8" ? std::stoul(size_text) : 0;
  const Loader load = loader_for(kind, size);
  if (load == nullptr || (order != '<' && order != '>' && order != '|'))
    throw DataError(fmt::format("{}: unsupported dtype '{}' (float, int, uint and bool are read)", origin, h.descr));
  const bool swap = order == '>';  // this machine is little-endian
  NpyArray a;
  a.shape = h.shape;
  a.dtype = h.descr;
  int64_t elements = 1;
  for (const int64_t d : h.shape) elements = limits::saturated_product(elements, d);
  limits::check(origin, "element count", elements, limits::kMaxTensorElements);
  const auto n = static_cast<size_t>(elements);
  const size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != n * size)
    throw DataError(fmt::format("{}: {} data bytes, expected {} for shape ({}) of {} (truncated?)", origin,
                                bytes.size() - data_start, n * size, fmt::join(h.shape, ", "), h.descr));
  a.values.resize(n);
  for (size_t i = 0; i < n; ++i) a.values[i] = load(bytes.data() + data_start + i * size, swap);
  if (h.fortran && a.shape.size() > 1) a.values = to_c_order(a.values, a.shape);
  return a;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open .npy file", path));
  std::stringstream s;
  s << in.rdbuf();
  return parse_npy(s.str(), path);
}

}  // namespace signsweep::storage
