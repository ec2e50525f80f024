/* wscp-memload: holds N MiB of pseudo-random memory and keeps proving it.
 *
 * The memory is filled from a seed taken at start-up (time and pid), and its
 * checksum is recorded. Every round the whole region is read again and the
 * checksum compared. The status line carries the seed-derived expected
 * checksum: a process restored with its memory intact reports the same
 * expected value as before the checkpoint with ok=1; a restarted process
 * reports another one.
 *
 * usage: wscp-memload MIB [STATUS_FILE] [INTERVAL_MS]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "status_file.h"
#include "xorshift.h"

static uint64_t checksum(const uint64_t *words, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ words[i]) * 1099511628211ULL;
  return h;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: wscp-memload MIB [STATUS_FILE] [INTERVAL_MS]\n", stderr);
    return 2;
  }
  size_t mib = strtoul(argv[1], NULL, 10);
  const char *path = argc > 2 ? argv[2] : "/memload";
  long interval_ms = argc > 3 ? atol(argv[3]) : 500;
  if (mib == 0 || interval_ms <= 0) {
    fputs("wscp-memload: MIB and INTERVAL_MS must be positive\n", stderr);
    return 2;
  }
  size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
  uint64_t *words = malloc(n * sizeof(uint64_t));
  if (!words) {
    perror("malloc");
    return 1;
  }
  uint64_t seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ULL;
  uint64_t state = seed;
  for (size_t i = 0; i < n; ++i) words[i] = xorshift64(&state);
  const uint64_t expected = checksum(words, n);

  struct timespec tick = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
  char line[256];
  for (unsigned long long round = 0;; ++round) {
    uint64_t actual = checksum(words, n);
    snprintf(line, sizeof line, "mib=%zu expected=%016llx actual=%016llx round=%llu ok=%d\n", mib,
             (unsigned long long)expected, (unsigned long long)actual, round, actual == expected);
    if (publish_status(path, line) != 0) perror(path);
    nanosleep(&tick, NULL);
  }
}
