// Tensor-core rate of m64n128k16 bf16 wgmma chains (S = Q K^T over a 128-key, 128-dim tile) with
// K read through (0) 128-byte-swizzled rows, (1) the interleaved pool order [chunk][key][8]
// (pal history K), (2) interleaved [8-key group][chunk][8][8].
#include <cstdio>
#include "pal/wgmma.cuh"
using namespace pal;
constexpr int KEYS = 128, CHUNKS = 16;
template <int MODE, int GROUPS> __global__ void __launch_bounds__(256, 1) bench(long long* cycles, float* sink, int iters) {
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  unsigned char* smem = (unsigned char*)(((unsigned long long)smem_raw + 1023) & ~1023ull);
  for (int i = threadIdx.x; i < 65536 / 4; i += blockDim.x) ((u32*)smem)[i] = 0x3c003c00u ^ (i * 2654435761u & 0x00ff00ffu);
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
  __syncthreads();
  const int wg = threadIdx.x / 128;
  if (wg >= GROUPS) return;
  float s[16][4];
  for (int b = 0; b < 16; ++b) for (int e = 0; e < 4; ++e) s[b][e] = 0.f;
  const u64 qd = matrix_descriptor(smem + wg * 16384);
  unsigned char* k = smem + 32768;
  const u64 kd = MODE == 0 ? matrix_descriptor(k) : MODE == 1 ? interleaved_descriptor(k, KEYS * 16, 128) : interleaved_descriptor(k, 128, CHUNKS * 128);
  const long long start = clock64();
  for (int it = 0; it < iters; ++it) {
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      const u64 a = descriptor_plus(qd, (kk / 4 * 64 * 128 + kk % 4 * 32) / 16);
      const u32 step = MODE == 0 ? (kk / 4 * KEYS * 128 + kk % 4 * 32) / 16 : MODE == 1 ? kk * 2 * KEYS : kk * 16;
      Wgmma<bf16, 128>::ss<false>(s, a, descriptor_plus(kd, step), true);
    }
    wgmma_commit();
    wgmma_wait<0>();
  }
  const long long end = clock64();
  float acc = 0;
  for (int b = 0; b < 16; ++b) for (int e = 0; e < 4; ++e) acc += s[b][e];
  sink[blockIdx.x * blockDim.x + threadIdx.x] = acc;
  if (threadIdx.x % 128 == 0) cycles[blockIdx.x * 2 + wg] = end - start;
}
template <int MODE, int GROUPS> void run(const char* name) {
  const int ctas = 132, iters = 4096, bytes = 65536 + 1024;
  long long* cycles; float* sink;
  cudaMalloc(&cycles, ctas * 2 * 8); cudaMalloc(&sink, ctas * 256 * 4);
  cudaFuncSetAttribute(bench<MODE, GROUPS>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  bench<MODE, GROUPS><<<ctas, 256, bytes>>>(cycles, sink, 16);
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  cudaEventRecord(a);
  bench<MODE, GROUPS><<<ctas, 256, bytes>>>(cycles, sink, iters);
  cudaEventRecord(b); cudaEventSynchronize(b);
  float ms; cudaEventElapsedTime(&ms, a, b);
  long long host[2];
  cudaMemcpy(host, cycles, 16, cudaMemcpyDeviceToHost);
  const double flops = 2.0 * 64 * 128 * 16 * 8 * iters * GROUPS * ctas;
  printf("%-34s %d warpgroup(s): %7.1f TFLOP/s, %6.1f cycles a wgmma (CTA 0)  err=%s\n", name, GROUPS, flops / ms / 1e9,
         (double)host[0] / iters / 8, cudaGetErrorString(cudaGetLastError()));
  cudaFree(cycles); cudaFree(sink);
}
int main() {
  run<0, 1>("K 128-byte swizzled rows (nhd)");
  run<1, 1>("K interleaved [chunk][key][8] (pal)");
  run<2, 1>("K interleaved [group][chunk][8][8]");
  run<0, 2>("K 128-byte swizzled rows (nhd)");
  run<1, 2>("K interleaved [chunk][key][8] (pal)");
  run<2, 2>("K interleaved [group][chunk][8][8]");
  return 0;
}
