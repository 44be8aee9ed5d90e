#!/usr/bin/python3
"""Helpers of bench/quality.sh (the quality table, issue 6): ENVI .bsq I/O with
numpy only, the clean reference scenes, and the scikit-image baselines.

  quality_tools.py prep IN.hdr OUT.bsq [--crop N]
      float32 copy of an ENVI scene (optionally its top-left N x N crop) scaled
      to [0, 1] by its global min/max (the noise protocol's normalisation);
      wavelengths are kept.
  quality_tools.py skimage METHOD NOISY.bsq OUTPREFIX
      runs one scikit-image denoiser over its small sweep; writes
      OUTPREFIX_<param>.bsq (+ .hdr) for each value and prints one line per
      value: "<param> <seconds>" (seconds of the denoiser call alone).
      METHOD: tv (denoise_tv_chambolle on the (band, row, col) cube, i.e.
      spatial-spectral TV; weight 0.05, 0.1, 0.2, 0.4), wavelet
      (denoise_wavelet db2 soft, BayesShrink or VisuShrink, per band with
      channel_axis or on the 3-D cube; sigma estimated), nlm (denoise_nl_means with channel_axis:
      patch distance over all bands, fast_mode, patch 5, distance 6,
      h = 0.2, 0.4, 0.7, 1.0 x the mean per-band sigma of estimate_sigma).
  quality_tools.py stack OUT.bsq LIKE.hdr BAND.hdr...
      single-band ENVI files (OTB's per-band outputs) stacked into one cube.
  quality_tools.py bands IN OUT.bsq B1,B2,..
      the listed 0-based bands of a scene (OTB NL-means tuning subset).
  quality_tools.py rows IN OUT.bsq R0
      rows R0.. (0-based) of a scene: the rows the shipped models held out.

Only /usr/bin/python3 (Debian's numpy and skimage) is assumed.
"""
import os
import re
import sys
import time

import numpy as np

ENVI_TYPES = {1: np.uint8, 2: np.int16, 3: np.int32, 4: np.float32, 5: np.float64,
              12: np.uint16, 13: np.uint32}


def hdr_path(path):
    """ENVI header of a .bsq/.hdr path (x.bsq -> x.hdr, as GDAL names it)."""
    return re.sub(r"\.(bsq|hdr|img|envi|raw)$", "", path) + ".hdr"


def data_path(path):
    """Raw data of an ENVI scene named by its data file or its header (x.hdr ->
    x.bsq, x.img or x, the first that exists: OTB writes x.hdr + x)."""
    if not path.endswith(".hdr"):
        return path
    base = path[:-4]
    for cand in (base + ".bsq", base + ".img", base):
        if os.path.exists(cand):
            return cand
    raise SystemExit("%s: no data file beside the header" % path)


def read_hdr(path):
    text = open(hdr_path(path)).read()
    fields = {}
    for m in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, re.M):
        fields[m.group(1).strip().lower()] = m.group(2).strip()
    return fields


def read_envi(path):
    """(array (bands, lines, samples) float32, header fields)."""
    h = read_hdr(path)
    b, r, c = int(h["bands"]), int(h["lines"]), int(h["samples"])
    if h.get("interleave", "bsq").lower() != "bsq" or int(h.get("byte order", "0")) != 0:
        raise SystemExit("%s: only little-endian bsq is supported" % path)
    dt = np.dtype(ENVI_TYPES[int(h["data type"])]).newbyteorder("<")
    a = np.fromfile(data_path(path), dtype=dt, count=b * r * c,
                    offset=int(h.get("header offset", "0"))).reshape(b, r, c)
    return a.astype(np.float32), h


def write_envi(path, a, like=None):
    """Write a (bands, lines, samples) cube as float32 little-endian bsq + .hdr."""
    a = np.ascontiguousarray(a, dtype="<f4")
    b, r, c = a.shape
    a.tofile(path)
    lines = ["ENVI", "samples = %d" % c, "lines = %d" % r, "bands = %d" % b,
             "header offset = 0", "file type = ENVI Standard", "data type = 4",
             "interleave = bsq", "byte order = 0"]
    for key in ("wavelength units", "wavelength", "fwhm"):
        if like and key in like:
            lines.append("%s = %s" % (key, like[key]))
    with open(hdr_path(path), "w") as f:
        f.write("\n".join(lines) + "\n")


