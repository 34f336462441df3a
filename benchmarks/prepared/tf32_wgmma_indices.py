"""Index check of decode-tf32-wgmma.patch without a GPU (thirty-sixth session): K / V tiles placed
as its copies place them (`nhd` rows with their swizzles, `pal` tiles as in their pages), Q and
P^T as wgmma B tiles (128-byte swizzle; Q's dims and `pal` P^T's keys in `run_order`), every
lane's A fragments read as the kernel reads them, and wgmma taken as D[m][n] += sum_k A[m][k]
B[k][n] with A's registers laid out as mma.m16n8k8's (the patch's one unverified assumption).
Prints the largest error of S^T = K Q^T and O^T = V^T P^T (float64) per layout, and checks that
every P^T element is written once.

    python benchmarks/prepared/tf32_wgmma_indices.py
"""

import numpy as np

D, TK, H = 128, 64, 32  # head dim, keys a tile, heads a CTA
rng = np.random.default_rng(0)
K, V = rng.standard_normal((TK, D)), rng.standard_normal((TK, D))
Q, P = rng.standard_normal((H, D)), rng.random((TK, H))


def swizzled(rows, row, col):
    """wgmma's K-major TF32 tile: 32-element column blocks, chunk c of row r at c ^ (r % 8)."""
    return col // 32 * (rows * 32) + row * 32 + (((col // 4) % 8) ^ (row % 8)) * 4 + col % 4


def run_order(e):
    """The A fragments' K order over runs of 16 (see the patch's `run_order`)."""
    q, r = e // 16, e % 16
    return 8 * (2 * q + r % 4 // 2) + r // 4 + 4 * (r % 2)


LAYOUTS = {
    # name: (K's place of (key, chunk), V's place of (key, dim), P^T's K order of a key)
    "nhd": (
        lambda key, c: key * D + 4 * (c ^ ((key & 1) << 2)),
        lambda key, d: key * D + 4 * ((d // 4) ^ ((key & 3) << 1)) + d % 4,
        lambda key: key,
    ),
    "pal": (
        lambda key, c: (c * TK + (key ^ ((c & 3) << 1))) * 4,
        lambda key, d: d * TK + 4 * ((key // 4) ^ ((d & 1) << 2)) + key % 4,
        run_order,
    ),
}


def lanes():
    for w in range(4):
        for lane in range(32):
            yield w, lane // 4, lane % 4


def mma(acc, rows, a, b):
    """acc[rows[0] / rows[1]] += A B for one k-step: a = (a0, a1, a2, a3), b(k) = B's row k."""
    g_row, g8_row = rows
    acc[g_row] += a[0] * b[0] + a[2] * b[1]
    acc[g8_row] += a[1] * b[0] + a[3] * b[1]


assert sorted(run_order(e) for e in range(TK)) == list(range(TK))
q_tile = np.zeros(H * D)
for h in range(H):
    for d in range(D):
        q_tile[swizzled(H, h, run_order(d))] = Q[h, d]

for name, (k_at, v_at, p_order) in LAYOUTS.items():
    k_tile, v_tile = np.zeros(TK * D), np.zeros(TK * D)
    for key in range(TK):
        for d in range(D):
            k_tile[k_at(key, d // 4) + d % 4] = K[key, d]
            v_tile[v_at(key, d)] = V[key, d]
    p_tile, written = np.zeros(H * TK), np.zeros(H * TK)
    for w, g, t in lanes():  # P^T as the softmax writes it: heads 8 b + 2 t + hh, keys 16 w + g, + 8
        for h in (8 * b + 2 * t + hh for b in range(4) for hh in range(2)):
            for key in (16 * w + g, 16 * w + g + 8):
                p_tile[swizzled(H, h, p_order(key))] = P[key, h]
                written[swizzled(H, h, p_order(key))] += 1
    assert (written == 1).all(), name

    def b_column(tile, s, t):
        """Rows k = t and t + 4 of k-step s of a B tile, over the heads."""
        return [np.array([tile[swizzled(H, n, 8 * s + k)] for n in range(H)]) for k in (t, t + 4)]

    scores = np.zeros((TK, H))
    for w, g, t in lanes():  # rows g / g + 8: keys 16 w + g, + 8; a read: dims 16 c + 4 t .. + 3
        for c in range(D // 16):
            x = [k_tile[k_at(16 * w + g, 4 * c + t) + i] for i in range(4)]
            y = [k_tile[k_at(16 * w + g + 8, 4 * c + t) + i] for i in range(4)]
            for ks in range(2):
                a = (x[2 * ks], y[2 * ks], x[2 * ks + 1], y[2 * ks + 1])
                mma(scores, (16 * w + g, 16 * w + g + 8), a, b_column(q_tile, 2 * c + ks, t))
    out = np.zeros((D, H))
    for w, g, t in lanes():
        for mb in range(D // 64):
            if name == "pal":  # rows: dims 64 mb + 16 w + g, + 8; a read: 4 keys of a dim
                dim = 64 * mb + 16 * w + g
                for kk in range(TK // 16):
                    x = [v_tile[v_at(16 * kk + 4 * t + i, dim)] for i in range(4)]
                    y = [v_tile[v_at(16 * kk + 4 * t + i, dim + 8)] for i in range(4)]
                    for ks in range(2):
                        a = (x[2 * ks], y[2 * ks], x[2 * ks + 1], y[2 * ks + 1])
                        mma(out, (dim, dim + 8), a, b_column(p_tile, 2 * kk + ks, t))
            else:  # rows: dims 64 mb + 16 w + 2 g, + 1; reads of 2 dims of keys 8 ks + t, + 4
                dim = 64 * mb + 16 * w + 2 * g
                for ks in range(TK // 8):
                    lo = [v_tile[v_at(8 * ks + t, dim + i)] for i in range(2)]
                    hi = [v_tile[v_at(8 * ks + t + 4, dim + i)] for i in range(2)]
                    mma(out, (dim, dim + 1), (lo[0], lo[1], hi[0], hi[1]), b_column(p_tile, ks, t))
    print(f"{name}: S err {np.abs(scores - K @ Q.T).max():.1e}, O err {np.abs(out - V.T @ P).max():.1e}")
