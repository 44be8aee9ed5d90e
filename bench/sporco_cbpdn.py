#!/usr/bin/python3
"""Per-iteration time of SPORCO's ConvBPDN iteration, reimplemented in NumPy.

SPORCO itself cannot be installed here (no PyPI, no Debian package), so this
is a faithful re-implementation of what one iteration of
sporco.admm.cbpdn.ConvBPDN does (written from the algorithm in Wohlberg,
"Efficient algorithms for convolutional sparse representations", IEEE TIP
2016, and SPORCO's documented structure, not copied):

  * arrays laid out as SPORCO's ConvRepIndexing: spatial axes first,
    S (N1, N2, C, 1, 1), D (N1, N2, C, 1, M), X/Y/U (N1, N2, 1, 1, M);
  * DFTs with numpy.fft.rfftn / irfftn over the two spatial axes;
  * X-step: b = D^H S + rho F(Y - U); C = 1: Sherman-Morrison
    (solvedbi_sm, with its factor c computed once per rho); C > 1: iterated
    Sherman-Morrison over the channel axis (solvemdbi_ism, which SPORCO
    recomputes at every call);
  * over-relaxation alpha = 1.8, Y = soft threshold, U update;
  * primal and dual residuals and their normalisers every iteration
    (numpy.linalg.norm), as SPORCO computes them for its stopping test.

rho is fixed (AutoRho off) so that the figures match bench_admm's, which
also times without refactorisation.  Run with /usr/bin/python3 (Debian's
python3-numpy).  Usage: sporco_cbpdn.py [iters [A|B|AB]]
"""
import os
import platform
import sys
import time

import numpy as np


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    print("machine: %s, %s, %d cores online; numpy %s, python %s, 1 process"
          % (platform.node(), model, os.cpu_count(), np.__version__, platform.python_version()))


def fftn(a):
    return np.fft.rfftn(a, axes=(0, 1))


def ifftn(a, shape):
    return np.fft.irfftn(a, s=shape, axes=(0, 1))


def inner(x, y, axis):
    """Sum of x * y over axis, keeping the axis (SPORCO's linalg.inner)."""
    return np.sum(x * y, axis=axis, keepdims=True)


def solvedbi_sm_c(ah, a, rho, axis):
    return ah / (inner(ah, a, axis) + rho)


def solvedbi_sm(ah, rho, b, c, axis):
    """(a a^H + rho I) x = b per frequency, a = conj(ah) (Sherman-Morrison)."""
    a = np.conj(ah)
    return (b - (a * inner(c, b, axis))) / rho


def solvemdbi_ism(ah, rho, b, axis_m, axis_k):
    """(rho I + sum_k a_k a_k^H) x = b per frequency, a_k = conj(ah_k) along
    axis_k, by iterated Sherman-Morrison (recomputed at every call)."""
    K = ah.shape[axis_k]
    a = np.conj(ah)
    us, betas = [], []
    x = b / rho
    for k in range(K):
        ak = np.take(a, [k], axis=axis_k)
        uk = ak / rho
        for ul, bl in zip(us, betas):
            uk = uk - ul * (inner(np.conj(ul), ak, axis_m) / bl)
        bk = 1.0 + inner(np.conj(ak), uk, axis_m)
        x = x - uk * (inner(np.conj(uk), b, axis_m) / bk)
        us.append(uk)
        betas.append(bk)
    return x


def run(name, N, C, M, k, iters, lmbda=0.1, alpha=1.8):
    rng = np.random.default_rng(1)
    s = rng.standard_normal((N, N, C, 1, 1)).astype(np.float32)
    d = rng.standard_normal((k, k, C, 1, M)).astype(np.float32)
    d /= np.sqrt(np.sum(d * d, axis=(0, 1, 2), keepdims=True))
    dp = np.zeros((N, N, C, 1, M), dtype=np.float32)
    dp[:k, :k] = d
    t0 = time.perf_counter()
    Df = fftn(dp).astype(np.complex64)
    Sf = fftn(s).astype(np.complex64)
    DSf = np.sum(np.conj(Df) * Sf, axis=2, keepdims=True)
    rho = 50.0 * lmbda + 1.0
    c = solvedbi_sm_c(Df, np.conj(Df), rho, 4) if C == 1 else None
    Y = np.zeros((N, N, 1, 1, M), dtype=np.float32)
    U = np.zeros_like(Y)
    setup = time.perf_counter() - t0
    times = []
    for it in range(iters):
        t0 = time.perf_counter()
        b = DSf + rho * fftn(Y - U)
        if C == 1:
            Xf = solvedbi_sm(Df, rho, b, c, 4).astype(np.complex64)
        else:
            Xf = solvemdbi_ism(Df, rho, b, 4, 2).astype(np.complex64)
        X = ifftn(Xf, (N, N)).astype(np.float32)
        AX = alpha * X + (1 - alpha) * Y
        Yprev = Y
        v = AX + U
        Y = (np.sign(v) * np.maximum(0, np.abs(v) - lmbda / rho)).astype(np.float32)
        U = U + AX - Y
        r = np.linalg.norm(X - Y)
        sd = rho * np.linalg.norm(Y - Yprev)
        rn = max(np.linalg.norm(X), np.linalg.norm(Y))
        sn = rho * np.linalg.norm(U)
        times.append(time.perf_counter() - t0)
    per = min(times) if times else 0.0
    print("%s: %d x %d x %d channels, %d atoms %d x %d: setup %.3f s, %.2f ms/iteration "
          "(best of %d iterations; last primal %.3g, dual %.3g)"
          % (name, N, N, C, M, k, k, setup, 1e3 * per, iters, r / rn, sd / sn))
    return per


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    which = sys.argv[2] if len(sys.argv) > 2 else "AB"
    machine()
    if "A" in which:
        run("A", 512, 1, 64, 8, iters)
    if "B" in which:
        run("B", 256, 16, 32, 8, iters)


if __name__ == "__main__":
    main()
