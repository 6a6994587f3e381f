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
#include <optional>
#include <string>
#include <vector>

namespace signsweep::fuzz {

// The readers by name: idx, cifar10_binary, svhn_mat, image_folder, npy, keras_hdf5, keras_config, checkpoint,
// store_index, store_trial, trial_yaml, sweep_yaml, messages.
const std::vector<std::string>& reader_names();

// Runs reader `name` on the input: nullopt when it accepted the input, else the message it refused it with.
// Any other outcome propagates (an exception of another type) or ends the process (a sanitizer's report).
std::optional<std::string> read_input(const std::string& name, const uint8_t* data, size_t size);

// A folder of this process under /dev/shm (or TMPDIR), emptied at every input and removed at exit.
const std::filesystem::path& scratch_dir();

// Two inputs framed as one: a 4-byte little-endian length, `first`, then `rest`.
std::vector<uint8_t> framed(const std::vector<uint8_t>& first, const std::vector<uint8_t>& rest);

}  // namespace signsweep::fuzz
