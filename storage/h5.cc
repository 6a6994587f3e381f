#include "storage/h5.h"

#include <hdf5.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"
#include "storage/atomic_file.h"
#include "storage/sealed_file.h"

namespace signsweep::storage {

// An in-memory file's buffer, tracked through HDF5's file image callbacks (the core driver allocates, grows
// and frees it through them), and its bytes copied out when the driver frees it at close.
struct ImageCapture {
  std::map<uintptr_t, size_t> sizes;  // live buffers (by address) and their sizes
  std::string image;
  bool closed = false;
};

namespace {

// Where the file ends, from its superblock (versions 2 and 3, which the 1.8 format writes: the end-of-file
// address, 8 bytes little-endian at offset 28, and the base address at offset 12). The core driver grows its
// image in whole increments; the bytes past the end are not part of the file. The specification counts the
// end from the base address, HDF5 1.10 writes it from the file's start (they differ by a user block): the
// later of the two is kept, which never cuts the file. Returns the image's size for other superblocks.
size_t end_of_file(const std::string& image, size_t superblock) {
  static constexpr char kSignature[] = "\x89HDF\r\n\x1a\n";
  if (image.size() < superblock + 36 || image.compare(superblock, 8, kSignature, 8) != 0) return image.size();
  const auto version = static_cast<unsigned char>(image[superblock + 8]);
  if ((version != 2 && version != 3) || image[superblock + 9] != 8) return image.size();  // 8-byte offsets
  const auto read_u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(image[at + static_cast<size_t>(i)]);
    return v;
  };
  const uint64_t end = read_u64(superblock + 12) + read_u64(superblock + 28);
  return end >= superblock + 36 ? static_cast<size_t>(std::min<uint64_t>(end, image.size())) : image.size();
}

ImageCapture& capture_of(void* udata) { return *static_cast<ImageCapture*>(udata); }

H5FD_file_image_callbacks_t image_capture_callbacks(ImageCapture* capture) {
  H5FD_file_image_callbacks_t c{};
  c.image_malloc = [](size_t size, H5FD_file_image_op_t, void* udata) -> void* {
    void* p = std::malloc(size);
    if (p != nullptr) capture_of(udata).sizes[reinterpret_cast<uintptr_t>(p)] = size;
    return p;
  };
  c.image_memcpy = [](void* dest, const void* src, size_t size, H5FD_file_image_op_t, void*) -> void* {
    return std::memcpy(dest, src, size);
  };
  c.image_realloc = [](void* ptr, size_t size, H5FD_file_image_op_t, void* udata) -> void* {
    const auto old = reinterpret_cast<uintptr_t>(ptr);  // the address, compared only: ptr is gone after realloc
    void* p = std::realloc(ptr, size);
    if (p != nullptr) {
      capture_of(udata).sizes.erase(old);
      capture_of(udata).sizes[reinterpret_cast<uintptr_t>(p)] = size;
    }
    return p;
  };
  c.image_free = [](void* ptr, H5FD_file_image_op_t op, void* udata) -> herr_t {
    ImageCapture& capture = capture_of(udata);
    const auto it = capture.sizes.find(reinterpret_cast<uintptr_t>(ptr));
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && it != capture.sizes.end()) {
      capture.image.assign(static_cast<const char*>(ptr), it->second);
      capture.closed = true;
    }
    if (it != capture.sizes.end()) capture.sizes.erase(it);
    std::free(ptr);
    return 0;
  };
  c.udata_copy = [](void* udata) -> void* { return udata; };  // shared: the File owns it
  c.udata_free = [](void*) -> herr_t { return 0; };
  c.udata = capture;
  return c;
}

// Collects HDF5's error stack as text (innermost first) and clears it.
std::string hdf5_error_stack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD,
           [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
             auto* s = static_cast<std::string*>(out);
             if (n < 3) *s += fmt::format("{}{}", s->empty() ? "" : "; ", err->desc ? err->desc : "?");
             return 0;
           },
           &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

// Mutes HDF5's automatic stderr dump once per process; errors become exception text instead.
void silence_hdf5() {
  static const bool done = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)done;
}

void close_handle(hid id) noexcept {
  if (id < 0) return;
  switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
  }
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    const size_t end = path.find('/', start);
    const std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) parts.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

