/* Linked into every executable of the sanitizer builds only (CMakeLists.txt, SIGNSWEEP_SANITIZE).
 * LeakSanitizer reports at exit, after Open MPI's MPI_Finalize has dlclose'd its components (mca_*.so): a leak
 * allocated in one then shows only "<unknown module>" frames, which no suppression can name, and third-party
 * leaks could not be told from signsweep's. This dlclose keeps every module mapped (as RTLD_NODELETE would);
 * the executable exports it (--export-dynamic-symbol) so that it interposes libc's for every library. */
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
