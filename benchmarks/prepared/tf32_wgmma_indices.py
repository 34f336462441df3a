"""Index check of decode-tf32-wgmma.patch without a GPU (thirty-sixth session): K / V tiles placed
as its copies place them (row swizzles), Q and P^T as wgmma B tiles (128-byte swizzle, Q in the A
fragments' K order), every lane's A fragments read as the kernel reads them (`nhd` rows, then
`pal` tiles as in their pages), and wgmma taken as D[m][n] += sum_k A[m][k] B[k][n] with A's
registers laid out as mma.m16n8k8's (the patch's one unverified assumption). Prints the largest error of S^T = K Q^T and O^T = V^T P^T (float64) and
that every P^T element is written once.

    python benchmarks/prepared/tf32_wgmma_indices.py
"""

import numpy as np

rng = np.random.default_rng(0)
D = 128
TK = 64
H = 32
K = rng.standard_normal((TK, D))
V = rng.standard_normal((TK, D))
Q = rng.standard_normal((H, D))


def k_at(key, chunk):
    return key * D + 4 * (chunk ^ ((key & 1) << 2))


def v_at(key, chunk):
    return key * D + 4 * (chunk ^ ((key & 3) << 1))


def swz(rows, row, col):
    return col // 32 * (rows * 32) + row * 32 + (((col // 4) % 8) ^ (row % 8)) * 4 + col % 4


