// A thin RAII layer over the HDF5 C API, shaped like HighFive: a move-only handle owns each hid_t and
// closes it without throwing; every C call is checked once and failures throw StorageError naming the
// file, the object path and the operation, with HDF5's own error stack as the detail (its automatic
// stderr dump is muted). Groups on a path are created as needed. HDF5-free header.
// Thread-safety: HDF5 (serial build) is not thread-safe; use files from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace signsweep::storage {

using hid = int64_t;  // hid_t without <hdf5.h>

class Handle {
 public:
  Handle() = default;
  explicit Handle(hid id) : id_(id) {}
  ~Handle();
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid id() const { return id_; }
  // Gives up the id without closing it (the caller closes it).
  hid release() {
    const hid id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid id_ = -1;
};

// kInMemory: a new file held in memory (HDF5's core driver, no backing store) whose bytes image() returns;
// `path` only names it in messages. Writing it can only fail for memory, never for the disk.
enum class OpenMode { kReadOnly, kReadWrite, kTruncate, kInMemory };

class File {
 public:
  // `user_block`: bytes HDF5 leaves to the application at the start of a new file (0, or a power of 2 >= 512).
  File(const std::string& path, OpenMode mode, size_t user_block = 0);
  const std::string& path() const { return path_; }
  // Closes a kInMemory file and returns its bytes: the image HDF5 leaves at close (superblock final, checksums
  // right), exactly what a file on disk would hold. The File is unusable after.
  std::string close_into_image();

  bool exists(const std::string& object_path) const;
  void create_group(const std::string& group_path);  // with its parents; no-op when it exists
  std::vector<std::string> list(const std::string& group_path) const;  // member names

  // Datasets: row-major data of `shape` (numel must match), gzip-compressed when large.
  void write(const std::string& object_path, const std::vector<int64_t>& shape, const float* data);
  void write(const std::string& object_path, const std::vector<int64_t>& shape, const double* data);
  void write(const std::string& object_path, const std::vector<int64_t>& shape, const int64_t* data);
  void write_string(const std::string& object_path, const std::string& text);
  // A table of equally long float64 columns as one 1-D dataset of records (a compound type, one field per
  // column, in name order): chunked (`chunk` records per chunk, set explicitly), resizable (unlimited
  // maximum), gzip level 4. h5py reads it as a structured array (ds["loss"], pandas.DataFrame(ds[()])).
  // One dataset, not one per column: a chunked gzip dataset costs ~0.1 ms to create and close, most of a
  // small trial file's write time. StorageError when the columns differ in length.
  void write_table(const std::string& object_path, const std::map<std::string, std::vector<double>>& columns,
                   int64_t chunk = 256);
  // Every field of a 1-D compound dataset, converted to double.
  std::map<std::string, std::vector<double>> read_table(const std::string& object_path) const;
  bool is_group(const std::string& object_path) const;
  // A soft link to `target_object` in another file (HDF5 external link, resolved relative to this file).
  void link_external(const std::string& link_path, const std::string& target_file, const std::string& target_object);
  std::vector<int64_t> shape(const std::string& object_path) const;
  std::vector<float> read_floats(const std::string& object_path) const;  // converts from any float type
  std::vector<double> read_doubles(const std::string& object_path) const;
  std::vector<int64_t> read_int64s(const std::string& object_path) const;
  std::string read_string(const std::string& object_path) const;

  // Attributes on the object at `object_path` ("/" for the file).
  void set_attribute(const std::string& object_path, const std::string& name, const std::string& value);
  void set_attribute(const std::string& object_path, const std::string& name, double value);
  void set_attribute(const std::string& object_path, const std::string& name, int64_t value);
  // Many attributes on one object (created with its parent groups when absent), opened once.
  void set_attributes(const std::string& object_path, const std::map<std::string, std::string>& values);
  void set_attributes(const std::string& object_path, const std::map<std::string, double>& values);
  bool has_attribute(const std::string& object_path, const std::string& name) const;
  std::vector<std::string> attribute_names(const std::string& object_path) const;
  std::string string_attribute(const std::string& object_path, const std::string& name) const;
  double double_attribute(const std::string& object_path, const std::string& name) const;
  int64_t int_attribute(const std::string& object_path, const std::string& name) const;
  // Every string attribute of the object / every attribute read as a double (empty when the object does
  // not exist).
  std::map<std::string, std::string> string_attributes(const std::string& object_path) const;
  std::map<std::string, double> double_attributes(const std::string& object_path) const;

 private:
  Handle ensure_parent_groups(const std::string& object_path);
  Handle open_object(const std::string& object_path) const;
  void write_raw(const std::string& object_path, const std::vector<int64_t>& shape, hid mem_type, const void* data,
                 hid transfer = 0 /* H5P_DEFAULT */);
  void read_raw(const std::string& object_path, hid mem_type, void* out, size_t numel) const;
  // A scalar attribute on the open object `obj` (replaced when it exists); `object_path` names it in errors.
  void write_attribute(hid obj, const std::string& object_path, const std::string& name, hid type, const void* value);
  Handle open_or_create_group(const std::string& group_path);
  std::string string_attribute_of(hid obj, const std::string& object_path, const std::string& name) const;
  double double_attribute_of(hid obj, const std::string& object_path, const std::string& name) const;
  // What failed, with HDF5's error stack: a DataError for a file opened read-only (a file someone gave us:
  // bad input, exit 2), a StorageError for one signsweep writes.
  [[noreturn]] void fail(const std::string& object_path, const std::string& operation) const;
  // The element count of a data set's or attribute's dataspace, within common/limits.h's kMaxTensorElements.
  size_t checked_numel(hid space, const std::string& object_path, const std::string& what) const;

  std::string path_;
  OpenMode mode_;
  // kInMemory: where the image lands at close. Declared before file_: it must outlive the handle, whose close
  // (also when a fill throws) frees the buffer through it.
  std::shared_ptr<struct ImageCapture> capture_;
  size_t user_block_ = 0;
  Handle file_;
};

// Writes an HDF5 file atomically: `fill` builds it in memory, and its bytes replace `path` through
// write_file_atomically (atomic_file.h: checked writes, fsync unless `durable` is false, rename). A full disk
// or a read-only filesystem is a WriteError naming the path and the reason, and HDF5 never holds a file
// whose write failed. `sealed`: the file carries the SHA-256 of its content in its user block (sealed_file.h).
void write_atomically(const std::string& path, const std::function<void(File&)>& fill, bool durable = true,
                      bool sealed = false);

}  // namespace signsweep::storage
