// The kernel's floor under collect.bench.mjs's container figure: the same cgroup files, kept open,
// read with one pread each every 15 ms (as the bench spaces its collections), timed per batch. No
// JavaScript, no parsing: what any reader of these files pays on this machine.
//
//   gcc -O2 -o /tmp/cgroup-floor packages/host/bench/cgroup-floor.c
//   FILES=/sys/fs/cgroup/memory/b/memory.stat,/sys/fs/cgroup/memory/b/memory.usage_in_bytes,... /tmp/cgroup-floor
//
// Run it in the same limited cgroup as the bench (its header says how); RESULTS.md "Container
// collection" lists the files the container group reads under cgroup v1.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 400
#define WARMUP 30

static double micros(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int ascending(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  const char *list = getenv("FILES");
  if (!list) {
    fprintf(stderr, "FILES: a comma-separated list of files to read\n");
    return 2;
  }
  char *names = strdup(list);
  int fds[64], n = 0;
  for (char *p = strtok(names, ","); p && n < 64; p = strtok(NULL, ",")) {
    if ((fds[n] = open(p, O_RDONLY)) < 0) {
      perror(p);
      return 1;
    }
    n++;
  }
  static char buf[65536];
  static double took[ROUNDS];
  for (int i = 0; i < WARMUP + ROUNDS; i++) {
    usleep(15000);
    double start = micros();
    for (int k = 0; k < n; k++) pread(fds[k], buf, sizeof buf, 0);
    if (i >= WARMUP) took[i - WARMUP] = micros() - start;
  }
  qsort(took, ROUNDS, sizeof took[0], ascending);
  printf("%d files, one batch every 15 ms: median %.1f us, p25 %.1f, p75 %.1f\n", n, took[ROUNDS / 2], took[ROUNDS / 4], took[3 * ROUNDS / 4]);
  return 0;
}
