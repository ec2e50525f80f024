/* wscp-tcppair: one loopback TCP connection kept busy inside one process.
 *
 * A listener and a client in the same process exchange sequence numbers over
 * a single connection. Any failure (reset, EOF, timeout, wrong reply) counts
 * as a break and a new connection is made. The status line reports how many
 * connections were ever made and how many breaks were seen, so a migration
 * that kept the established connection shows connections=1 breaks=0.
 *
 * usage: wscp-tcppair [PORT] [STATUS_FILE] [INTERVAL_MS]
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "status_file.h"

static int set_timeouts(int fd) {
  struct timeval tv = {5, 0};
  return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) |
         setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int full_io(int fd, void *buf, size_t len, int sending) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = sending ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Connects a fresh client to the listener; returns 0 and both ends. */
static int connect_pair(int listener, const struct sockaddr_in *addr, int *client, int *server) {
  *client = socket(AF_INET, SOCK_STREAM, 0);
  if (*client < 0) return -1;
  if (connect(*client, (const struct sockaddr *)addr, sizeof *addr) != 0) {
    close(*client);
    return -1;
  }
  *server = accept(listener, NULL, NULL);
  if (*server < 0) {
    close(*client);
    return -1;
  }
  set_timeouts(*client);
  set_timeouts(*server);
  return 0;
}

/* One round trip: client sends seq, server answers seq + 1. */
static int exchange(int client, int server, uint64_t seq) {
  uint64_t got = 0, reply = 0;
  if (full_io(client, &seq, sizeof seq, 1) || full_io(server, &got, sizeof got, 0)) return -1;
  if (got != seq) return -1;
  reply = got + 1;
  if (full_io(server, &reply, sizeof reply, 1) || full_io(client, &got, sizeof got, 0)) return -1;
  return got == seq + 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7070;
  const char *path = argc > 2 ? argv[2] : "/tcppair";
  long interval_ms = argc > 3 ? atol(argv[3]) : 100;
  if (interval_ms <= 0) interval_ms = 100;

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 4) != 0) {
    perror("listen");
    return 1;
  }

  struct timespec tick = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
  unsigned long long connections = 0, breaks = 0, exchanges = 0;
  int client = -1, server = -1;
  char line[160];
  for (uint64_t seq = 1;; seq += 2) {
    if (client < 0) {
      if (connect_pair(listener, &addr, &client, &server) != 0) {
        nanosleep(&tick, NULL);
        continue;
      }
      ++connections;
    }
    if (exchange(client, server, seq) == 0) {
      ++exchanges;
    } else {
      ++breaks;
      close(client);
      close(server);
      client = server = -1;
    }
    snprintf(line, sizeof line, "connections=%llu breaks=%llu exchanges=%llu\n", connections, breaks,
             exchanges);
    if (publish_status(path, line) != 0) perror(path);
    nanosleep(&tick, NULL);
  }
}
