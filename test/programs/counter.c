/* wscp-counter: counts in memory and publishes the count to a file.
 *
 * The count lives only in process memory (the file is never read back), so
 * after a restore the published count continues only if the memory survived;
 * a process that restarted would begin again at zero.
 *
 * With LOCK_FILE it also holds an exclusive flock on that file the whole
 * time, which CRIU dumps only when asked to (fileLocks).
 *
 * usage: wscp-counter [STATUS_FILE] [INTERVAL_MS] [LOCK_FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>

#include "status_file.h"

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/count";
  long interval_ms = argc > 2 ? atol(argv[2]) : 100;
  if (interval_ms <= 0) interval_ms = 100;
  if (argc > 3) {
    int lock = open(argv[3], O_RDWR | O_CREAT, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
      perror(argv[3]);
      return 1;
    }
  }
  struct timespec tick = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
  char line[64];
  for (unsigned long long count = 0;; ++count) {
    snprintf(line, sizeof line, "%llu\n", count);
    if (publish_status(path, line) != 0) perror(path);
    fputs(line, stdout);
    fflush(stdout);
    nanosleep(&tick, NULL);
  }
}
