// Keeps freed memory in the process for the next allocation instead of returning it to the system.
//
// A training step allocates and frees the same large activations (8 MB each at the default sizes)
// every step. glibc's defaults give blocks above a moving threshold their own mapping and return
// the top of the heap to the system once more than twice that is free, so each step faults fresh
// zeroed pages in again: 390,000 page faults in 40 reach2d training steps, and about 10% of the
// step's time (docs/performance.md). Called once at the start of a binary's main(); a library
// never calls it (the allocator belongs to the application).
#pragma once

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace jepa_mpc::util {

inline void KeepFreedMemory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks up to 32 MiB from the heap (glibc's maximum)
  mallopt(M_TRIM_THRESHOLD, 512 << 20);  // return the heap's top only past 512 MiB free
#endif
}

}  // namespace jepa_mpc::util
