/*
 * dotdir fault-injection shim (LD_PRELOAD), built at run time by `cargo xtask faults`.
 *
 * Intercepts the libc calls a write path makes (open/openat and their 64 and fortify variants,
 * creat, write/pwrite/writev, fsync/fdatasync, fchmod, rename/renameat/renameat2, mkdir/mkdirat,
 * link/linkat, symlink/symlinkat, unlink/unlinkat) and, once armed, makes the k-th intercepted
 * call fail with a chosen errno without doing anything.
 *
 * Environment:
 *   DOTDIR_FAULT_K       the call to fail, counted from 1 after arming; 0 = never fail
 *   DOTDIR_FAULT_ERRNO   the errno number (ENOSPC 28, EIO 5, EACCES 13); a negative number -s
 *                        kills the process with signal s instead (-9: a crash just before
 *                        the call)
 *   DOTDIR_FAULT_REPORT  a file the shim appends its report lines to
 *   DOTDIR_FAULT_TRACE   when set, every counted call is reported
 *
 * The process arms and disarms the shim by opening the magic paths "/dotdir-fault/arm" and
 * "/dotdir-fault/disarm" (which fail with ENOENT and are not counted), so the program needs no
 * FFI. Writes to descriptors 0-2 are never counted. Reports use raw syscalls, never the
 * intercepted functions.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long target_k = 0;
static int fault_errno = ENOSPC;
static const char *report_path = NULL;
static int trace = 0;
static volatile int armed = 0;
static long count = 0;

__attribute__((constructor)) static void dotdir_fault_init(void) {
    const char *k = getenv("DOTDIR_FAULT_K");
    const char *e = getenv("DOTDIR_FAULT_ERRNO");
    target_k = k ? atol(k) : 0;
    fault_errno = e ? atoi(e) : ENOSPC;
    report_path = getenv("DOTDIR_FAULT_REPORT");
    trace = getenv("DOTDIR_FAULT_TRACE") != NULL;
}

static void report(const char *line) {
    if (!report_path) return;
    long fd = syscall(SYS_openat, AT_FDCWD, report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    syscall(SYS_write, fd, line, strlen(line));
    syscall(SYS_close, fd);
}

/* Returns 1 (with errno set) when this call must fail. */
static int inject(const char *fn, const char *path) {
    if (!armed) return 0;
    long n = __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST);
    char line[512];
    if (trace) {
        snprintf(line, sizeof line, "call %ld %s %s\n", n, fn, path ? path : "-");
        report(line);
    }
    if (n == target_k) {
        snprintf(line, sizeof line, "hit %ld %s %d %s\n", n, fn, fault_errno, path ? path : "-");
        report(line);
        if (fault_errno < 0) syscall(SYS_kill, syscall(SYS_getpid), -fault_errno);
        errno = fault_errno;
        return 1;
    }
    return 0;
}

/* The magic paths: 1 when handled (the caller returns -1/ENOENT). */
static int magic(const char *path) {
    if (!path || strncmp(path, "/dotdir-fault/", 14) != 0) return 0;
    if (strcmp(path + 14, "arm") == 0) {
        __atomic_store_n(&count, 0, __ATOMIC_SEQ_CST);
        armed = 1;
    } else if (strcmp(path + 14, "disarm") == 0) {
        armed = 0;
        char line[64];
        snprintf(line, sizeof line, "calls %ld\n", __atomic_load_n(&count, __ATOMIC_SEQ_CST));
        report(line);
    }
    errno = ENOENT;
    return 1;
}

