#!/usr/bin/python3
"""PyTorch reference of hypercsc's six unrolled CSC networks (include/hcsc/nn.h).

Written from the formulas of nn.h, not from the C code, so that it is an
independent check of the C forward pass and gradients (check_torch.py) and
the baseline of the benchmarks (bench/nn.sh).  Not a dependency of hypercsc.
Run with /usr/bin/python3 (Debian's python3-torch 1.13, CPU).

Conventions (nn.h, conv.h, grid.h):
  * tensors are [N, C, H, W]; a dictionary is [M, C, k, k] (hcsc_dict layout);
  * synthesis  x_c(p) = sum_m sum_ij d_mc(i,j) z~_m(p + (i-a, j-a)),
    a = (k-1)/2, z~ the half-sample symmetric extension of z (x[-1] = x[0],
    period 2n when the halo is wider than the map): a gather of mirrored
    indices, then conv2d with weight d.transpose(0, 1) (cross-correlation);
  * analysis = the exact adjoint: the transposed convolution of r (an
    (H+2a) x (W+2a) map, computed as conv2d of the zero-padded r with the
    flipped atoms: faster here than conv_transpose2d), then the border
    folded back onto its mirror images (the adjoint of the gather).
    adjoint_check() verifies it, and the conv_transpose2d form, against
    autograd's vjp of synthesis;
  * S(v) = sign(v) max(|v| - s th_m, 0) (nonneg: max(v - s th_m, 0)),
    th = max(theta, 0), s the noise level;
  * noise adaptivity: sigma_b = 1.4826 MAD of horizontal differences / sqrt 2
    (MAD = median |d - median d|, the median of an even count the mean of the
    two middle values), floored at 1e-3 max_b sigma_b and 1e-30 (estimated
    with adapt = 0 too, then unused);
    wt_b = (1/sigma_b^2) / max(1/sigma^2), omega_b = band_w_b wt_b,
    s = sqrt(sum wt^2 sigma^2 / sum wt^2); adapt = 0: wt = 1, s = 1.  The
    estimates are per sample (each patch is its own scene) and constants for
    backpropagation.

Parameter names and shapes are nn.h's (lista: A, Bm, Cm, theta, band_w; ...).
"""
import math

import torch
import torch.nn.functional as F

ARCHS = ("lista", "fista", "ladmm", "mlista", "multiscale", "ssc")


# ---------------------------------------------------------------- edges --

def mirror_index(n, pad, device=None):
    """Indices of -pad .. n+pad-1 under the scene-edge rule (period 2n)."""
    i = torch.arange(-pad, n + pad, device=device) % (2 * n)
    return torch.where(i >= n, 2 * n - 1 - i, i)


def pad_sym(z, a):
    """Half-sample symmetric extension of the last two axes by a."""
    if a == 0:
        return z
    H, W = z.shape[-2], z.shape[-1]
    if a <= H and a <= W:
        # Slices and flips: cheaper than a gather of the whole map.
        z = torch.cat([z[..., :a, :].flip(-2), z, z[..., H - a:, :].flip(-2)], dim=-2)
        return torch.cat([z[..., :, :a].flip(-1), z, z[..., :, W - a:].flip(-1)], dim=-1)
    z = z.index_select(-2, mirror_index(H, a, z.device))
    return z.index_select(-1, mirror_index(W, a, z.device))


def fold_sym(g, a):
    """Adjoint of pad_sym: add the border of an extended map onto its mirrors."""
    if a == 0:
        return g
    H, W = g.shape[-2] - 2 * a, g.shape[-1] - 2 * a
    if a <= H and a <= W:
        mid = g[..., a:a + H, :]
        rows = torch.cat([mid[..., :a, :] + g[..., :a, :].flip(-2), mid[..., a:H - a, :],
                          mid[..., H - a:, :] + g[..., H + a:, :].flip(-2)], dim=-2) \
            if H >= 2 * a else _fold_axis(g, a, H, -2)
        mid = rows[..., a:a + W]
        if W >= 2 * a:
            return torch.cat([mid[..., :a] + rows[..., :a].flip(-1), mid[..., a:W - a],
                              mid[..., W - a:] + rows[..., W + a:].flip(-1)], dim=-1)
        return _fold_axis(rows, a, W, -1)
    return _fold_axis(_fold_axis(g, a, H, -2), a, W, -1)