def cmd_prep(argv):
    src, dst = argv[0], argv[1]
    crop = int(argv[argv.index("--crop") + 1]) if "--crop" in argv else 0
    a, h = read_envi(src)
    if crop:
        a = a[:, :crop, :crop]
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo)
    write_envi(dst, a, h)


def sweep(method):
    """(label, function of the (bands, rows, cols) cube) for each value."""
    from skimage.restoration import (denoise_nl_means, denoise_tv_chambolle,
                                     denoise_wavelet, estimate_sigma)
    if method == "tv":
        # Weights relative to the [0, 1] data: the sweep brackets sigma 30..70.
        return [("w%g" % w, lambda x, w=w: denoise_tv_chambolle(x, weight=w, channel_axis=None))
                for w in (0.05, 0.1, 0.2, 0.4)]
    if method == "wavelet":
        # Per band (channel_axis, sigma estimated per band) or on the whole
        # cube as a 3-D signal (spatial-spectral wavelets), two thresholdings.
        def wav(x, m, cube):
            if cube:
                return denoise_wavelet(x, wavelet="db2", method=m, mode="soft", rescale_sigma=True)
            y = denoise_wavelet(np.moveaxis(x, 0, -1), wavelet="db2", method=m, mode="soft",
                                channel_axis=-1, rescale_sigma=True)
            return np.moveaxis(y, -1, 0)
        return [("%s_%s" % (m, "3d" if cube else "band"), lambda x, m=m, cube=cube: wav(x, m, cube))
                for m in ("BayesShrink", "VisuShrink") for cube in (False, True)]
    if method == "nlm":
        def nlm(x, f):
            y = np.moveaxis(x, 0, -1)
            s = float(np.mean(estimate_sigma(y, channel_axis=-1)))
            return np.moveaxis(denoise_nl_means(y, patch_size=5, patch_distance=6, h=f * s,
                                                sigma=s, fast_mode=True, channel_axis=-1), -1, 0)
        return [("h%g" % f, lambda x, f=f: nlm(x, f)) for f in (0.2, 0.4, 0.7, 1.0)]
    raise SystemExit("unknown method %s (tv, wavelet, nlm)" % method)


def cmd_stack(argv):
    """stack OUT.bsq LIKE.hdr BAND.hdr...: single-band ENVI files -> one cube."""
    out, like = argv[0], read_hdr(argv[1])
    write_envi(out, np.concatenate([read_envi(p)[0] for p in argv[2:]], axis=0), like)


def cmd_bands(argv):
    """bands IN OUT.bsq B1,B2,..: the listed 0-based bands of a scene."""
    a, h = read_envi(argv[0])
    idx = [int(b) for b in argv[2].split(",")]
    h = dict(h)
    if "wavelength" in h:
        w = h["wavelength"].strip("{}").split(",")
        h["wavelength"] = "{" + ",".join(w[i] for i in idx) + "}"
    write_envi(argv[1], a[idx], h)


def cmd_rows(argv):
    """rows IN OUT.bsq R0: rows R0.. (0-based) of a scene (the held-out rows)."""
    a, h = read_envi(argv[0])
    write_envi(argv[1], a[:, int(argv[2]):, :], h)


def cmd_skimage(argv):
    method, noisy, prefix = argv
    x, h = read_envi(noisy)
    x = x.astype(np.float64)
    for label, fn in sweep(method):
        t0 = time.perf_counter()
        y = fn(x)
        t = time.perf_counter() - t0
        write_envi("%s_%s.bsq" % (prefix, label), y, h)
        print("%s %.3f" % (label, t), flush=True)


if __name__ == "__main__":
    CMDS = {"prep": cmd_prep, "skimage": cmd_skimage, "stack": cmd_stack, "bands": cmd_bands,
            "rows": cmd_rows}
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        raise SystemExit(__doc__)
    CMDS[sys.argv[1]](sys.argv[2:])
