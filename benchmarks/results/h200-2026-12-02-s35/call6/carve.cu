// Does a kernel with 96 KB of dynamic shared memory pay for the SM's shared-memory carveout
// after an L1-only kernel (the lab's L2 flush)? Times a 128-CTA kernel after a 256 MB zeroing,
// with no carveout preference and with the maximum, against the same kernel with no shared
// memory; median of 200 event-timed launches.
#include <algorithm>
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>
__global__ void zero(int* p, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) p[i] = 0;
}
__global__ void work(float* out, int spin) {
  extern __shared__ float s[];
  s[threadIdx.x] = threadIdx.x;
  __syncthreads();
  float x = s[(threadIdx.x + 1) % blockDim.x];
  for (int i = 0; i < spin; ++i) x = x * 1.0001f + 0.5f;
  if (threadIdx.x == 0) out[blockIdx.x] = x;
}
float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
int main() {
  int* buf; float* out;
  printf("malloc: %s\n", cudaGetErrorString(cudaFree(0)));
  cudaMalloc(&buf, 256 << 20); cudaMalloc(&out, 1 << 16);
  cudaFuncSetAttribute(work, cudaFuncAttributeMaxDynamicSharedMemorySize, 98352);
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  for (int flush = 0; flush < 2; ++flush)
    for (int carve : {-1, 100, 0}) {
      for (int smem : {512, 98352}) {
        if (carve == 0 && smem > 512) continue;
        cudaFuncSetAttribute(work, cudaFuncAttributePreferredSharedMemoryCarveout, carve);
        std::vector<float> t;
        for (int r = 0; r < 220; ++r) {
          if (flush) zero<<<1024, 256>>>(buf, (256 << 20) / 4);
          cudaEventRecord(a);
          work<<<128, 128, smem>>>(out, 1000);
          cudaEventRecord(b);
          cudaEventSynchronize(b);
          float ms; cudaEventElapsedTime(&ms, a, b);
          if (r >= 20) t.push_back(ms * 1000);
        }
        printf("[%s] ", cudaGetErrorString(cudaGetLastError()));
        printf("flush %d carveout %4d smem %6d: %.2f us\n", flush, carve, smem, median(t));
      }
    }
  return 0;
}