def _fold_axis(g, a, n, dim):
    shape = list(g.shape)
    shape[dim] = n
    out = torch.zeros(shape, dtype=g.dtype, device=g.device)
    return out.index_add(dim, mirror_index(n, a, g.device), g)


# ----------------------------------------------------------- operators --

def synth(z, d):
    """x = D z: z [N, M, H, W], d [M, C, k, k] -> [N, C, H, W]."""
    a = (d.shape[-1] - 1) // 2
    return F.conv2d(pad_sym(z, a), d.transpose(0, 1))


def analysis(r, d):
    """g = D^T r: r [N, C, H, W] -> [N, M, H, W], the exact adjoint of synth.

    conv_transpose2d(r, d.transpose(0, 1)) is the adjoint of the valid
    conv2d, but Debian's torch 1.13 runs it outside oneDNN at 5-10x the time
    for these shapes (7 GFLOP/s against 50-85 at 64 x 64 x 200), so the
    same (H+k-1) x (W+k-1) map is computed as conv2d of r zero-padded by
    k - 1 with the flipped atoms; then the border is folded back onto its
    mirror images (the adjoint of the symmetric extension)."""
    k = d.shape[-1]
    a = (k - 1) // 2
    full = F.conv2d(F.pad(r, (k - 1, k - 1, k - 1, k - 1)), d.flip(-2, -1))
    return fold_sym(full, a)


def analysis_convt(r, d):
    """The same through conv_transpose2d (slow here; for the adjoint check)."""
    a = (d.shape[-1] - 1) // 2
    return fold_sym(F.conv_transpose2d(r, d.transpose(0, 1)), a)


def analysis_vjp(r, d):
    """D^T r by autograd: the vjp of synth (slow; for adjoint_check)."""
    with torch.enable_grad():
        z = torch.zeros(r.shape[0], d.shape[0], r.shape[2], r.shape[3], dtype=r.dtype,
                        requires_grad=True)
        (g,) = torch.autograd.grad(synth(z, d.detach()), z, grad_outputs=r)
    return g


def spectral(x, p):
    """Per-pixel matrix product: p [out, in], x [N, in, H, W]."""
    return F.conv2d(x, p[:, :, None, None])


def lattice(z, s):
    """Keep rows and columns divisible by s (the patch is the scene)."""
    if s == 1:
        return z
    m = torch.zeros(z.shape[-2], z.shape[-1], dtype=z.dtype, device=z.device)
    m[::s, ::s] = 1
    return z * m


def fista_betas(T):
    tau, out = 1.0, []
    for _ in range(T):
        nxt = (1 + math.sqrt(1 + 4 * tau * tau)) / 2
        out.append((tau - 1) / nxt)
        tau = nxt
    return out  # out[t-1] = beta_t


# --------------------------------------------------------------- noise --

