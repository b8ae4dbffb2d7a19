// The ceiling of the particle kernel's arithmetic on one core, in C: what `ParticleKernel` could reach
// at best in double precision with AVX2 and FMA, measured next to it by scripts/bench-kernel.
//
// The same work in the same memory layout as the kernel (Sources/LSTM/ParticleKernel.swift): groups
// of 8 particles, one SIMD lane each; a group's input weights at (q * 4n + r) * 8 + lane, recurrent
// weights at (r * n + j) * 8 + lane, biases after them; the arrays at 48 bytes past a 64-byte line,
// where Swift's arrays start. Per group and sequence of m columns:
//   projection  u_l = b + W x_l for every column l: four inputs' rows at a time, four columns at a
//               time (the kernel's loop order);
//   recurrence  for each column, the preactivations u_l + R y: four gate rows at a time, eight
//               accumulators.
// The gate functions are left out (y is the preactivation scaled down, to keep the values finite), so
// the kernel, which computes them, cannot be faster than "both" below.
//
// usage: kernel-ceiling [n] [p] [m] [particles] [seconds]   (defaults 32 32 4 80 1)
// prints particle-columns per second for the projection alone, the recurrence alone, and both.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LOAD _mm256_loadu_pd
#define STORE _mm256_storeu_pd
#define FMA _mm256_fmadd_pd

static int n, p, m, groups;
static double *weights, *x, *u, *pre;
static __m256d *y;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static size_t groupSize(void) { return (size_t)4 * n * (p + n + 1) * 8; }

// u = b + W x for columns first ..< first + count, inputs q ..< q + inputs (a constant once inlined,
// so that the weights stay in registers).
static inline __attribute__((always_inline)) void projectInputs(const double *theta, int q, int inputs, int first,
                                                                 int count) {
    int rows = 4 * n;
    const double *w = theta, *bias = theta + (size_t)rows * (p + n) * 8;
    for (int r = 0; r < rows; r++) {
        __m256d lo[4], hi[4];
        for (int i = 0; i < inputs; i++) {
            lo[i] = LOAD(w + ((size_t)(q + i) * rows + r) * 8);
            hi[i] = LOAD(w + ((size_t)(q + i) * rows + r) * 8 + 4);
        }
        for (int l = first; l < first + count; l++) {
            double *out = u + ((size_t)l * rows + r) * 8;
            const double *xl = x + (size_t)l * p + q;
            __m256d s0 = q == 0 ? LOAD(bias + r * 8) : LOAD(out), s1 = q == 0 ? LOAD(bias + r * 8 + 4) : LOAD(out + 4);
            for (int i = 0; i < inputs; i++) {
                __m256d a = _mm256_broadcast_sd(xl + i);
                s0 = FMA(lo[i], a, s0);
                s1 = FMA(hi[i], a, s1);
            }
            STORE(out, s0);
            STORE(out + 4, s1);
        }
    }
}

static void project(const double *theta) {
    for (int first = 0; first < m; first += 4)
        for (int q = 0; q < p; q += 4) {
            int count = m - first < 4 ? m - first : 4;
            switch (p - q) {
            case 1: projectInputs(theta, q, 1, first, count); break;
            case 2: projectInputs(theta, q, 2, first, count); break;
            case 3: projectInputs(theta, q, 3, first, count); break;
            default: projectInputs(theta, q, 4, first, count);
            }
        }
}