// Whether an attribute's or data set's dataspace holds exactly one value (a scalar, or an array of one): every
// attribute and string signsweep reads is one, and reading a longer one into a single value would write past it.
bool holds_one_value(const Handle& space) { return space.id() >= 0 && H5Sget_simple_extent_npoints(space.id()) == 1; }
bool attribute_holds_one_value(hid attr) { return holds_one_value(Handle(H5Aget_space(attr))); }
bool dataset_holds_one_value(hid dataset) { return holds_one_value(Handle(H5Dget_space(dataset))); }

// Reads a string attribute or dataset in the type it was stored with: variable or fixed length, ASCII or
// UTF-8 (Keras writes ASCII; HDF5 refuses to convert between the two character sets).
template <typename Reader>
std::optional<std::string> read_stored_string(hid file_type, Reader read) {  // nullopt: the read failed
  const Handle mem(H5Tcopy(H5T_C_S1));
  H5Tset_cset(mem.id(), H5Tget_cset(file_type));
  if (H5Tis_variable_str(file_type) > 0) {
    H5Tset_size(mem.id(), H5T_VARIABLE);
    char* ptr = nullptr;
    if (read(mem.id(), static_cast<void*>(&ptr)) < 0) return std::nullopt;
    std::string s = ptr ? ptr : "";
    H5free_memory(ptr);
    return s;
  }
  const size_t size = H5Tget_size(file_type);
  if (size == 0 || size > static_cast<size_t>(limits::kMaxStringBytes)) return std::nullopt;
  H5Tset_size(mem.id(), size);
  std::string s(size, '\0');
  if (read(mem.id(), static_cast<void*>(s.data())) < 0) return std::nullopt;
  s.resize(std::min(s.size(), s.find('\0')));
  return s;
}

// Names 0..count-1 in name order from an HDF5 "get name by index" call (first asked for the length, then
// filled); stops early on an error, so a short result means failure.
template <typename GetName>
std::vector<std::string> names_by_index(hsize_t count, GetName get_name) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < count; ++i) {
    const ssize_t len = get_name(i, nullptr, 0);
    if (len < 0) break;
    std::string name(static_cast<size_t>(len), '\0');
    if (get_name(i, name.data(), name.size() + 1) < 0) break;
    names.push_back(std::move(name));
  }
  return names;
}

Handle string_type() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.id(), H5T_VARIABLE);
  H5Tset_cset(t.id(), H5T_CSET_UTF8);
  return t;
}

// Group creation properties that keep up to 256 attributes in the group's object header ("compact"). HDF5's
// default moves a group's attributes to "dense" storage (a fractal heap and a B-tree) past 8, and a trial's
// /trial, /trial/provenance and /trial/results each have more: reading them back through the heap was most
// of the cost of reading a trial file (status, report and resume read every one). An attribute too large for
// the header still goes to dense storage (HDF5 decides per object). Stores written before read as before.
Handle compact_attributes_group() {
  Handle p(H5Pcreate(H5P_GROUP_CREATE));
  H5Pset_attr_phase_change(p.id(), /*max_compact=*/256, /*min_dense=*/200);
  return p;
}

// A transfer property list with a 64 KiB type-conversion buffer for small reads and writes (strings,
// tables): HDF5's default buffer is 1 MiB, allocated zeroed on every converting H5Dread/H5Dwrite, which
// made a variable-length string the costliest part of writing a trial file.
hid small_transfer() {
  static const Handle dxpl = [] {
    Handle p(H5Pcreate(H5P_DATASET_XFER));
    H5Pset_buffer(p.id(), 64 * 1024, nullptr, nullptr);
    return p;
  }();
  return dxpl.id();
}

}  // namespace

Handle::~Handle() { close_handle(id_); }

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    close_handle(id_);
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