def noise_estimate(x, adapt=True):
    """Per-sample (sigma [N, B], wt [N, B], s [N]) as nn.h defines them, in double."""
    import numpy as np
    N, B = x.shape[0], x.shape[1]
    xn = x.detach().cpu().numpy()
    sigma = torch.full((N, B), float("nan"), dtype=torch.float64)
    if xn.shape[3] >= 2 and xn.shape[2] * (xn.shape[3] - 1) >= 2:
        # Band by band in numpy: np.median is the mean of the two middle
        # values for an even count (as hcsc_stats) and runs in O(n); small
        # arrays reuse the heap, where whole-batch temporaries page-fault
        # (4 s instead of 0.8 s for 128 x 128 x 200 on this VM).
        r2 = 1.0 / math.sqrt(2.0)
        for n in range(N):
            for b in range(B):
                v = xn[n, b].astype(np.float64)
                d = ((v[:, :-1] - v[:, 1:]) * r2).ravel()
                med = np.median(d)
                sigma[n, b] = 1.4826 * float(np.median(np.abs(d - med)))
    ok = ~torch.isnan(sigma)
    mx = torch.where(ok, sigma, torch.zeros_like(sigma)).max(dim=1).values
    mx = torch.where(ok.any(dim=1), mx, torch.ones_like(mx))
    sigma = torch.where(ok, sigma, mx[:, None].expand(N, B))
    floor = torch.clamp(1e-3 * mx, min=1e-30)
    sigma = torch.maximum(sigma, floor[:, None])
    rho = 1.0 / (sigma * sigma)
    wt = rho / rho.max(dim=1, keepdim=True).values
    s = torch.sqrt((wt * wt * sigma * sigma).sum(dim=1) / (wt * wt).sum(dim=1))
    if not adapt:  # sigma is still estimated (and reported); wt = 1, s = 1
        return sigma, torch.ones_like(wt), torch.ones_like(s)
    return sigma, wt, s


# ------------------------------------------------------------ networks --

class Config:
    """hcsc_nn_config: arch, bands, iters, rank, nlayers, natoms, ksize, scales,
    momentum, nonneg, adapt."""

    def __init__(self, arch, bands, iters=None, rank=0, nlayers=1, natoms=None, ksize=None,
                 scales=None, momentum=0, nonneg=0, adapt=1):
        self.arch, self.bands, self.rank = arch, bands, rank
        defaults = {  # nn.h's reference sizes
            "lista": (12, 1, [64], [7], [1]), "fista": (12, 1, [64], [7], [1]),
            "ladmm": (12, 1, [64], [7], [1]), "mlista": (8, 2, [32, 64], [5, 5], [1, 1]),
            "multiscale": (8, 3, [32, 32, 32], [5, 9, 17], [1, 2, 4]),
            "ssc": (8, 1, [64], [5], [1])}
        T, L, M, k, sc = defaults[arch]
        self.iters = iters or T
        self.nlayers = nlayers if natoms else L
        self.natoms = list(natoms or M)[:self.nlayers]
        self.ksize = list(ksize or k)[:self.nlayers]
        self.scales = list(scales or sc)[:self.nlayers]
        if arch == "ssc" and not rank:
            self.rank = 16
        self.momentum, self.nonneg, self.adapt = momentum, nonneg, adapt

    def shapes(self):
        """Parameter names and shapes, in the table order of nn.h."""
        B, T, M, k = self.bands, self.iters, self.natoms, self.ksize
        a = self.arch
        if a == "lista":
            return [("A", (M[0], B, k[0], k[0])), ("Bm", (M[0], B, k[0], k[0])),
                    ("Cm", (M[0], B, k[0], k[0])), ("theta", (T, M[0])), ("band_w", (B,))]
        if a == "fista":
            return [("D", (M[0], B, k[0], k[0])), ("eta", (T,)), ("theta", (T, M[0])),
                    ("band_w", (B,))]
        if a == "ladmm":
            return [("D", (M[0], B, k[0], k[0])), ("eta", (T,)), ("rho", (T,)),
                    ("theta", (T, M[0])), ("band_w", (B,))]
        if a == "mlista":
            L = self.nlayers
            ch = [B] + M
            return ([("D%d" % (l + 1), (M[l], ch[l], k[l], k[l])) for l in range(L)]
                    + [("theta%d" % (l + 1), (M[l],)) for l in range(L)]
                    + [("eta", (L,)), ("band_w", (B,))])
        if a == "multiscale":
            L = self.nlayers
            return ([("D%d" % (l + 1), (M[l], B, k[l], k[l])) for l in range(L)]
                    + [("eta", (T,)), ("theta", (T, L, max(M))), ("band_w", (B,))])
        if a == "ssc":
            r = self.rank
            return [("P", (r, B)), ("Q", (B, r)), ("A", (M[0], r, k[0], k[0])),
                    ("Bm", (M[0], r, k[0], k[0])), ("Cm", (M[0], r, k[0], k[0])),
                    ("theta", (T, M[0])), ("band_w", (B,))]
        raise ValueError("unknown architecture %r" % a)


