// civetweb (prometheus-cpp's exporter) creates its threads with a 100 KiB stack; glibc carves every loaded
// library's thread-local storage out of it, and with LibTorch's dependencies (OpenBLAS where installed; the
// CUDA libraries of PyTorch's 2.x wheel) thread creation fails ("null context when constructing
// CivetServer"). Every stack size asked for in a process that links this object gets a floor of 1 MiB.
// Linked as an object into every executable that can start the exporter (signsweep, metrics_tests) and
// exported from it (orchestrator/CMakeLists.txt) so that it interposes libc's.
#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>

extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) {
  using Fn = int (*)(pthread_attr_t*, size_t);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  return real(attr, std::max<size_t>(size, 1U << 20));
}
