#include "common/large_buffers.h"

#include <malloc.h>

namespace wscp {

void return_large_buffers_to_the_system() {
  // Setting the threshold also turns off glibc's dynamic adjustment of it.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

}  // namespace wscp
