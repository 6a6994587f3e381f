#include "common/allocator.h"

#include <malloc.h>

namespace signsweep::common {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace signsweep::common
