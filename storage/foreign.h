// Model files signsweep did not write (a suspect's checkpoint, the GradSigns reference's Keras file), read so
// that a crafted one cannot take signsweep down: HDF5 1.10.8 itself crashes, loops without end or allocates
// what a corrupt length says on some files (fuzz/known/hdf5-1.10.8/), before any check of ours can run.
// A child process (common/isolated.h) reads the file with the ordinary reader (load_checkpoint,
// read_keras_model) and writes what it read with signsweep's own writer into a private temporary folder;
// this process then reads only that copy. So the foreign bytes are parsed only in the child, and its crash,
// time-out or excess memory is a DataError naming the file (exit 2). The copy costs one more write and read
// of the model: a few milliseconds for ResNet-20.
// Thread-safety: call from one thread (HDF5 is used from one thread; fork copies only the calling thread).
#pragma once

#include <string>

#include "common/isolated.h"
#include "storage/checkpoint.h"
#include "storage/keras.h"

namespace signsweep::storage {

// The child's limits for `path`: 120 s, and 4 GiB of memory plus 8 times the file's size.
common::IsolationLimits foreign_read_limits(const std::string& path);

// What `signsweep status`, `report` and `export` read of a store runs in a child as well (common::run_isolated_for,
// the text coming back): a store can come from elsewhere (a collaborator's run, an archive), and its HDF5 files
// meet the same HDF5. Its limits: 600 s, and 4 GiB of memory plus 8 times the bytes of the store's files.
common::IsolationLimits store_read_limits(const std::string& store_dir);

Checkpoint load_foreign_checkpoint(const std::string& path);
Checkpoint load_foreign_checkpoint(const std::string& path, const common::IsolationLimits& limits);
KerasModel read_foreign_keras_model(const std::string& path);
KerasModel read_foreign_keras_model(const std::string& path, const common::IsolationLimits& limits);

}  // namespace signsweep::storage
