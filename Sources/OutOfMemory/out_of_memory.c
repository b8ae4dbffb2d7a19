// A failed allocation, anywhere in the process, as the run's one-line out-of-memory error.
//
// The up-front estimate (Runs/MemoryBudget.swift) refuses runs that cannot fit. A run that passes
// it can still meet a smaller limit: `ulimit -v`, vm.overcommit_memory = 2 (strict accounting, common
// on clusters), or memory taken by other jobs. Swift then traps ("failed to allocate N bytes") and
// prints a crash trace, and C libraries fail each in its own way. dlstm defines the allocation
// functions itself; the dynamic linker binds every library's calls to the executable's definitions,
// which forward to the next definition (an LD_PRELOADed interposer such as the benchmark's
// allocation counter, or the C library) and turn a failure into one line and exit status 2.
//
// Only async-signal-safe calls after a failure: there is no memory to format with.
#define _GNU_SOURCE
#include "out_of_memory.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
// dlsym itself may allocate: while it runs, the C library's own functions serve.
static _Thread_local int resolving;

static void resolve(void) {
    resolving = 1;
    next_calloc = dlsym(RTLD_NEXT, "calloc");
    next_realloc = dlsym(RTLD_NEXT, "realloc");
    next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = dlsym(RTLD_NEXT, "memalign");
    next_malloc = dlsym(RTLD_NEXT, "malloc");  // last: it says the others are set
    resolving = 0;
}

// Before main, while the process has one thread.
__attribute__((constructor)) static void resolve_at_start(void) {
    if (!next_malloc) resolve();
}

static int ready(void) {
    if (next_malloc) return 1;
    if (resolving) return 0;
    resolve();
    return 1;
}

static size_t append(char *line, size_t at, const char *text) {
    size_t n = strlen(text);
    memcpy(line + at, text, n);
    return at + n;
}

static size_t append_number(char *line, size_t at, size_t value) {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n) line[at++] = digits[--n];
    return at;
}

__attribute__((noreturn)) static void out_of_memory(size_t bytes) {
    char line[512];
    size_t at = append(line, 0, "dlstm: error: out of memory: an allocation of ");
    at = append_number(line, at, bytes);
    at = append(line, at, " bytes failed");
    // The launcher's rank, when there is one (Open MPI, PMIx, Slurm): getenv does not allocate.
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!rank) rank = getenv("PMIX_RANK");
    if (!rank) rank = getenv("SLURM_PROCID");
    if (rank && strlen(rank) < 12) {
        at = append(line, at, " on rank ");
        at = append(line, at, rank);
    }
    at = append(
        line, at,
        " (the process may use less than the run needs: ulimit -v, strict overcommit, or other jobs); "
        "use fewer particles or a smaller model, or give each rank more memory\n");
    ssize_t ignored = write(STDERR_FILENO, line, at);
    (void)ignored;
    _exit(2);
}

void *malloc(size_t size) {
    void *p = ready() ? next_malloc(size) : __libc_malloc(size);
    if (!p && size) out_of_memory(size);
    return p;
}

void *calloc(size_t count, size_t size) {
    void *p = ready() ? next_calloc(count, size) : __libc_calloc(count, size);
    if (!p && count && size) out_of_memory(count > (size_t)-1 / size ? (size_t)-1 : count * size);
    return p;
}

// realloc(p, 0) frees p and may return NULL: not a failure.
void *realloc(void *pointer, size_t size) {
    void *p = ready() ? next_realloc(pointer, size) : __libc_realloc(pointer, size);
    if (!p && size) out_of_memory(size);
    return p;
}

// EINVAL (an alignment that is not a power of two) is the caller's to handle.
int posix_memalign(void **pointer, size_t alignment, size_t size) {
    int status;
    if (ready()) {
        status = next_posix_memalign(pointer, alignment, size);
    } else {
        *pointer = __libc_memalign(alignment, size);
        status = *pointer ? 0 : ENOMEM;
    }
    if (status == ENOMEM && size) out_of_memory(size);
    return status;
}

void *aligned_alloc(size_t alignment, size_t size) {
    void *p = ready() ? next_aligned_alloc(alignment, size) : __libc_memalign(alignment, size);
    if (!p && size && errno == ENOMEM) out_of_memory(size);
    return p;
}

void *memalign(size_t alignment, size_t size) {
    void *p = ready() ? next_memalign(alignment, size) : __libc_memalign(alignment, size);
    if (!p && size && errno == ENOMEM) out_of_memory(size);
    return p;
}
