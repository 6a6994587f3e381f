// A structural check of a MATLAB v5 file before libmatio reads it. matio allocates what element headers say
// (a dimension list of a billion entries, a variable name of gigabytes) without comparing it to the file, so
// a crafted .mat file made it allocate gigabytes (found by fuzz/readers.h's svhn_mat fuzzer). This walks the
// top-level elements and the headers of every variable (array flags, dimensions, name; inflating the first
// bytes of compressed ones) and refuses, with a DataError naming the file and offset, anything that claims
// more than its file or enclosing element holds (elements included: matio allocates the dimensions' product),
// more dimensions or longer names than MATLAB writes, or a variable that is not a numeric array (cells,
// structs and objects make matio recurse through more headers).
// Torch-free. Thread-safety: a pure function of the file.
#pragma once

#include <string>

namespace signsweep::workers {

void check_mat_v5_headers(const std::string& path);

}  // namespace signsweep::workers
