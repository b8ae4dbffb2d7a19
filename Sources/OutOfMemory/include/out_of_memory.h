#ifndef DLSTM_OUT_OF_MEMORY_H
#define DLSTM_OUT_OF_MEMORY_H

// Linked into dlstm only: malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign
// wrapped so that a failed allocation (anywhere: Swift, OpenBLAS, Open MPI) is one line and
// status 2 instead of Swift's crash trace. Nothing to call; the wrappers take effect by linking.

#endif
