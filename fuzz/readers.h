// Every reader of input that signsweep did not write itself, fed from one buffer of bytes: what each fuzz
// target (fuzz/fuzz_target.cc) runs, and what the regression test of each finding (tests/unit/fuzz_findings_test.cc)
// runs again in the normal suite. A reader keeps one rule on any input: it returns, or it refuses the input
// with its own error (InputError naming the file; ProtocolError for a message between ranks). Anything else
// (another exception, a crash, a sanitizer report, a hang, an oversized allocation) is a finding.
// Inputs that several files make up (IDX images and labels; an image folder's options and image) are framed
// as a 4-byte little-endian length, that many bytes, then the rest.
// Thread-safety: one input at a time per process (the files go to one scratch folder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace signsweep::fuzz {

// A reader: reads the input's bytes (written to files where the reader takes files), and returns or throws.
using Reader = void (*)(const std::string& input);
using Readers = std::map<std::string, Reader>;

// The readers signsweep::storage holds: npy, keras_hdf5, keras_config, checkpoint, store_index, store_trial
// (fuzz/storage_readers.cc). Apart from the others so that their fuzz targets link signsweep::storage alone:
// a target that links LibTorch and Open MPI takes 0.9 s to start (README), and a fork-mode run restarts after
// every finding, which for the HDF5-backed targets (HDF5's own faults, README) is every few seconds.
const Readers& storage_readers();

// Every reader: storage_readers() and idx, cifar10_binary, svhn_mat, image_folder, trial_yaml, sweep_yaml,
// messages (fuzz/readers.cc; links signsweep::orchestrator, so LibTorch).
const Readers& all_readers();
const std::vector<std::string>& reader_names();  // of all_readers()

// Runs reader `name` of `readers` on the input: nullopt when it accepted the input, else the message it
// refused it with. Any other outcome propagates (an exception of another type) or ends the process (a
// sanitizer's report).
std::optional<std::string> read_input(const Readers& readers, const std::string& name, const uint8_t* data, size_t size);
std::optional<std::string> read_input(const std::string& name, const uint8_t* data, size_t size);  // all_readers()

// A folder of this process under /dev/shm (or TMPDIR), emptied at every input and removed at exit.
const std::filesystem::path& scratch_dir();

// Two inputs framed as one: a 4-byte little-endian length, `first`, then `rest`; and back (a short input gives
// an empty first part).
std::vector<uint8_t> framed(const std::vector<uint8_t>& first, const std::vector<uint8_t>& rest);
std::pair<std::string, std::string> unframe(const std::string& input);

// For the readers: writes `bytes` to scratch_dir()/relative (parent folders made) and returns its path.
std::string write_input(const std::string& relative, const std::string& bytes);

}  // namespace signsweep::fuzz
