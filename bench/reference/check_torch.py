#!/usr/bin/python3
"""Independent check of hypercsc's unrolled networks against PyTorch autograd.

    /usr/bin/python3 bench/reference/check_torch.py DIR [DIR ...]

DIR is written by `bench_nn ... --dump DIR` (layout.txt, params.f32,
grads.f32, input.f32, clean.f32, output.f32; see hcsc_torch.load_dump).
For each dump: the network of hcsc_torch.py (written from nn.h's formulas,
not from the C code) is run in DOUBLE precision on the same input and
parameters; the loss L = 1/2 mean over the batch of sum (y - c)^2 / n
(n = values of one sample, as hcsc_nn_mse, gradients averaged over the
batch as the trainer does) is backpropagated by autograd.  Compared:

  * the noise estimates (sigma_b, s per sample)    rel. error < 1e-9
  * the output y (C float32 vs double)              rel. L2 error < 1e-4
  * the loss                                        rel. error < 1e-4
  * each parameter gradient                         rel. L2 error < 1e-3

Why these tolerances: the C network computes in float32 with sums of up to
M C k^2 ~ 6e5 products per output value through T = 8-12 layers; float32
rounding (2^-24 ~ 6e-8 per operation, growing like sqrt(terms) x layers)
gives relative errors around 1e-6 - 1e-5 for the output.  Gradients add the
weight-gradient sums over all pixels, and a code entry that lies within
rounding of its threshold can switch between active and inactive, which
changes a few gradient terms by O(1) relative: 1e-3 leaves room for a
handful of such flips while any wrong formula, sign, missing term or edge
rule gives errors of order 1e-1 or more.  The script prints the measured
errors; exit status 0 when all are within tolerance, 1 otherwise.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hcsc_torch as ht  # noqa: E402

TOL = {"noise": 1e-9, "output": 1e-4, "loss": 1e-4, "grad": 1e-3}


def rel(a, b):
    a, b = a.double(), b.double()
    nb = float(b.norm())
    return float((a - b).norm()) / (nb if nb > 0 else 1.0)


def check(path):
    cfg, info, p32, g32, x, clean, y32, cnoise = ht.load_dump(path)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    ok = True
    p = {k: v.double().requires_grad_(True) for k, v in p32.items()}
    xd, cd = x.double(), clean.double()
    sigma, wt, s = ht.noise_estimate(xd, cfg.adapt)
    print("%s: %s B=%d T=%d batch %d of %d x %d, params %d, adapt %d"
          % (path, cfg.arch, cfg.bands, cfg.iters, x.shape[0], x.shape[2], x.shape[3],
             sum(v.numel() for v in p.values()), cfg.adapt))
    if cnoise:
        en = 0.0
        for n, (lev, sg) in cnoise.items():
            en = max(en, abs(lev - float(s[n])) / float(s[n]),
                     rel(torch.tensor(sg, dtype=torch.float64), sigma[n]))
        good = en < TOL["noise"]
        ok &= good
        print("  noise estimates (sigma_b, s)   rel. error %.2e  %s" % (en, "ok" if good else "FAIL"))
    fig = {}
    y = ht.forward(cfg, p, xd, noise=(sigma, wt, s), figures=fig)
    eo = rel(y32, y.detach())
    good = eo < TOL["output"]
    ok &= good
    print("  output y                       rel. L2 error %.2e  %s   (code density torch %.4f, C %s)"
          % (eo, "ok" if good else "FAIL", fig["code_density"], info.get("code_density", "?")))
    loss = 0.5 * ((y - cd) ** 2).flatten(1).mean(dim=1).mean()
    loss.backward()
    if "loss" in info:
        el = abs(float(info["loss"]) - float(loss)) / abs(float(loss))
        good = el < TOL["loss"]
        ok &= good
        print("  loss %.8g (C %s)       rel. error %.2e  %s" % (float(loss), info["loss"], el,
                                                             "ok" if good else "FAIL"))
    for name, v in p.items():
        eg = rel(g32[name], v.grad)
        good = eg < TOL["grad"]
        ok &= good
        print("  grad %-8s %-18s rel. L2 error %.2e  %s   (|grad| %.3e)"
              % (name, "x".join(str(d) for d in v.shape), eg, "ok" if good else "FAIL",
                 float(v.grad.norm())))
    return ok


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    print("adjoint check (analysis vs vjp of synthesis, double): max rel. diff %.2e"
          % ht.adjoint_check())
    ok = True
    for d in argv:
        ok &= check(d)
    print("check_torch: %s" % ("all within tolerance" if ok else "SOME CHECKS FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
