#pragma once

namespace wscp {

// Makes every allocation of 1 MiB or more its own mapping, returned to the
// system when freed. glibc raises its mmap threshold after the first large
// free (up to 32 MiB), after which segment-sized buffers come from the
// per-thread arenas and stay there: a 1 GiB download then peaked 20-50 MiB
// above the transfer's memory bound, varying from run to run. Call once at
// start, before threads.
void return_large_buffers_to_the_system();

}  // namespace wscp
