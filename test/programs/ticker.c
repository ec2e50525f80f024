/* wscp-ticker: holds N MiB of memory and records the wall clock every tick.
 *
 * For measuring a workspace's downtime across a migration: every
 * INTERVAL_MS it appends the wall-clock time in milliseconds to TICK_FILE
 * (inside the container, so the file moves with the workspace). The largest
 * gap between two lines is how long the process was frozen or absent; two
 * nodes on one machine share one clock.
 *
 * KIND shapes the memory:
 *   random    incompressible (like encrypted or compressed data)
 *   realistic like a language server's heap: a third zero pages, half
 *             source-like text, the rest pseudo-random
 * Once the memory is filled the status file reads "ready".
 *
 * usage: wscp-ticker MIB KIND TICK_FILE [INTERVAL_MS] [STATUS_FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "status_file.h"
#include "xorshift.h"

static void fill_random(unsigned char *p, size_t n, uint64_t *seed) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = xorshift64(seed);
    memcpy(p + i, &v, 8);
  }
}

/* Source-like text: identifiers and punctuation drawn from a small vocabulary. */
static void fill_text(unsigned char *p, size_t n, uint64_t *seed) {
  static const char *words[] = {"const ", "auto ", "return ", "if (", "for (", "std::string ", "result", "node",
                                "workspace", "->", ".size()", " = ", ";\n", "  ", "{\n", "}\n", "(", ")", "0",
                                "1", "checkpoint", "error", "value", "// ", "namespace ", "int ", "&", "*"};
  const size_t count = sizeof words / sizeof words[0];
  size_t i = 0;
  while (i < n) {
    const char *w = words[xorshift64(seed) % count];
    size_t len = strlen(w);
    if (len > n - i) len = n - i;
    memcpy(p + i, w, len);
    i += len;
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fputs("usage: wscp-ticker MIB KIND TICK_FILE [INTERVAL_MS] [STATUS_FILE]\n", stderr);
    return 2;
  }
  const size_t mib = strtoul(argv[1], NULL, 10);
  const int realistic = strcmp(argv[2], "realistic") == 0;
  if (!realistic && strcmp(argv[2], "random") != 0) {
    fputs("wscp-ticker: KIND is random or realistic\n", stderr);
    return 2;
  }
  long interval_ms = argc > 4 ? atol(argv[4]) : 10;
  if (interval_ms <= 0) interval_ms = 10;
  const char *status = argc > 5 ? argv[5] : "/var/wscp/ticker";

  const size_t page = 4096, size = mib << 20;
  unsigned char *mem = malloc(size ? size : 1);
  if (!mem) {
    perror("malloc");
    return 1;
  }
  uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
  for (size_t off = 0; off < size; off += page) {
    unsigned r = (unsigned)(xorshift64(&seed) % 6);
    if (!realistic || r >= 5) {
      fill_random(mem + off, page, &seed);
    } else if (r >= 2) {
      fill_text(mem + off, page, &seed);
    } else {
      memset(mem + off, 0, page);  /* touched, so it is resident (and dumped) */
    }
  }
  publish_status(status, "ready\n");

  int out = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) {
    perror(argv[3]);
    return 1;
  }
  struct timespec tick = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
  char line[32];
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int len = snprintf(line, sizeof line, "%lld\n", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    if (write(out, line, (size_t)len) != len) perror("write");
    nanosleep(&tick, NULL);
  }
}
