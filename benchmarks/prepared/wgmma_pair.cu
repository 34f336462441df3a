// Does the S chain slow down beside the other warpgroup's P V chain, by operand modes? The Hopper
// prefill's consumers take turns: one warpgroup's S = Q K^T (m64n128k16, both operands in shared
// memory) runs while the other's O += P V (P from registers) is on the tensor cores. `pal`
// history tiles read K interleaved ([chunk][key][8]) and V K-major ([dim][key], swizzled); `nhd`
// tiles K-major swizzled rows and V N-major ([key][dim], swizzled). The stamps put `pal`'s S
// wait at 24.2 us an item against `nhd`'s 7.8, and at 7.3 once nothing ran beside S (fifty-first
// and fifty-sixth sessions); alone, every K mode runs at one rate (`wgmma_modes.cu`). Here each
// chain runs alone, then S and P V together in two warpgroups of a CTA, each layout's pair and
// the crossed ones: cycles a wgmma of each warpgroup.
#include <cstdio>
#include "pal/wgmma.cuh"
using namespace pal;
constexpr int KEYS = 128, DIM = 128;
constexpr int Q_BYTES = 64 * DIM * 2, TILE_BYTES = KEYS * DIM * 2;
// S_MODE: 0 K swizzled rows (nhd), 1 K interleaved pool order (pal), -1 no S warpgroup.
// V_MODE: 0 V N-major [key][dim] (nhd), 1 V K-major [dim][key] (pal), -1 no P V warpgroup.
template <int S_MODE, int V_MODE> __global__ void __launch_bounds__(256, 1) bench(long long* cycles, float* sink, int iters) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  unsigned char* smem = (unsigned char*)(((unsigned long long)smem_raw + 1023) & ~1023ull);
  for (int i = threadIdx.x; i < (Q_BYTES + 2 * TILE_BYTES) / 4; i += blockDim.x)
    ((u32*)smem)[i] = 0x3c003c00u ^ (i * 2654435761u & 0x00ff00ffu);
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
  __syncthreads();
  const int wg = threadIdx.x / 128;
  unsigned char* q = smem;
  unsigned char* k = smem + Q_BYTES;
  unsigned char* v = smem + Q_BYTES + TILE_BYTES;
  float d[16][4];
  for (int b = 0; b < 16; ++b)
    for (int e = 0; e < 4; ++e) d[b][e] = 0.f;
  long long start = 0, end = 0;
  if (wg == 0 && S_MODE >= 0) {
    const u64 qd = matrix_descriptor(q);
    const u64 kd = S_MODE == 0 ? matrix_descriptor(k) : interleaved_descriptor(k, KEYS * 16, 128);
    start = clock64();
    for (int it = 0; it < iters; ++it) {
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < DIM / 16; ++kk) {
        const u64 a = descriptor_plus(qd, (kk / 4 * 64 * 128 + kk % 4 * 32) / 16);
        const u32 step = S_MODE == 0 ? (kk / 4 * KEYS * 128 + kk % 4 * 32) / 16 : kk * 2 * KEYS;
        Wgmma<bf16, 128>::ss<false>(d, a, descriptor_plus(kd, step), true);
      }
      wgmma_commit();
      wgmma_wait<0>();
    }
    end = clock64();
  } else if (wg == 1 && V_MODE >= 0) {
    u32 p[4] = {0x3c003c00u, 0x3c003c01u, 0x3c013c00u, 0x3c013c01u};
    // nhd: [key][dim] in two 64-dim column blocks of KEYS rows, read N-major (blocks KEYS * 128
    // bytes apart); pal: [dim][key] in two 64-key column blocks of DIM rows, read K-major.
    const u64 vd = V_MODE == 0 ? matrix_descriptor(v, KEYS * 128) : matrix_descriptor(v);
    start = clock64();
    for (int it = 0; it < iters; ++it) {
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < KEYS / 16; ++kk) {
        const u32 step = V_MODE == 0 ? kk * 16 * 128 / 16 : (kk / 4 * DIM * 128 + kk % 4 * 32) / 16;
        if (V_MODE == 0)
          Wgmma<bf16, 128>::rs<true>(d, p, descriptor_plus(vd, step), true);
        else
          Wgmma<bf16, 128>::rs<false>(d, p, descriptor_plus(vd, step), true);
      }
      wgmma_commit();
      wgmma_wait<0>();
    }
    end = clock64();
  }
  float acc = 0;
  for (int b = 0; b < 16; ++b)
    for (int e = 0; e < 4; ++e) acc += d[b][e];
  sink[blockIdx.x * blockDim.x + threadIdx.x] = acc;
  if (threadIdx.x % 128 == 0) cycles[blockIdx.x * 2 + wg] = end - start;
}
template <int S_MODE, int V_MODE> void run(const char* name) {
  const int ctas = 132, iters = 4096, bytes = Q_BYTES + 2 * TILE_BYTES + 1024;
  long long* cycles;
  float* sink;
  cudaMalloc(&cycles, ctas * 2 * 8);
  cudaMalloc(&sink, ctas * 256 * 4);
  cudaFuncSetAttribute(bench<S_MODE, V_MODE>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  bench<S_MODE, V_MODE><<<ctas, 256, bytes>>>(cycles, sink, 16);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaEventRecord(a);
  bench<S_MODE, V_MODE><<<ctas, 256, bytes>>>(cycles, sink, iters);
  cudaEventRecord(b);
  cudaEventSynchronize(b);
  float ms;
  cudaEventElapsedTime(&ms, a, b);
  long long host[2 * 132];
  cudaMemcpy(host, cycles, sizeof(host), cudaMemcpyDeviceToHost);
  double s = 0, pv = 0;
  for (int c = 0; c < ctas; ++c) s += host[2 * c], pv += host[2 * c + 1];
  const int chains = (S_MODE >= 0) + (V_MODE >= 0);
  const double flops = 2.0 * 64 * 128 * 16 * 8 * iters * chains * ctas;
  printf("%-30s %7.1f TFLOP/s; cycles a wgmma: S %6.1f, P V %6.1f  err=%s\n", name, flops / ms / 1e9,
         s / ctas / iters / 8, pv / ctas / iters / 8, cudaGetErrorString(cudaGetLastError()));
  cudaFree(cycles);
  cudaFree(sink);
}
int main() {
  run<0, -1>("S alone, K rows (nhd)");
  run<1, -1>("S alone, K pool order (pal)");
  run<-1, 0>("P V alone, V [key][dim] (nhd)");
  run<-1, 1>("P V alone, V [dim][key] (pal)");
  run<0, 0>("nhd pair");
  run<1, 1>("pal pair");
  run<1, 0>("K pool order + V [key][dim]");
  run<0, 1>("K rows + V [dim][key]");
  return 0;
}
