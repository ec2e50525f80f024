/* Writes a small status file atomically (write a temporary, then rename), so
 * a reader outside the container never sees a half-written line. */
#ifndef WSCP_TEST_STATUS_FILE_H
#define WSCP_TEST_STATUS_FILE_H

#include <stdio.h>

static inline int publish_status(const char *path, const char *line) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  FILE *f = fopen(tmp, "w");
  if (!f) return -1;
  int ok = fputs(line, f) >= 0;
  ok = (fclose(f) == 0) && ok;
  return ok ? rename(tmp, path) : -1;
}

#endif
