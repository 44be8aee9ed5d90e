#!/usr/bin/python3
"""Per-iteration time of SPORCO's consensus dictionary learning, reimplemented
in NumPy, on the problem bench_cdl times.

SPORCO cannot be installed here (no PyPI, no Debian package), so this
re-implements what one outer iteration of
sporco.dictlrn.cbpdndl.ConvBPDNDictLearn with dmethod='cns' does (written
from Garcia-Cardona & Wohlberg, "Convolutional dictionary learning: a
comparative review and new algorithms", IEEE TCI 2018, and SPORCO's
documented structure; not copied, not SPORCO itself):

  * SPORCO's array layout: spatial axes first, S (N1, N2, C, K, 1),
    D (N1, N2, C, 1, M), codes (N1, N2, 1, K, M), consensus members
    (N1, N2, C, K, M); numpy.fft.rfftn / irfftn over the spatial axes;
  * code step: one ConvBPDN iteration over the K signals at once (X-step by
    iterated Sherman-Morrison over the C channels, solvemdbi_ism, as SPORCO
    does for a multi-channel dictionary; relaxation 1.8; soft threshold; dual
    update; residual norms);
  * dictionary step: one ConvCnstrMOD_Consensus iteration (X-step by
    Sherman-Morrison over the M atoms per signal and channel, solvedbi_sm;
    Y = projection of the mean over signals of the relaxed members plus
    duals onto unit-norm atoms of k x k support; dual update; residuals);
  * the new dictionary's DFT for the next code step.

bench_cdl runs code_iters code iterations per outer iteration (3 by
default, as crops restart their codes); pass the same number here.  rho is
fixed.  Usage: sporco_cdl.py [K [crop [C [M [k [code_iters [iters]]]]]]]
(defaults: bench_cdl's 1-rank problem: K = 16 signals of 96 x 96 x 16,
M = 64 atoms of 8 x 8, 3 code iterations, 2 timed outer iterations).
"""
import sys
import time

import numpy as np

from sporco_cbpdn import fftn, ifftn, inner, machine, solvemdbi_ism


def shrink(v, t):
    return np.sign(v) * np.maximum(0, np.abs(v) - t)


def main():
    a = [int(v) for v in sys.argv[1:]]
    K, N, C, M, k, code_iters, iters = (a + [16, 96, 16, 64, 8, 3, 2][len(a):])[:7]
    lmbda, alpha, rho_x, rho_d = 0.1, 1.8, 50 * 0.1 + 1, 1.0
    machine()
    rng = np.random.default_rng(1)
    S = rng.standard_normal((N, N, C, K, 1)).astype(np.float32)
    G = np.zeros((N, N, C, 1, M), dtype=np.float32)
    G[:k, :k] = rng.standard_normal((k, k, C, 1, M))
    G /= np.sqrt(np.sum(G * G, axis=(0, 1, 2), keepdims=True))
    Sf = fftn(S)
    Y = np.zeros((N, N, 1, K, M), dtype=np.float32)
    U = np.zeros_like(Y)
    Ud = np.zeros((N, N, C, K, M), dtype=np.float32)
    times = []
    for it in range(iters + 1):
        t0 = time.perf_counter()
        Df = fftn(G)
        DSf = np.sum(np.conj(Df) * Sf, axis=2, keepdims=True)  # (N, N/2+1, 1, K, M)
        for _ in range(code_iters):
            b = DSf + rho_x * fftn(Y - U)
            Xf = solvemdbi_ism(Df, rho_x, b, 4, 2)
            X = ifftn(Xf, (N, N)).astype(np.float32)
            AX = alpha * X + (1 - alpha) * Y
            Yp = Y
            Y = shrink(AX + U, lmbda / rho_x).astype(np.float32)
            U = U + AX - Y
            r = np.linalg.norm(X - Y) / max(np.linalg.norm(X), np.linalg.norm(Y))
            s = np.linalg.norm(Y - Yp) / np.linalg.norm(U)
        # Dictionary step: members D_k (N, N, C, K, M).
        Zf = fftn(Y)  # (N, N/2+1, 1, K, M)
        ZSf = np.conj(Zf) * Sf  # (N, N/2+1, C, K, M)
        b = ZSf + rho_d * fftn(G - Ud)
        c = Zf / (inner(np.conj(Zf), Zf, 4) + rho_d)  # solvedbi_sm's factor
        Dkf = (b - np.conj(Zf) * inner(c, b, 4)) / rho_d
        Dk = ifftn(Dkf, (N, N)).astype(np.float32)
        ADk = alpha * Dk + (1 - alpha) * G
        Gp = G
        V = np.mean(ADk + Ud, axis=3, keepdims=True)
        G = np.zeros_like(V)
        G[:k, :k] = V[:k, :k]
        G /= np.maximum(1.0, np.sqrt(np.sum(G * G, axis=(0, 1, 2), keepdims=True)))
        Ud = Ud + ADk - G
        rd = np.linalg.norm(Dk - G) / max(np.linalg.norm(Dk), np.linalg.norm(G))
        sd = np.linalg.norm(G - Gp) / np.linalg.norm(Ud)
        if it > 0:
            times.append(time.perf_counter() - t0)
    per = min(times)
    print("NumPy ConvBPDNDictLearn(cns)-style: %d signals %d x %d x %d, %d atoms %d x %d, %d code "
          "iterations per outer: %.2f s/iteration (best of %d; last code residuals %.3g %.3g, "
          "consensus %.3g %.3g)" % (K, N, N, C, M, k, k, code_iters, per, iters, r, s, rd, sd))


if __name__ == "__main__":
    main()
