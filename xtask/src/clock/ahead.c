/*
 * dotdir clock-ahead shim (LD_PRELOAD), built at run time by `cargo xtask ci`.
 *
 * Moves the wall clock DOTDIR_CLOCK_AHEAD_SECONDS ahead in clock_gettime (CLOCK_REALTIME and
 * its coarse and TAI variants), gettimeofday and time. The monotonic clocks, and the file times
 * the kernel stamps, are left alone: a file written now looks years old to a process reading
 * the shifted clock, which is what a forward clock step (laptop resume, NTP) does to a running
 * program.
 *
 * It keeps no state shared between processes. libfaketime, which it replaces here, shares a
 * semaphore between a process and its children: a child SIGKILLed while holding it (the crash
 * tests kill children all the time) hangs every other process of the run.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long offset = 0;

__attribute__((constructor)) static void dotdir_clock_init(void) {
    const char *s = getenv("DOTDIR_CLOCK_AHEAD_SECONDS");
    offset = s ? atol(s) : 0;
}

/* glibc declares the pointers non-null; a caller may still pass NULL (a tz-only call). */
static int present(const void *pointer) { return pointer != NULL; }

static int is_wall(clockid_t clock) {
    return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *) = NULL;
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int result = real(clock, ts);
    if (result == 0 && present(ts) && is_wall(clock)) ts->tv_sec += offset;
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    static int (*real)(struct timeval *, void *) = NULL;
    if (!real) real = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
    int result = real(tv, tz);
    if (result == 0 && present(tv)) tv->tv_sec += offset;
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