def random_params(cfg, seed=1, dtype=torch.float32):
    """Random but plausible parameters (unit-norm atoms, ISTA-like steps and
    thresholds): for timings and self-tests, not nn_arch_init's values."""
    g = torch.Generator().manual_seed(seed)
    p = {}
    for name, shape in cfg.shapes():
        if len(shape) == 4:
            d = torch.randn(shape, generator=g, dtype=torch.float64)
            d /= d.flatten(1).norm(dim=1)[:, None, None, None]
            p[name] = d
        elif name in ("P", "Q"):
            q, _ = torch.linalg.qr(torch.randn(cfg.bands, cfg.rank, generator=g, dtype=torch.float64))
            p[name] = q.t().contiguous() if name == "P" else q
        elif name == "band_w":
            p[name] = 1 + 0.1 * torch.rand(shape, generator=g, dtype=torch.float64)
        else:  # eta, rho, theta: small positive scalars
            p[name] = 0.05 * (1 + 0.2 * torch.rand(shape, generator=g, dtype=torch.float64))
    # Untied lista/ssc operators start as ISTA: A = D / L with L ~ ||D||^2.
    for name in ("A",):
        if name in p:
            p[name] = p[name] * 0.05
    return {k: v.to(dtype) for k, v in p.items()}


def forward(cfg, p, x, noise=None, figures=None):
    """y = f(x) for params p (dict name -> tensor) on x [N, B, H, W].
    noise: (sigma, wt, s) from noise_estimate (None: estimated here).
    figures: a dict that receives code_density (mean over thresholds)."""
    if noise is None:
        noise = noise_estimate(x, cfg.adapt)
    _, wt, s = noise
    wt, s = wt.to(x.dtype), s.to(x.dtype)
    om = (p["band_w"][None, :] * wt)[:, :, None, None]  # [N, B, 1, 1]
    sv = s[:, None]  # per-sample noise level, broadcast over atoms
    dens = []

    def S(v, theta):
        t = (sv * theta.clamp(min=0)[None, :])[:, :, None, None]
        out = F.relu(v - t) if cfg.nonneg else torch.sign(v) * F.relu(v.abs() - t)
        if figures is not None:
            dens.append(float((out != 0).sum()) / out.numel())
        return out

    a, T = cfg.arch, cfg.iters
    if a == "lista":
        A, Bm, Cm, th = p["A"], p["Bm"], p["Cm"], p["theta"]
        z = S(analysis(om * x, A), th[0])
        for t in range(1, T):
            z = S(z + analysis(om * (x - synth(z, Bm)), A), th[t])
        y = synth(z, Cm)
    elif a == "ssc":
        P, Q, A, Bm, Cm, th = p["P"], p["Q"], p["A"], p["Bm"], p["Cm"], p["theta"]
        z = S(analysis(spectral(om * x, P), A), th[0])
        for t in range(1, T):
            z = S(z + analysis(spectral(om * (x - spectral(synth(z, Bm), Q)), P), A), th[t])
        y = spectral(synth(z, Cm), Q)
    elif a == "fista":
        D, eta, th = p["D"], p["eta"], p["theta"]
        beta = fista_betas(T)
        z = S(eta[0] * analysis(om * x, D), th[0])
        zprev = torch.zeros_like(z)
        for t in range(1, T):
            v = z + beta[t - 1] * (z - zprev) if beta[t - 1] != 0 else z
            zprev, z = z, S(v + eta[t] * analysis(om * (x - synth(v, D)), D), th[t])
        y = synth(z, D)
    elif a == "ladmm":
        D, eta, rho, th = p["D"], p["eta"], p["rho"], p["theta"]
        z = q = u = None
        for t in range(T):
            if z is None:  # z_0 = q_0 = u_0 = 0
                z = eta[0] * analysis(om * x, D)
                q = S(z, th[0])
                u = z - q
                continue
            z = z + eta[t] * (analysis(om * (x - synth(z, D)), D) - rho[t] * (z - q + u))
            q_new = S(z + u, th[t])
            u = u + z - q_new
            q = q_new
        y = synth(q, D)
    elif a == "mlista":
        L = cfg.nlayers
        D = [p["D%d" % (l + 1)] for l in range(L)]
        th = [p["theta%d" % (l + 1)] for l in range(L)]
        eta = p["eta"]
        beta = fista_betas(T)
        g = gprev = None
        for t in range(T):
            if g is None:  # g_0 = 0: the layered thresholding of x
                h = S(eta[0] * analysis(om * x, D[0]), th[0])
                for l in range(1, L):
                    h = S(eta[l] * analysis(h, D[l]), th[l])
            else:
                # hat[l] = D(l+1..L) g, in the space of layer l (hat[L-1] = g)
                hat = [None] * L
                hat[L - 1] = g
                for l in range(L - 2, -1, -1):
                    hat[l] = synth(hat[l + 1], D[l + 1])
                h = S(hat[0] - eta[0] * analysis(om * (synth(hat[0], D[0]) - x), D[0]), th[0])
                for l in range(1, L):
                    h = S(hat[l] - eta[l] * analysis(synth(hat[l], D[l]) - h, D[l]), th[l])
            gnew = h
            if cfg.momentum and gprev is not None and t < T - 1:
                g = gnew + beta[t] * (gnew - gprev)
            else:
                g = gnew
            gprev = gnew
        y = gnew  # g_T, not extrapolated
        for l in range(L - 1, -1, -1):
            y = synth(y, D[l])
    elif a == "multiscale":
        L = cfg.nlayers
        D = [p["D%d" % (l + 1)] for l in range(L)]
        eta, th = p["eta"], p["theta"]
        M = cfg.natoms
        z = [lattice(S(eta[0] * analysis(om * x, D[l]), th[0, l, :M[l]]), cfg.scales[l])
             for l in range(L)]
        for t in range(1, T):
            r = x
            for l in range(L):
                r = r - synth(z[l], D[l])
            r = om * r
            z = [lattice(S(z[l] + eta[t] * analysis(r, D[l]), th[t, l, :M[l]]), cfg.scales[l])
                 for l in range(L)]
        y = synth(z[0], D[0])
        for l in range(1, L):
            y = y + synth(z[l], D[l])
    else:
        raise ValueError("unknown architecture %r" % a)
    if figures is not None:
        figures["code_density"] = sum(dens) / max(len(dens), 1)
    return y


