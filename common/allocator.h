// Process-wide malloc settings for tensor workloads. LibTorch's CPU allocator takes its buffers from
// glibc malloc, which by default serves every block above 128 KiB-32 MiB with a fresh mmap and returns
// it with munmap on free: a training or inference loop then page-faults its activations in again on every
// step. Measured here (CPU, 2 cores): verifying the released ResNet-20 on CIFAR-10 spent 16 of 24 s in
// the kernel; with these settings 1.8 of 17 s.
#pragma once

namespace signsweep::common {

// Serve large blocks from the heap (no mmap) and keep up to 1 GiB of freed memory for reuse.
// Call once at the start of main, before any allocation of note.
void keep_freed_memory_for_reuse();

}  // namespace signsweep::common