// pre = u_l + R y for one column l, then y = pre / 1000.
static void recur(const double *theta, int l) {
    int rows = 4 * n;
    const double *recurrent = theta + (size_t)rows * p * 8;
    double *ul = u + (size_t)l * rows * 8;
    for (int r = 0; r < rows; r += 4) {
        __m256d s[8];
        for (int k = 0; k < 8; k++) s[k] = LOAD(ul + r * 8 + 4 * k);
        const double *w0 = recurrent + (size_t)r * n * 8, *w1 = w0 + n * 8, *w2 = w1 + n * 8, *w3 = w2 + n * 8;
        for (int j = 0; j < n; j++) {
            __m256d a = y[2 * j], b = y[2 * j + 1];
            s[0] = FMA(LOAD(w0 + j * 8), a, s[0]);
            s[1] = FMA(LOAD(w0 + j * 8 + 4), b, s[1]);
            s[2] = FMA(LOAD(w1 + j * 8), a, s[2]);
            s[3] = FMA(LOAD(w1 + j * 8 + 4), b, s[3]);
            s[4] = FMA(LOAD(w2 + j * 8), a, s[4]);
            s[5] = FMA(LOAD(w2 + j * 8 + 4), b, s[5]);
            s[6] = FMA(LOAD(w3 + j * 8), a, s[6]);
            s[7] = FMA(LOAD(w3 + j * 8 + 4), b, s[7]);
        }
        for (int k = 0; k < 8; k++) STORE(pre + r * 8 + 4 * k, s[k]);
    }
    __m256d scale = _mm256_set1_pd(1e-3);
    for (int j = 0; j < n; j++) {
        y[2 * j] = _mm256_mul_pd(LOAD(pre + j * 8), scale);
        y[2 * j + 1] = _mm256_mul_pd(LOAD(pre + j * 8 + 4), scale);
    }
}

// Particle-columns per second of `what` (1 projection, 2 recurrence, 3 both) over all groups.
static double rate(int what, double seconds) {
    long columns = 0;
    double start = now();
    do {
        for (int g = 0; g < groups; g++) {
            const double *theta = weights + g * groupSize();
            if (what & 1) project(theta);
            if (what & 2)
                for (int l = 0; l < m; l++) recur(theta, l);
            columns += 8L * m;
        }
    } while (now() - start < seconds);
    return columns / (now() - start);
}

int main(int argc, char **argv) {
    n = argc > 1 ? atoi(argv[1]) : 32;
    p = argc > 2 ? atoi(argv[2]) : 32;
    m = argc > 3 ? atoi(argv[3]) : 4;
    int particles = argc > 4 ? atoi(argv[4]) : 80;
    double seconds = argc > 5 ? atof(argv[5]) : 1;
    if (n < 1 || p < 1 || m < 1 || particles < 1 || seconds <= 0) {
        fprintf(stderr, "kernel-ceiling: n, p, m and particles must be positive, seconds > 0\n");
        return 2;
    }
    groups = (particles + 7) / 8;
    weights = (double *)((char *)aligned_alloc(64, groups * groupSize() * 8 + 64) + 48);
    x = malloc(sizeof(double) * p * m);
    u = aligned_alloc(64, sizeof(double) * 8 * 4 * n * m);
    pre = aligned_alloc(64, sizeof(double) * 8 * 4 * n);
    y = aligned_alloc(64, sizeof(__m256d) * 2 * n);
    if (!weights || !x || !u || !pre || !y) {
        fprintf(stderr, "kernel-ceiling: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < groups * groupSize(); i++) weights[i] = 1e-3 * (double)(i % 97) - 0.048;
    for (int i = 0; i < p * m; i++) x[i] = 0.01 * (i % 13);
    for (int j = 0; j < 2 * n; j++) y[j] = _mm256_set1_pd(0.01 * j);
    for (int i = 0; i < 8 * 4 * n * m; i++) u[i] = 0;
    rate(3, 0.1 * seconds);  // warm-up
    double projection = rate(1, seconds), recurrence = rate(2, seconds), both = rate(3, seconds);
    double sink = 0;
    for (int i = 0; i < 8 * 4 * n; i++) sink += pre[i];
    printf("%d %d %d %d %.3g %.3g %.3g%s\n", n, p, m, particles, projection, recurrence, both,
           sink == sink ? "" : " (NaN)");
    return 0;
}