File::File(const std::string& path, OpenMode mode, size_t user_block) : path_(path), mode_(mode), user_block_(user_block) {
  silence_hdf5();
  hid id = -1;
  if (mode == OpenMode::kTruncate || mode == OpenMode::kInMemory) {
    // Object headers of the 1.8 format (readable by any HDF5 >= 1.8, h5py included): compact link and
    // attribute storage, several times faster to create for files of many small objects (results store).
    const Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    std::string name = path;
    if (mode == OpenMode::kInMemory) {
      // HDF5 tells open files apart by name: an in-memory file gets one no other open file has.
      static std::atomic<uint64_t> files{0};
      name = fmt::format("{}.in-memory-{}", path, files++);
      H5Pset_fapl_core(fapl.id(), 1 << 12, /*backing_store=*/0);
      capture_ = std::make_shared<ImageCapture>();
      H5FD_file_image_callbacks_t callbacks = image_capture_callbacks(capture_.get());
      if (H5Pset_file_image_callbacks(fapl.id(), &callbacks) < 0) fail("/", "set up an in-memory file");
    }
    const Handle fcpl(H5Pcreate(H5P_FILE_CREATE));
    if (user_block > 0 && H5Pset_userblock(fcpl.id(), user_block) < 0) fail("/", "set a user block");
    id = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, fcpl.id(), fapl.id());
  } else {
    if (!std::filesystem::exists(path)) throw DataError(fmt::format("{}: file not found", path));
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      throw DataError(fmt::format("{}: not an HDF5 file (or truncated)", path));
    }
    id = H5Fopen(path.c_str(), mode == OpenMode::kReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
  }
  if (id < 0 && (mode == OpenMode::kReadOnly || mode == OpenMode::kReadWrite))  // a file the user gave us that HDF5 cannot read: bad input
    throw DataError(fmt::format("{}: cannot open (truncated or corrupt HDF5 file): {}", path, hdf5_error_stack()));
  if (id < 0) fail("/", "create file");
  file_ = Handle(id);
}

void File::fail(const std::string& object_path, const std::string& operation) const {
  const std::string stack = hdf5_error_stack();
  const std::string message = fmt::format("{}:{}: {} failed{}{}", path_, object_path, operation, stack.empty() ? "" : ": ", stack);
  if (mode_ == OpenMode::kReadOnly) throw DataError(message);
  throw StorageError(message);
}

size_t File::checked_numel(hid space, const std::string& object_path, const std::string& what) const {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) fail(object_path, "read the shape of " + what);
  limits::check(path_ + ":" + object_path, what + " element count", n, limits::kMaxTensorElements);
  return static_cast<size_t>(n);
}

