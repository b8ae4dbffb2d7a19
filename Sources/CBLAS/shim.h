// OpenBLAS's CBLAS and LAPACKE: dense linear algebra for the model and the filters.
#ifndef DLSTM_CBLAS_SHIM_H
#define DLSTM_CBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
