// Can a tensor map with permuted strides land a pal K page ([D/8][slot][8]) as 128-byte-swizzled
// [slot][dim] rows (the layout nhd's S reads), and at what rate beside nhd rows' boxes?
// pool: NP pages x HKV 8 x D 128 x 16 slots, bf16 bits; a tile = 8 random pages of one head.
// Maps encoded as `cuda/device.rs::encode_tiled` does (no L2 promotion), so rates carry over.
#include <cuda.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "pal/mma.cuh"
using namespace pal;
constexpr int NP = 8192, HKV = 8, D = 128, PS = 16, STAGES = 4, TILE_BYTES = 8 * PS * D * 2;
__device__ unsigned long long mismatches;
template <int FORM>  // 0: pal rank 5 permuted strides; 1: nhd rows rank 4; 2: pal pages raw; 3: as 0, unswizzled;
                     // 4: as 0 at rank 4 (64-dim blocks and (page, head) pairs one dim: D = 128)
__global__ void __launch_bounds__(128, 1) load(const __grid_constant__ CUtensorMap map, const int* perm, int tiles,
                                               const u16* pool, int verify) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* smem = (unsigned char*)(((unsigned long long)raw + 1023) & ~1023ull);
  __shared__ __align__(8) unsigned long long bars[STAGES];
  if (threadIdx.x == 0) {
    for (int s = 0; s < STAGES; ++s) mbarrier_init(shared_address(&bars[s]), 1);
    mbarrier_init_fence();
  }
  __syncthreads();
  int n = 0;
  for (int t = blockIdx.x; t < tiles; t += gridDim.x, ++n) {
    const int s = n % STAGES;
    const u32 bar = shared_address(&bars[s]);
    if (n >= STAGES) mbarrier_wait(bar, (n / STAGES - 1) & 1);
    __syncthreads();
    if (threadIdx.x == 0) {
      expect_transaction(bar, TILE_BYTES);
      const u32 dst = shared_address(smem + s * TILE_BYTES);
      const int head = t % HKV;
      for (int p = 0; p < 8; ++p) {
        const int page = perm[(t * 8 + p) % NP];
        for (int cb = 0; cb < 2; ++cb) {
          const u32 d = dst + cb * (8 * PS * 128) + p * PS * 128;
          if (FORM == 0 || FORM == 3) {
            asm volatile("cp.async.bulk.tensor.5d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5, %6}], [%7];" ::"r"(d),
                         "l"(&map), "r"(0), "r"(0), "r"(0), "r"(cb), "r"(page * HKV + head), "r"(bar) : "memory");
          } else if (FORM == 4) {
            asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];" ::"r"(d),
                         "l"(&map), "r"(0), "r"(0), "r"(0), "r"((page * HKV + head) * 2 + cb), "r"(bar) : "memory");
          } else if (FORM == 2) {
            if (cb == 0)
              asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(dst + p * PS * D * 2),
                           "l"(&map), "r"(0), "r"(0), "r"(page * HKV + head), "r"(bar) : "memory");
          } else {
            asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];" ::"r"(d),
                         "l"(&map), "r"(cb * 64), "r"(head), "r"(0), "r"(page), "r"(bar) : "memory");
          }
        }
      }
    }
    if (verify) {
      mbarrier_wait(bar, (n / STAGES) & 1);
      const int head = t % HKV;
      const u16* tile = (const u16*)(smem + s * TILE_BYTES);
      unsigned long long bad = 0;
      for (int i = threadIdx.x; i < 8 * PS * D; i += blockDim.x) {
        const int key = i / D, dim = i % D, p = key / PS, slot = key % PS;
        const int page = perm[(t * 8 + p) % NP];
        const int off = FORM == 2   ? p * PS * D + (dim / 8) * PS * 8 + slot * 8 + dim % 8
                        : FORM == 3 ? dim / 64 * (8 * PS * 64) + key * 64 + dim % 64
                                    : dim / 64 * (8 * PS * 64) + key * 64 + ((dim / 8 % 8) ^ (key % 8)) * 8 + dim % 8;
        // pal element (page, head, dim, slot) at [page][head][dim/8][slot][8]; nhd: [page][slot][head][dim]
        const long long g = FORM != 1 ? (((long long)page * HKV + head) * (D / 8) + dim / 8) * PS * 8 + slot * 8 + dim % 8
                                      : (((long long)page * PS + slot) * HKV + head) * D + dim;
        bad += tile[off] != pool[g];
      }
      if (bad) atomicAdd(&mismatches, bad);
    }
  }
  // Wait for the copies still in flight: a CTA must not exit while its tensor copies write.
  for (int k = (n > STAGES ? n - STAGES : 0); k < n; ++k) mbarrier_wait(shared_address(&bars[k % STAGES]), (k / STAGES) & 1);
}
int main(int argc, char** argv) {
  const int only = argc > 1 ? atoi(argv[1]) : 0;
  const size_t elems = (size_t)NP * HKV * D * PS;
  std::vector<u16> host(elems);
  for (size_t i = 0; i < elems; ++i) host[i] = (u16)((i * 2654435761ull >> 7) & 0x7fff);
  std::vector<int> perm(NP);
  for (int i = 0; i < NP; ++i) perm[i] = i;
  srand(1);
  for (int i = NP - 1; i > 0; --i) std::swap(perm[i], perm[rand() % (i + 1)]);
  u16* pool; int* dperm;
  cudaMalloc(&pool, elems * 2); cudaMalloc(&dperm, NP * 4);
  cudaMemcpy(pool, host.data(), elems * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(dperm, perm.data(), NP * 4, cudaMemcpyHostToDevice);
  CUtensorMap maps[5];
  {
    cuuint64_t dims[3] = {64, PS * D * 2 / 128, (cuuint64_t)NP * HKV};
    cuuint64_t strides[2] = {128, D * PS * 2};
    cuuint32_t box[3] = {64, PS * D * 2 / 128, 1}, es[3] = {1, 1, 1};
    CUresult r = cuTensorMapEncodeTiled(&maps[2], CU_TENSOR_MAP_DATA_TYPE_UINT16, 3, pool, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                        CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    printf("pal raw pages map: encode %d\n", (int)r);
  }
  {
    cuuint64_t dims[5] = {8, 8, PS, 2, (cuuint64_t)NP * HKV};
    cuuint64_t strides[4] = {PS * 16, 16, 8 * PS * 16, D * PS * 2};
    cuuint32_t box[5] = {8, 8, PS, 1, 1}, es[5] = {1, 1, 1, 1, 1};
    CUresult r = cuTensorMapEncodeTiled(&maps[0], CU_TENSOR_MAP_DATA_TYPE_UINT16, 5, pool, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                        CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    printf("pal permuted-stride map: encode %d\n", (int)r);
    r = cuTensorMapEncodeTiled(&maps[3], CU_TENSOR_MAP_DATA_TYPE_UINT16, 5, pool, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                               CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    printf("pal permuted-stride map, unswizzled: encode %d\n", (int)r);
    cuuint64_t dims4[4] = {8, 8, PS, (cuuint64_t)NP * HKV * 2};
    cuuint64_t strides4[3] = {PS * 16, 16, 8 * PS * 16};
    r = cuTensorMapEncodeTiled(&maps[4], CU_TENSOR_MAP_DATA_TYPE_UINT16, 4, pool, dims4, strides4, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                               CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    printf("pal permuted-stride map, rank 4: encode %d\n", (int)r);
  }
  {
    cuuint64_t dims[4] = {D, HKV, PS, NP};
    cuuint64_t strides[3] = {D * 2, HKV * D * 2, (cuuint64_t)PS * HKV * D * 2};
    cuuint32_t box[4] = {64, 1, PS, 1}, es[4] = {1, 1, 1, 1};
    CUresult r = cuTensorMapEncodeTiled(&maps[1], CU_TENSOR_MAP_DATA_TYPE_UINT16, 4, pool, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                        CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    printf("nhd rows map: encode %d\n", (int)r);
  }
  const int smem = STAGES * TILE_BYTES + 1024, tiles = NP / 8 * HKV;  // every page of every head once
  cudaFuncSetAttribute(load<0>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaFuncSetAttribute(load<1>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaFuncSetAttribute(load<2>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaFuncSetAttribute(load<3>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaFuncSetAttribute(load<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  const char* names[5] = {"pal permuted", "nhd rows    ", "pal raw     ", "pal permuted unswizzled", "pal permuted rank 4"};
  for (int form = only; form == only; ++form) {
    unsigned long long zero = 0, bad = 0;
    cudaMemcpyToSymbol(mismatches, &zero, 8);
    auto launch = [&](int verify, int grid) {
      if (form == 0) load<0><<<grid, 128, smem>>>(maps[0], dperm, tiles, pool, verify);
      else if (form == 1) load<1><<<grid, 128, smem>>>(maps[1], dperm, tiles, pool, verify);
      else if (form == 2) load<2><<<grid, 128, smem>>>(maps[2], dperm, tiles, pool, verify);
      else if (form == 3) load<3><<<grid, 128, smem>>>(maps[3], dperm, tiles, pool, verify);
      else load<4><<<grid, 128, smem>>>(maps[4], dperm, tiles, pool, verify);
    };
    launch(1, 132);
    cudaError_t e = cudaDeviceSynchronize();
    cudaMemcpyFromSymbol(&bad, mismatches, 8);
    printf("%s: verify %s, mismatches %llu of %zu\n", names[form], cudaGetErrorString(e), bad, elems);
    for (int grid : {132, 264}) {
      cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
      launch(0, grid);
      cudaEventRecord(a);
      for (int r = 0; r < 10; ++r) launch(0, grid);
      cudaEventRecord(b); cudaEventSynchronize(b);
      float ms; cudaEventElapsedTime(&ms, a, b);
      printf("%s grid %d: %.0f GB/s (%s)\n", names[form], grid, 10.0 * elems * 2 / ms / 1e6,
             cudaGetErrorString(cudaGetLastError()));
    }
  }
  return 0;
}