bool File::exists(const std::string& object_path) const {
  std::string prefix;
  for (const auto& part : split_path(object_path)) {
    prefix += "/" + part;
    const htri_t r = H5Lexists(file_.id(), prefix.c_str(), H5P_DEFAULT);
    if (r <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
  }
  return true;
}

std::vector<std::string> File::list(const std::string& group_path) const {
  const Handle group = open_object(group_path);
  H5G_info_t info{};
  if (H5Gget_info(group.id(), &info) < 0) fail(group_path, "list group");
  std::vector<std::string> names = names_by_index(info.nlinks, [&](hsize_t i, char* buf, size_t size) {
    return H5Lget_name_by_idx(group.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
  });
  if (names.size() != info.nlinks) fail(group_path, "list group");
  return names;
}

Handle File::open_object(const std::string& object_path) const {
  const hid id = H5Oopen(file_.id(), object_path.c_str(), H5P_DEFAULT);
  if (id < 0) fail(object_path, "open object");
  return Handle(id);
}

Handle File::ensure_parent_groups(const std::string& object_path) {
  const auto parts = split_path(object_path);
  std::string prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix += "/" + parts[i];
    if (!exists(prefix)) {
      const Handle g(H5Gcreate2(file_.id(), prefix.c_str(), H5P_DEFAULT, compact_attributes_group().id(), H5P_DEFAULT));
      if (g.id() < 0) fail(prefix, "create group");
    }
  }
  return prefix.empty() ? open_object("/") : open_object(prefix);
}

void File::write_raw(const std::string& object_path, const std::vector<int64_t>& shape, hid mem_type, const void* data,
                     hid transfer) {
  ensure_parent_groups(object_path);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  const Handle space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  hsize_t numel = 1;
  for (const hsize_t d : dims) numel *= d;
  const Handle props(H5Pcreate(H5P_DATASET_CREATE));
  if (!dims.empty() && numel >= 4096) {  // compress what is worth it; chunks of whole rows up to ~1 MiB
    std::vector<hsize_t> chunk = dims;
    hsize_t elems = numel;
    for (size_t d = 0; d < chunk.size() && elems > (1U << 18); ++d) {
      const hsize_t shrink = std::min<hsize_t>(chunk[d], (elems + (1U << 18) - 1) / (1U << 18));
      elems /= chunk[d];
      chunk[d] = std::max<hsize_t>(1, chunk[d] / shrink);
      elems *= chunk[d];
    }
    H5Pset_chunk(props.id(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(props.id(), 4);
  }
  const Handle ds(H5Dcreate2(file_.id(), object_path.c_str(), mem_type, space.id(), H5P_DEFAULT, props.id(), H5P_DEFAULT));
  if (ds.id() < 0) fail(object_path, "create dataset");
  if (H5Dwrite(ds.id(), mem_type, H5S_ALL, H5S_ALL, transfer, data) < 0) fail(object_path, "write dataset");
}

void File::write(const std::string& p, const std::vector<int64_t>& shape, const float* data) { write_raw(p, shape, H5T_NATIVE_FLOAT, data); }
void File::write(const std::string& p, const std::vector<int64_t>& shape, const double* data) { write_raw(p, shape, H5T_NATIVE_DOUBLE, data); }
void File::write(const std::string& p, const std::vector<int64_t>& shape, const int64_t* data) { write_raw(p, shape, H5T_NATIVE_INT64, data); }

void File::write_string(const std::string& object_path, const std::string& text) {
  const char* ptr = text.c_str();
  const Handle type = string_type();
  write_raw(object_path, {}, type.id(), &ptr, small_transfer());
}

void File::create_group(const std::string& group_path) {
  ensure_parent_groups(group_path + "/x");
}

void File::write_table(const std::string& object_path, const std::map<std::string, std::vector<double>>& columns,
                       int64_t chunk) {
  if (columns.empty()) throw StorageError(fmt::format("{}:{}: a table needs at least one column", path_, object_path));
  const size_t rows = columns.begin()->second.size();
  for (const auto& [name, values] : columns)
    if (values.size() != rows)
      throw StorageError(fmt::format("{}:{}: table columns differ in length ({} has {}, {} has {})", path_, object_path,
                                     columns.begin()->first, rows, name, values.size()));
  ensure_parent_groups(object_path);
  const size_t width = columns.size();
  const Handle type(H5Tcreate(H5T_COMPOUND, width * sizeof(double)));
  std::vector<double> records(rows * width);  // row-major: one record per row
  size_t field = 0;
  for (const auto& [name, values] : columns) {
    H5Tinsert(type.id(), name.c_str(), field * sizeof(double), H5T_NATIVE_DOUBLE);
    for (size_t r = 0; r < rows; ++r) records[r * width + field] = values[r];
    ++field;
  }
  const hsize_t dims[1] = {rows};
  const hsize_t max_dims[1] = {H5S_UNLIMITED};
  const hsize_t chunk_dims[1] = {static_cast<hsize_t>(std::max<int64_t>(1, chunk))};
  const Handle space(H5Screate_simple(1, dims, max_dims));
  const Handle props(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_chunk(props.id(), 1, chunk_dims);
  H5Pset_deflate(props.id(), 4);
  const Handle ds(H5Dcreate2(file_.id(), object_path.c_str(), type.id(), space.id(), H5P_DEFAULT, props.id(), H5P_DEFAULT));
  if (ds.id() < 0) fail(object_path, "create table");
  if (rows > 0 && H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, small_transfer(), records.data()) < 0)
    fail(object_path, "write table");
}

std::map<std::string, std::vector<double>> File::read_table(const std::string& object_path) const {
  const Handle ds(H5Dopen2(file_.id(), object_path.c_str(), H5P_DEFAULT));
  if (ds.id() < 0) fail(object_path, "open table");
  const Handle file_type(H5Dget_type(ds.id()));
  if (H5Tget_class(file_type.id()) != H5T_COMPOUND) fail(object_path, "read table (not a compound dataset)");
  const int width = H5Tget_nmembers(file_type.id());
  if (width < 0) fail(object_path, "read table fields");
  std::vector<std::string> names;
  for (int i = 0; i < width; ++i) {
    char* name = H5Tget_member_name(file_type.id(), static_cast<unsigned>(i));
    if (name == nullptr) fail(object_path, "read table fields");
    names.emplace_back(name);
    H5free_memory(name);
  }
  // Reads every field as a double, matched by name (HDF5 converts from the stored field types).
  const Handle mem_type(H5Tcreate(H5T_COMPOUND, std::max<size_t>(1, names.size()) * sizeof(double)));
  for (size_t i = 0; i < names.size(); ++i) H5Tinsert(mem_type.id(), names[i].c_str(), i * sizeof(double), H5T_NATIVE_DOUBLE);
  const Handle space(H5Dget_space(ds.id()));
  const size_t rows = checked_numel(space.id(), object_path, "table");
  limits::check(path_ + ":" + object_path, "table cell count",
                limits::saturated_product(static_cast<int64_t>(rows), static_cast<int64_t>(names.size())),
                limits::kMaxTensorElements);
  std::vector<double> records(rows * names.size());
  if (rows > 0 && !names.empty() && H5Dread(ds.id(), mem_type.id(), H5S_ALL, H5S_ALL, small_transfer(), records.data()) < 0)
    fail(object_path, "read table");
  std::map<std::string, std::vector<double>> columns;
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<double>& column = columns[names[i]];
    column.reserve(rows);
    for (size_t r = 0; r < rows; ++r) column.push_back(records[r * names.size() + i]);
  }
  return columns;
}

bool File::is_group(const std::string& object_path) const {
  if (object_path != "/" && !exists(object_path)) return false;
  H5O_info_t info{};
  const Handle obj = open_object(object_path);
  if (H5Oget_info2(obj.id(), &info, H5O_INFO_BASIC) < 0) fail(object_path, "get object info");
  return info.type == H5O_TYPE_GROUP;
}

void File::link_external(const std::string& link_path, const std::string& target_file, const std::string& target_object) {
  ensure_parent_groups(link_path);
  if (H5Lcreate_external(target_file.c_str(), target_object.c_str(), file_.id(), link_path.c_str(), H5P_DEFAULT,
                         H5P_DEFAULT) < 0)
    fail(link_path, "create external link to " + target_file);
}

std::vector<int64_t> File::shape(const std::string& object_path) const {
  const Handle ds(H5Dopen2(file_.id(), object_path.c_str(), H5P_DEFAULT));
  if (ds.id() < 0) fail(object_path, "open dataset");
  const Handle space(H5Dget_space(ds.id()));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) fail(object_path, "read shape");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  checked_numel(space.id(), object_path, "data set");  // callers allocate the product of these
  return {dims.begin(), dims.end()};
}

void File::read_raw(const std::string& object_path, hid mem_type, void* out, size_t numel) const {
  const Handle ds(H5Dopen2(file_.id(), object_path.c_str(), H5P_DEFAULT));
  if (ds.id() < 0) fail(object_path, "open dataset");
  const Handle space(H5Dget_space(ds.id()));
  if (static_cast<size_t>(H5Sget_simple_extent_npoints(space.id())) != numel) fail(object_path, "read (size changed)");
  if (H5Dread(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) fail(object_path, "read dataset");
}

namespace {
size_t numel_of(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (const int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}
}  // namespace

std::vector<float> File::read_floats(const std::string& p) const {
  std::vector<float> v(numel_of(shape(p)));
  read_raw(p, H5T_NATIVE_FLOAT, v.data(), v.size());
  return v;
}
std::vector<double> File::read_doubles(const std::string& p) const {
  std::vector<double> v(numel_of(shape(p)));
  read_raw(p, H5T_NATIVE_DOUBLE, v.data(), v.size());
  return v;
}
std::vector<int64_t> File::read_int64s(const std::string& p) const {
  std::vector<int64_t> v(numel_of(shape(p)));
  read_raw(p, H5T_NATIVE_INT64, v.data(), v.size());
  return v;
}

std::string File::read_string(const std::string& object_path) const {
  const Handle ds(H5Dopen2(file_.id(), object_path.c_str(), H5P_DEFAULT));
  if (ds.id() < 0) fail(object_path, "open dataset");
  const Handle type(H5Dget_type(ds.id()));
  if (H5Tget_class(type.id()) != H5T_STRING) fail(object_path, "read string (not a string dataset)");
  if (!dataset_holds_one_value(ds.id())) fail(object_path, "read string (not one string)");
  std::optional<std::string> s = read_stored_string(type.id(), [&](hid mem, void* buf) {
    return H5Dread(ds.id(), mem, H5S_ALL, H5S_ALL, small_transfer(), buf);
  });
  if (!s) fail(object_path, "read string");
  return *s;
}

namespace {
Handle open_or_replace_attribute(hid obj, const std::string& name, hid type, hid space) {
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  return Handle(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
}
}  // namespace

Handle File::open_or_create_group(const std::string& group_path) {
  if (group_path != "/" && !exists(group_path)) ensure_parent_groups(group_path + "/x");  // the group itself
  return open_object(group_path);
}

void File::write_attribute(hid obj, const std::string& object_path, const std::string& name, hid type, const void* value) {
  static const Handle scalar(H5Screate(H5S_SCALAR));  // one for the process: every attribute here is a scalar
  const Handle attr = open_or_replace_attribute(obj, name, type, scalar.id());
  if (attr.id() < 0 || H5Awrite(attr.id(), type, value) < 0) fail(object_path, "write attribute " + name);
}

void File::set_attributes(const std::string& object_path, const std::map<std::string, std::string>& values) {
  const Handle obj = open_or_create_group(object_path);
  const Handle type = string_type();
  for (const auto& [name, value] : values) {
    const char* ptr = value.c_str();
    write_attribute(obj.id(), object_path, name, type.id(), &ptr);
  }
}

void File::set_attributes(const std::string& object_path, const std::map<std::string, double>& values) {
  const Handle obj = open_or_create_group(object_path);
  for (const auto& [name, value] : values) write_attribute(obj.id(), object_path, name, H5T_NATIVE_DOUBLE, &value);
}

void File::set_attribute(const std::string& object_path, const std::string& name, const std::string& value) {
  set_attributes(object_path, std::map<std::string, std::string>{{name, value}});
}

void File::set_attribute(const std::string& object_path, const std::string& name, double value) {
  set_attributes(object_path, std::map<std::string, double>{{name, value}});
}

void File::set_attribute(const std::string& object_path, const std::string& name, int64_t value) {
  write_attribute(open_or_create_group(object_path).id(), object_path, name, H5T_NATIVE_INT64, &value);
}

bool File::has_attribute(const std::string& object_path, const std::string& name) const {
  if (!exists(object_path) && object_path != "/") return false;
  const Handle obj = open_object(object_path);
  return H5Aexists(obj.id(), name.c_str()) > 0;
}

std::vector<std::string> File::attribute_names(const std::string& object_path) const {
  const Handle obj = open_object(object_path);
  H5O_info_t info{};
  if (H5Oget_info2(obj.id(), &info, H5O_INFO_NUM_ATTRS) < 0) fail(object_path, "list attributes");
  std::vector<std::string> names = names_by_index(info.num_attrs, [&](hsize_t i, char* buf, size_t size) {
    return H5Aget_name_by_idx(obj.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
  });
  if (names.size() != info.num_attrs) fail(object_path, "list attributes");
  return names;
}

std::string File::string_attribute_of(hid obj, const std::string& object_path, const std::string& name) const {
  const Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (attr.id() < 0) fail(object_path, "open attribute " + name);
  const Handle type(H5Aget_type(attr.id()));
  if (H5Tget_class(type.id()) != H5T_STRING) fail(object_path, "read attribute " + name + " (not a string)");
  if (!attribute_holds_one_value(attr.id())) fail(object_path, "read attribute " + name + " (not one string)");
  std::optional<std::string> s = read_stored_string(type.id(), [&](hid mem, void* buf) { return H5Aread(attr.id(), mem, buf); });
  if (!s) fail(object_path, "read attribute " + name);
  return *s;
}

double File::double_attribute_of(hid obj, const std::string& object_path, const std::string& name) const {
  const Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  double v = 0;
  if (attr.id() < 0 || !attribute_holds_one_value(attr.id()) || H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &v) < 0)
    fail(object_path, "read attribute " + name + " (one number)");
  return v;
}

std::string File::string_attribute(const std::string& object_path, const std::string& name) const {
  return string_attribute_of(open_object(object_path).id(), object_path, name);
}

double File::double_attribute(const std::string& object_path, const std::string& name) const {
  return double_attribute_of(open_object(object_path).id(), object_path, name);
}

namespace {
// Calls visit(name, attribute) for every attribute of `obj`, in name order, each opened once. One H5Aiterate2
// pass: opening attribute i by index (H5Aopen_by_idx) rebuilds and sorts the object's whole attribute table on
// every call, which made reading a trial's ~40 attributes quadratic (most of `status`'s time on a large store).
template <typename Visit>
bool for_each_attribute(hid obj, Visit visit) {
  struct Context {
    Visit* visit;
    bool ok = true;
  } context{&visit};
  const auto callback = [](hid location, const char* name, const H5A_info_t*, void* data) -> herr_t {
    auto* c = static_cast<Context*>(data);
    const Handle attr(H5Aopen(location, name, H5P_DEFAULT));
    c->ok = attr.id() >= 0 && (*c->visit)(std::string(name), attr.id());
    return c->ok ? 0 : 1;  // non-zero stops the iteration
  };
  hsize_t position = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &position, callback, &context) < 0) return false;
  return context.ok;
}
}  // namespace

std::map<std::string, std::string> File::string_attributes(const std::string& object_path) const {
  std::map<std::string, std::string> out;
  if (object_path != "/" && !exists(object_path)) return out;
  const Handle obj = open_object(object_path);
  const bool ok = for_each_attribute(obj.id(), [&](const std::string& name, hid attr) {
    const Handle type(H5Aget_type(attr));
    if (H5Tget_class(type.id()) != H5T_STRING) return true;  // not a string: not asked for
    if (!attribute_holds_one_value(attr)) return false;
    std::optional<std::string> s = read_stored_string(type.id(), [&](hid mem, void* buf) { return H5Aread(attr, mem, buf); });
    if (s) out[name] = std::move(*s);
    return s.has_value();
  });
  if (!ok) fail(object_path, "read attributes");
  return out;
}

std::map<std::string, double> File::double_attributes(const std::string& object_path) const {
  std::map<std::string, double> out;
  if (object_path != "/" && !exists(object_path)) return out;
  const Handle obj = open_object(object_path);
  const bool ok = for_each_attribute(obj.id(), [&](const std::string& name, hid attr) {
    return attribute_holds_one_value(attr) && H5Aread(attr, H5T_NATIVE_DOUBLE, &out[name]) >= 0;
  });
  if (!ok) fail(object_path, "read attributes");
  return out;
}

int64_t File::int_attribute(const std::string& object_path, const std::string& name) const {
  const Handle obj = open_object(object_path);
  const Handle attr(H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT));
  int64_t v = 0;
  if (attr.id() < 0 || !attribute_holds_one_value(attr.id()) || H5Aread(attr.id(), H5T_NATIVE_INT64, &v) < 0)
    fail(object_path, "read attribute " + name + " (one integer)");
  return v;
}

std::string File::close_into_image() {
  if (!capture_) throw StorageError(fmt::format("{}: not an in-memory file", path_));
  // The image as HDF5 leaves it at close: H5Fget_file_image on an open file has the superblock of a file still
  // open for writing (its checksum does not verify once the 1.8 format's flags are cleared).
  if (H5Fclose(file_.release()) < 0) fail("/", "close the in-memory file");
  if (!capture_->closed) throw StorageError(fmt::format("{}: the in-memory file left no image at close", path_));
  std::string image = std::move(capture_->image);
  image.resize(std::min(image.size(), end_of_file(image, user_block_)));
  return image;
}

void write_atomically(const std::string& path, const std::function<void(File&)>& fill, bool durable, bool sealed) {
  std::string bytes;
  {
    File f(path, OpenMode::kInMemory, sealed ? kSealSize : 0);
    fill(f);
    bytes = f.close_into_image();
  }
  if (sealed) seal_in_place(bytes);
  write_file_atomically(path, bytes, durable);
}

}  // namespace signsweep::storage