sk = np.zeros(TK * D)
sv = np.zeros(TK * D)
for key in range(TK):
    for c in range(D // 4):
        sk[k_at(key, c) : k_at(key, c) + 4] = K[key, 4 * c : 4 * c + 4]
        sv[v_at(key, c) : v_at(key, c) + 4] = V[key, 4 * c : 4 * c + 4]
qt = np.zeros(H * D)
for h in range(H):
    for d in range(D):
        c = d // 16
        j4 = d % 16 // 4
        ks = d % 4 // 2
        hi = d % 2
        k = 8 * (2 * c + ks) + j4 + 4 * hi
        qt[swz(H, h, k)] = Q[h, d]


def Bq(k, n):
    return qt[swz(H, n, k)]


# S^T via fragments
S = np.zeros((TK, H))
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for c in range(D // 16):
            x = sk[k_at(16 * w + g, 4 * c + t) : k_at(16 * w + g, 4 * c + t) + 4]
            y = sk[k_at(16 * w + g + 8, 4 * c + t) : k_at(16 * w + g + 8, 4 * c + t) + 4]
            for ks, a in ((0, (x[0], y[0], x[1], y[1])), (1, (x[2], y[2], x[3], y[3]))):
                s = 2 * c + ks
                # a0 (row g,k t), a1 (row g+8,k t), a2 (row g,k t+4), a3 (row g+8,k t+4)
                for n in range(H):
                    S[16 * w + g, n] += a[0] * Bq(8 * s + t, n) + a[2] * Bq(8 * s + t + 4, n)
                    S[16 * w + g + 8, n] += a[1] * Bq(8 * s + t, n) + a[3] * Bq(8 * s + t + 4, n)
print("S err", np.abs(S - K @ Q.T).max())
P = rng.random((TK, H))
pt = np.zeros(H * TK)
# P writes as the kernel: lane (g,t) of warp w writes heads 8b+2t+hh at keys 16w+g, +8
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for b in range(4):
            for hh in range(2):
                h = 8 * b + 2 * t + hh
                k0 = 16 * w + g
                pt[swz(H, h, k0)] = P[k0, h]
                pt[swz(H, h, k0 + 8)] = P[k0 + 8, h]


def Bp(k, n):
    return pt[swz(H, n, k)]


out = np.zeros((D, H))
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for mb in range(D // 64):
            for ks in range(TK // 8):
                chunk = (64 * mb + 16 * w + 2 * g) // 4
                half = g & 1
                lo = sv[v_at(8 * ks + t, chunk) + 2 * half : v_at(8 * ks + t, chunk) + 2 * half + 2]
                hi = sv[v_at(8 * ks + t + 4, chunk) + 2 * half : v_at(8 * ks + t + 4, chunk) + 2 * half + 2]
                a = (lo[0], lo[1], hi[0], hi[1])
                d = 64 * mb + 16 * w + 2 * g
                for n in range(H):
                    out[d, n] += a[0] * Bp(8 * ks + t, n) + a[2] * Bp(8 * ks + t + 4, n)
                    out[d + 1, n] += a[1] * Bp(8 * ks + t, n) + a[3] * Bp(8 * ks + t + 4, n)
print("O err", np.abs(out - V.T @ P).max())
# coverage of P writes (every (head,key) written once)
cnt = np.zeros(H * TK)
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for b in range(4):
            for hh in range(2):
                h = 8 * b + 2 * t + hh
                k0 = 16 * w + g
                cnt[swz(H, h, k0)] += 1
                cnt[swz(H, h, k0 + 8)] += 1
print("P coverage", cnt.min(), cnt.max())


# pal: K [chunk][key], V [dim][key] as in their pages, P^T's keys in `run_order`.
def pal_k_at(key, chunk):
    return (chunk * TK + (key ^ ((chunk & 3) << 1))) * 4


def pal_v_at(dim, key):
    return dim * TK + 4 * ((key // 4) ^ ((dim & 1) << 2)) + key % 4


def run_order(e):
    q, r = e // 16, e % 16
    return 8 * (2 * q + r % 4 // 2) + r // 4 + 4 * (r % 2)


sk = np.zeros(TK * D)
sv = np.zeros(TK * D)
for key in range(TK):
    for c in range(D // 4):
        sk[pal_k_at(key, c) : pal_k_at(key, c) + 4] = K[key, 4 * c : 4 * c + 4]
    for d in range(D):
        sv[pal_v_at(d, key)] = V[key, d]
assert sorted(run_order(e) for e in range(TK)) == list(range(TK))
S = np.zeros((TK, H))
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for c in range(D // 16):
            x = sk[pal_k_at(16 * w + g, 4 * c + t) : pal_k_at(16 * w + g, 4 * c + t) + 4]
            y = sk[pal_k_at(16 * w + g + 8, 4 * c + t) : pal_k_at(16 * w + g + 8, 4 * c + t) + 4]
            for ks, a in ((0, (x[0], y[0], x[1], y[1])), (1, (x[2], y[2], x[3], y[3]))):
                s = 2 * c + ks
                for n in range(H):
                    S[16 * w + g, n] += a[0] * Bq(8 * s + t, n) + a[2] * Bq(8 * s + t + 4, n)
                    S[16 * w + g + 8, n] += a[1] * Bq(8 * s + t, n) + a[3] * Bq(8 * s + t + 4, n)
print("pal S err", np.abs(S - K @ Q.T).max())
pt = np.zeros(H * TK)
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for b in range(4):
            for hh in range(2):
                h = 8 * b + 2 * t + hh
                k0 = 16 * w + g
                pt[swz(H, h, run_order(k0))] = P[k0, h]
                pt[swz(H, h, run_order(k0 + 8))] = P[k0 + 8, h]
out = np.zeros((D, H))
for w in range(4):
    for lane in range(32):
        g, t = lane // 4, lane % 4
        for mb in range(D // 64):
            for kk in range(TK // 16):
                dim = 64 * mb + 16 * w + g
                x = [sv[pal_v_at(dim, 16 * kk + 4 * t + i)] for i in range(4)]
                y = [sv[pal_v_at(dim + 8, 16 * kk + 4 * t + i)] for i in range(4)]
                for ks, a in ((0, (x[0], y[0], x[1], y[1])), (1, (x[2], y[2], x[3], y[3]))):
                    s = 2 * kk + ks
                    for n in range(H):
                        out[dim, n] += a[0] * Bp(8 * s + t, n) + a[2] * Bp(8 * s + t + 4, n)
                        out[dim + 8, n] += a[1] * Bp(8 * s + t, n) + a[3] * Bp(8 * s + t + 4, n)
print("pal O err", np.abs(out - V.T @ P).max())