def flops(cfg, H, W):
    """Forward flops per sample as hcsc_nn_exec_figures counts them: 2 M C k^2
    per pixel per convolution, 2 r B per pixel per spectral product."""
    B, T, M, k = cfg.bands, cfg.iters, cfg.natoms, cfg.ksize
    px = H * W
    conv = lambda m, c, kk: 2.0 * m * c * kk * kk * px
    a = cfg.arch
    if a == "lista":
        return conv(M[0], B, k[0]) * (1 + 2 * (T - 1) + 1)
    if a in ("fista", "ladmm"):
        return conv(M[0], B, k[0]) * (1 + 2 * (T - 1) + 1)
    if a == "ssc":
        r = cfg.rank
        return conv(M[0], r, k[0]) * (2 * T) + 2.0 * r * B * px * (2 * T)
    if a == "multiscale":
        return sum(conv(M[l], B, k[l]) for l in range(cfg.nlayers)) * (1 + 2 * (T - 1) + 1)
    if a == "mlista":
        ch = [B] + M
        c = [conv(M[l], ch[l], k[l]) for l in range(cfg.nlayers)]
        # first iteration: one analysis per layer; then per iteration the chain
        # D(2..L) g (layers 2..L), and per layer one synthesis + one analysis;
        # the output D(1..L) g.
        it = sum(c[1:]) + 2 * sum(c)
        return sum(c) + (T - 1) * it + sum(c)
    return 0.0


