// Microbenchmark: read bandwidth of a paged nhd pool [pages][16][HKV][D] (bf16 bytes) by CTAs
// over H consecutive KV heads of a (sequence, split), 4 warps a CTA, each warp streaming 16-slot
// tiles (a page) with 16-byte loads, NT tiles in flight; hnd [pages][HKV][16][D] for comparison.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <random>
#include <cuda_runtime.h>
typedef unsigned long long u64;
constexpr int PS = 16, HKV = 8;

template <int D, int H, bool HND, int NT, int ST = PS>
__global__ void __launch_bounds__(128) read_heads(const uint4* k, const uint4* v, const int* table, int pages_per_seq,
                                                  int splits, unsigned* out) {
  const int head0 = blockIdx.x * H, seq = blockIdx.y, split = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  constexpr int ROW = H * D * 2 / 16;        // 16-byte chunks of a slot's H heads
  constexpr int TILE = ST * ROW;            // chunks of a tile of ST slots
  constexpr int TPP = PS / ST;              // tiles a page
  constexpr int PER_LANE = (TILE + 31) / 32;
  const int pages = pages_per_seq / splits, p0 = split * pages, tiles = pages * TPP;
  unsigned acc = 0;
  for (int t = warp; t < tiles; t += 4 * NT) {
    uint4 r[NT][2][PER_LANE];
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const int tt = t + 4 * n;
      const int page = tt < tiles ? table[seq * pages_per_seq + p0 + tt / TPP] : -1;
      const int s0 = tt % TPP * ST;
#pragma unroll
      for (int c = 0; c < PER_LANE; ++c) {
        const int i = lane + 32 * c;
        r[n][0][c] = r[n][1][c] = make_uint4(0, 0, 0, 0);
        if (page >= 0 && i < TILE) {
          const int slot = s0 + i / ROW, ch = i % ROW;
          u64 off;
          if (HND) {  // head h = ch / (D/8): [page][HKV][16][D]
            const int h = ch / (D / 8), d = ch % (D / 8);
            off = ((u64)page * HKV + head0 + h) * PS * (D / 8) + slot * (D / 8) + d;
          } else {
            off = ((u64)page * PS + slot) * HKV * (D / 8) + head0 * (D / 8) + ch;
          }
          r[n][0][c] = __ldg(k + off);
          r[n][1][c] = __ldg(v + off);
        }
      }
    }
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
      for (int c = 0; c < PER_LANE; ++c) acc ^= r[n][0][c].x ^ r[n][1][c].w ^ r[n][0][c].y ^ r[n][1][c].z;
  }
  if (acc == 0x12345678u) out[0] = acc;
}

int main() {
  const int seqs = 32, ctx = 4096, ppseq = ctx / PS, npages = seqs * ppseq;
  std::vector<int> table(npages);
  for (int i = 0; i < npages; ++i) table[i] = i;
  std::mt19937 g(1);
  std::shuffle(table.begin(), table.end(), g);
  int* dt;
  cudaMalloc(&dt, npages * 4);
  cudaMemcpy(dt, table.data(), npages * 4, cudaMemcpyHostToDevice);
  unsigned* out;
  cudaMalloc(&out, 4);
  char* flush;
  cudaMalloc(&flush, 256 << 20);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  auto bench = [&](const char* name, int d, auto kernel, int heads_per_cta, size_t bytes, const void* k, const void* v) {
    int sms;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    const int ctas_per_split = seqs * HKV / heads_per_cta;
    int splits = 1;
    while (ctas_per_split * splits < 4 * sms && splits < 16) splits *= 2;
    dim3 grid(HKV / heads_per_cta, seqs, splits);
    std::vector<float> ts;
    for (int r = 0; r < 25; ++r) {
      cudaMemsetAsync(flush, r, 256 << 20);
      cudaEventRecord(a);
      kernel<<<grid, 128>>>((const uint4*)k, (const uint4*)v, dt, ppseq, splits, out);
      cudaEventRecord(b);
      cudaEventSynchronize(b);
      float ms;
      cudaEventElapsedTime(&ms, a, b);
      ts.push_back(ms);
    }
    std::sort(ts.begin(), ts.end());
    const float med = ts[ts.size() / 2];
    printf("D %3d %-12s heads/CTA %d splits %2d: %7.1f us %5.2f TB/s  err=%s\n", d, name, heads_per_cta, splits, med * 1e3,
           bytes / (med * 1e-3) / 1e12, cudaGetErrorString(cudaGetLastError()));
  };
  // a 1 GiB device copy for the ceiling
  {
    char *x, *y;
    cudaMalloc(&x, 1 << 30);
    cudaMalloc(&y, 1 << 30);
    std::vector<float> ts;
    for (int r = 0; r < 10; ++r) {
      cudaEventRecord(a);
      cudaMemcpyAsync(y, x, 1 << 30, cudaMemcpyDeviceToDevice);
      cudaEventRecord(b);
      cudaEventSynchronize(b);
      float ms;
      cudaEventElapsedTime(&ms, a, b);
      ts.push_back(ms);
    }
    std::sort(ts.begin(), ts.end());
    printf("copy 1 GiB: %.2f TB/s (read + write)\n", 2.0 * (1 << 30) / (ts[5] * 1e-3) / 1e12);
    cudaFree(x);
    cudaFree(y);
  }
#define RUN(DD)                                                                                   \
  {                                                                                               \
    const size_t bytes = (size_t)npages * PS * HKV * DD * 2;                                      \
    void *k, *v;                                                                                  \
    cudaMalloc(&k, bytes);                                                                        \
    cudaMalloc(&v, bytes);                                                                        \
    cudaMemset(k, 1, bytes);                                                                      \
    cudaMemset(v, 1, bytes);                                                                      \
    bench("nhd", DD, read_heads<DD, 1, false, 3>, 1, 2 * bytes, k, v);                            \
    bench("nhd", DD, read_heads<DD, 2, false, 2>, 2, 2 * bytes, k, v);                            \
    bench("nhd", DD, read_heads<DD, 4, false, 1>, 4, 2 * bytes, k, v);                            \
    bench("nhd", DD, read_heads<DD, 8, false, 1, 8>, 8, 2 * bytes, k, v); \
    bench("nhd st8", DD, read_heads<DD, 4, false, 2, 8>, 4, 2 * bytes, k, v);                            \
    bench("hnd", DD, read_heads<DD, 1, true, 3>, 1, 2 * bytes, k, v);                             \
    bench("hnd", DD, read_heads<DD, 4, true, 1>, 4, 2 * bytes, k, v);                             \
    cudaFree(k);                                                                                  \
    cudaFree(v);                                                                                  \
  }
  RUN(80) RUN(96) RUN(112) RUN(128)
  return 0;
}