#define REAL(name, ret, ...)                                                  \
    static ret (*real_##name)(__VA_ARGS__) = NULL;                            \
    if (!real_##name) real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static int needs_mode(int flags) {
    return (flags & O_CREAT) || ((flags & O_TMPFILE) == O_TMPFILE);
}

#define OPEN_LIKE(name)                                                       \
    int name(const char *path, int flags, ...) {                              \
        mode_t mode = 0;                                                      \
        if (needs_mode(flags)) {                                              \
            va_list ap;                                                       \
            va_start(ap, flags);                                              \
            mode = va_arg(ap, int);                                           \
            va_end(ap);                                                       \
        }                                                                     \
        if (magic(path)) return -1;                                           \
        if (inject(#name, path)) return -1;                                   \
        REAL(name, int, const char *, int, ...);                              \
        return real_##name(path, flags, mode);                                \
    }

#define OPENAT_LIKE(name)                                                     \
    int name(int dirfd, const char *path, int flags, ...) {                   \
        mode_t mode = 0;                                                      \
        if (needs_mode(flags)) {                                              \
            va_list ap;                                                       \
            va_start(ap, flags);                                              \
            mode = va_arg(ap, int);                                           \
            va_end(ap);                                                       \
        }                                                                     \
        if (magic(path)) return -1;                                           \
        if (inject(#name, path)) return -1;                                   \
        REAL(name, int, int, const char *, int, ...);                         \
        return real_##name(dirfd, path, flags, mode);                         \
    }

OPEN_LIKE(open)
OPEN_LIKE(open64)
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

int __open_2(const char *path, int flags) {
    if (magic(path)) return -1;
    if (inject("__open_2", path)) return -1;
    REAL(__open_2, int, const char *, int);
    return real___open_2(path, flags);
}

int __open64_2(const char *path, int flags) {
    if (magic(path)) return -1;
    if (inject("__open64_2", path)) return -1;
    REAL(__open64_2, int, const char *, int);
    return real___open64_2(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags) {
    if (magic(path)) return -1;
    if (inject("__openat_2", path)) return -1;
    REAL(__openat_2, int, int, const char *, int);
    return real___openat_2(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags) {
    if (magic(path)) return -1;
    if (inject("__openat64_2", path)) return -1;
    REAL(__openat64_2, int, int, const char *, int);
    return real___openat64_2(dirfd, path, flags);
}

int creat(const char *path, mode_t mode) {
    if (inject("creat", path)) return -1;
    REAL(creat, int, const char *, mode_t);
    return real_creat(path, mode);
}

int creat64(const char *path, mode_t mode) {
    if (inject("creat64", path)) return -1;
    REAL(creat64, int, const char *, mode_t);
    return real_creat64(path, mode);
}

ssize_t write(int fd, const void *buf, size_t len) {
    if (fd > 2 && inject("write", NULL)) return -1;
    REAL(write, ssize_t, int, const void *, size_t);
    return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t offset) {
    if (fd > 2 && inject("pwrite", NULL)) return -1;
    REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
    return real_pwrite(fd, buf, len, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t offset) {
    if (fd > 2 && inject("pwrite64", NULL)) return -1;
    REAL(pwrite64, ssize_t, int, const void *, size_t, off_t);
    return real_pwrite64(fd, buf, len, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int count_) {
    if (fd > 2 && inject("writev", NULL)) return -1;
    REAL(writev, ssize_t, int, const struct iovec *, int);
    return real_writev(fd, iov, count_);
}

int fsync(int fd) {
    if (inject("fsync", NULL)) return -1;
    REAL(fsync, int, int);
    return real_fsync(fd);
}

int fdatasync(int fd) {
    if (inject("fdatasync", NULL)) return -1;
    REAL(fdatasync, int, int);
    return real_fdatasync(fd);
}

int fchmod(int fd, mode_t mode) {
    if (inject("fchmod", NULL)) return -1;
    REAL(fchmod, int, int, mode_t);
    return real_fchmod(fd, mode);
}

int rename(const char *from, const char *to) {
    if (inject("rename", to)) return -1;
    REAL(rename, int, const char *, const char *);
    return real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to) {
    if (inject("renameat", to)) return -1;
    REAL(renameat, int, int, const char *, int, const char *);
    return real_renameat(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
    if (inject("renameat2", to)) return -1;
    REAL(renameat2, int, int, const char *, int, const char *, unsigned int);
    return real_renameat2(fromfd, from, tofd, to, flags);
}

int mkdir(const char *path, mode_t mode) {
    if (inject("mkdir", path)) return -1;
    REAL(mkdir, int, const char *, mode_t);
    return real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode) {
    if (inject("mkdirat", path)) return -1;
    REAL(mkdirat, int, int, const char *, mode_t);
    return real_mkdirat(dirfd, path, mode);
}

int link(const char *from, const char *to) {
    if (inject("link", to)) return -1;
    REAL(link, int, const char *, const char *);
    return real_link(from, to);
}

int linkat(int fromfd, const char *from, int tofd, const char *to, int flags) {
    if (inject("linkat", to)) return -1;
    REAL(linkat, int, int, const char *, int, const char *, int);
    return real_linkat(fromfd, from, tofd, to, flags);
}

int symlink(const char *target, const char *path) {
    if (inject("symlink", path)) return -1;
    REAL(symlink, int, const char *, const char *);
    return real_symlink(target, path);
}

int symlinkat(const char *target, int dirfd, const char *path) {
    if (inject("symlinkat", path)) return -1;
    REAL(symlinkat, int, const char *, int, const char *);
    return real_symlinkat(target, dirfd, path);
}

int unlink(const char *path) {
    if (inject("unlink", path)) return -1;
    REAL(unlink, int, const char *);
    return real_unlink(path);
}

int unlinkat(int dirfd, const char *path, int flags) {
    if (inject("unlinkat", path)) return -1;
    REAL(unlinkat, int, int, const char *, int);
    return real_unlinkat(dirfd, path, flags);
}
