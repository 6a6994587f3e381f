// The signsweep executable: everything happens in run_cli.
#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>

#include "common/allocator.h"
#include "orchestrator/cli.h"

// civetweb (prometheus-cpp's exporter) creates its threads with a 100 KiB stack; glibc carves every loaded
// library's thread-local storage out of it, and with LibTorch's dependencies (OpenBLAS where installed)
// thread creation fails ("null context when constructing CivetServer"). Every stack size asked for in this
// process gets a floor of 1 MiB. Exported from the executable (see CMakeLists.txt) so it interposes libc's.
extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) {
  using Fn = int (*)(pthread_attr_t*, size_t);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  return real(attr, std::max<size_t>(size, 1U << 20));
}

int main(int argc, char** argv) {
  signsweep::common::keep_freed_memory_for_reuse();
  return signsweep::orchestrator::run_cli(argc, argv);
}