def adjoint_check(seed=0, dtype=torch.float64):
    """max relative difference between analysis() and the vjp of synth(), over
    several shapes including halos wider than the map."""
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for (N, M, C, H, W, k) in ((2, 3, 4, 9, 7, 3), (1, 4, 2, 6, 11, 5), (1, 2, 3, 5, 4, 7),
                               (1, 2, 2, 3, 3, 9)):
        d = torch.randn(M, C, k, k, generator=g, dtype=dtype)
        r = torch.randn(N, C, H, W, generator=g, dtype=dtype)
        z = torch.randn(N, M, H, W, generator=g, dtype=dtype)
        a1, a2, a3 = analysis(r, d), analysis_vjp(r, d), analysis_convt(r, d)
        worst = max(worst, float((a1 - a2).abs().max() / a2.abs().max()),
                    float((a3 - a2).abs().max() / a2.abs().max()))
        # <D z, r> = <z, D^T r>
        lhs, rhs = float((synth(z, d) * r).sum()), float((z * a1).sum())
        worst = max(worst, abs(lhs - rhs) / abs(lhs))
    return worst


# ------------------------------------------------------------- dumps --

def load_dump(path):
    """Read a dump written by bench_nn --dump DIR: returns (cfg, info, params,
    grads, x, clean, y, noise).  layout.txt holds the configuration, the
    sizes, the loss and one "param NAME ndim d0 d1 d2 d3 offset count" line
    per entry; params.f32 / grads.f32 the flat arrays (float32, native order),
    input.f32 / clean.f32 / output.f32 the [N, B, H, W] tensors, and a
    "noise SAMPLE level sigma_0 .. sigma_{B-1}" line per sample gives the C
    noise estimates."""
    import os
    info, table, noise = {}, [], {}
    with open(os.path.join(path, "layout.txt")) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "param":
                nd = int(w[2])
                table.append((w[1], tuple(int(v) for v in w[3:3 + nd]), int(w[7]), int(w[8])))
            elif w[0] == "noise":
                noise[int(w[1])] = (float(w[2]), [float(v) for v in w[3:]])
            else:
                info[w[0]] = w[1:] if len(w) > 2 else w[1]
    ints = lambda k: [int(v) for v in info[k]]
    cfg = Config(info["arch"], int(info["bands"]), iters=int(info["iters"]), rank=int(info["rank"]),
                 nlayers=int(info["nlayers"]), natoms=ints("natoms"), ksize=ints("ksize"),
                 scales=ints("scales"), momentum=int(info["momentum"]), nonneg=int(info["nonneg"]),
                 adapt=int(info["adapt"]))
    flat = lambda n: torch.from_numpy(__import__("numpy").fromfile(os.path.join(path, n), dtype="float32"))
    P, G = flat("params.f32"), flat("grads.f32")
    params = {n: P[o:o + c].reshape(sh).clone() for n, sh, o, c in table}
    grads = {n: G[o:o + c].reshape(sh).clone() for n, sh, o, c in table}
    N, H, W = int(info["batch"]), int(info["rows"]), int(info["cols"])
    shp = (N, cfg.bands, H, W)
    x, clean, y = (flat(n).reshape(shp) for n in ("input.f32", "clean.f32", "output.f32"))
    return cfg, info, params, grads, x, clean, y, noise


