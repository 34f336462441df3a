"""Address model behind decode-nhd-row-pages.patch: for every lane and copy of an nhd / hnd tile
over pages under 16 slots, the generic plan's source and destination (its key's page by
shuffle, its own offsets) against the patch's (a lane base, the page's offset, a step that
repeats; periodic destinations). Prints each head dim and page size the patch serves: ok, or
the first mismatch; "no period" where it keeps the generic plan (16-bit rows of 32 chunks)."""

import random


def check(layout, fp8, D, PS, HKV=8, head=3):
    VEC = 16 if fp8 else 8
    CH = D // VEC
    KEYS = 16
    if 32 % CH:
        return None
    r = 32 // CH
    if PS >= KEYS or PS % r:
        return None
    SW = CH % 8 == 0
    ROW = D if SW else D + 8
    WIDE = (D // 16) % 8 == 0
    kswp = 0 if r < 2 else (1 if r >= 8 else 8 // r)
    P_k = 1 if fp8 else (kswp if SW else 1)
    P_v = (kswp if WIDE else 1) if fp8 else P_k
    if not P_k or not P_v:
        return "no period"
    stride = HKV * D if layout == "nhd" else D

    def addr0(page):
        return (page * PS * HKV + head) * D if layout == "nhd" else (page * HKV + head) * PS * D

    def in_page(slot, d):
        return slot * stride + d

    def dstK(t, c):
        return (
            (t * D + ((c ^ ((t & 1) << 2)) if WIDE else c) * 16)
            if fp8
            else (t * ROW + ((c ^ (t & 7)) if SW else c) * 8) * 2
        )

    def dstV(t, c):
        return (
            (t * D + ((c ^ (t & 7)) if WIDE else c) * 16)
            if fp8
            else (t * ROW + ((c ^ (t & 7)) if SW else c) * 8) * 2
        )

    copies = (KEYS * CH + 31) // 32
    pages = [random.randrange(1000) for _ in range(KEYS // PS)]
    for lane in range(32):
        t0, c0 = lane // CH, lane % CH
        first_src = in_page(t0 % PS, c0 * VEC)
        for dst, P in ((dstK, P_k), (dstV, P_v)):
            to = [dst((lane + 32 * b) // CH, (lane + 32 * b) % CH) - b * 512 for b in range(P)]
            for k in range(copies):
                n = lane + 32 * k
                if n >= KEYS * CH:
                    continue
                t, c = n // CH, n % CH
                page = pages[t // PS]
                g_src = addr0(page) + in_page(t % PS, c * VEC)
                m_src = addr0(0) + first_src + page * (PS * HKV * D) + (r * k % PS) * stride
                g_dst = dst(t, c)
                m_dst = to[k % P] + k * 512
                key = t0 + r * k
                if g_src != m_src or g_dst != m_dst or key != t:
                    return f"MISMATCH lane {lane} k {k}"
    return "ok"


for layout in ("nhd", "hnd"):
    for fp8 in (False, True):
        for D in (64, 80, 96, 112, 128, 192, 256):
            for PS in (2, 4, 8):
                r = check(layout, fp8, D, PS)
                if r:
                    print(layout, "fp8" if fp8 else "b16", D, PS, r)