# ---------------------------------------------------------- benchmarks --

def _machine(threads):
    import os
    import platform
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()
    print("machine: %s, %s, %d cores online; load average %.2f %.2f %.2f; torch %s (%s), "
          "%d thread(s)" % (platform.node(), model, os.cpu_count(), load[0], load[1], load[2],
                            torch.__version__, "oneDNN" if torch.backends.mkldnn.is_available()
                            else "no oneDNN", threads))


def bench(arch, mode, batch, size, bands, threads, reps, params_dir=None, seed=1, warmup=1):
    """Time inference (mode "infer": no autograd) or one training step (mode
    "train": forward, loss, backward, Adam) on batch x bands x size x size
    random inputs; warmup untimed runs, then the median of reps.  Returns a
    dict of figures and prints a RESULT line."""
    import statistics
    import time
    torch.set_num_threads(threads)
    if params_dir:
        cfg, _, p, _, _, _, _, _ = load_dump(params_dir)
    else:
        cfg = Config(arch, bands)
        p = random_params(cfg, seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, cfg.bands, size, size, generator=g)
    x = x + 0.1 * torch.randn(x.shape, generator=g)
    c = x.clone()
    times, fig = [], {}
    if mode == "train":
        for v in p.values():
            v.requires_grad_(True)
        opt = torch.optim.Adam(list(p.values()), lr=1e-4)
    for rep in range(reps + warmup):
        t0 = time.perf_counter()
        if mode == "infer":
            with torch.inference_mode():
                y = forward(cfg, p, x, figures=fig if rep == 0 else None)
        else:  # the step of a training loop: zero, forward, loss, backward, Adam
            opt.zero_grad(set_to_none=True)
            y = forward(cfg, p, x, figures=fig if rep == 0 else None)
            loss = 0.5 * ((y - c) ** 2).mean()
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        if rep >= warmup:
            times.append(dt)
    sec = statistics.median(times)
    fl = flops(cfg, size, size) * batch * (1 if mode == "infer" else 3)
    out = {"arch": cfg.arch, "mode": mode, "threads": threads, "batch": batch, "size": size,
           "bands": cfg.bands, "sec": sec, "mpxb_s": batch * size * size * cfg.bands / sec / 1e6,
           "gflops": fl / sec / 1e9, "density": fig.get("code_density", float("nan"))}
    print("RESULT impl=torch arch=%s mode=%s threads=%d batch=%d size=%d bands=%d sec=%.4f "
          "mpxb_s=%.3f gflops=%.2f density=%.3f reps=%d min=%.4f max=%.4f"
          % (out["arch"], mode, threads, batch, size, cfg.bands, sec, out["mpxb_s"], out["gflops"],
             out["density"], reps, min(times), max(times)), flush=True)
    return out


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    b = sub.add_parser("bench", help="time inference or a training step")
    b.add_argument("--arch", default="lista", choices=ARCHS)
    b.add_argument("--mode", default="infer", choices=("infer", "train"))
    b.add_argument("--batch", type=int, default=1)
    b.add_argument("--size", type=int, default=128)
    b.add_argument("--bands", type=int, default=200)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--reps", type=int, default=3)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--params", help="a bench_nn --dump DIR: its configuration and weights")
    sub.add_parser("selftest", help="adjoint check of analysis against autograd")
    a = ap.parse_args(argv)
    if a.cmd == "bench":
        _machine(a.threads)
        bench(a.arch, a.mode, a.batch, a.size, a.bands, a.threads, a.reps, a.params, warmup=a.warmup)
        return 0
    err = adjoint_check()
    print("adjoint check (analysis vs vjp of synthesis, double): max rel. diff %.2e" % err)
    return 0 if err < 1e-12 else 1


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
