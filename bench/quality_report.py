#!/usr/bin/python3
"""bench/quality_report.py ROWS.csv [ROWS2.csv ...] OUTDIR: the quality table
from the rows of bench/quality.sh (one per method, parameter, scene and noise;
several files are merged, a repeated scene/noise/method/parameter kept once).

Keeps, per scene, noise and method, the parameter with the best MPSNR (the
oracle choice the driver documents), and writes
  OUTDIR/quality.csv        the kept rows (scene,noise,method,param,mpsnr,mssim,sam,
                            mpsnr_val,mssim_val,sam_val,seconds; *_val: held-out rows)
  OUTDIR/quality_sweep.csv  every row, the sweeps included
  OUTDIR/quality.md         per scene, method x noise: MPSNR / MSSIM / SAM / seconds
                            on the whole scene, then MPSNR / MSSIM / SAM on the
                            held-out rows (the bottom 20 % the models did not see)
  OUTDIR/quality.png        MPSNR per method per noise, whole scene and held-out rows,
                            one panel each per scene (gnuplot)
"""
import csv
import os
import shutil
import subprocess
import sys

PALETTE = ["#999999", "#1b9e77", "#66a61e", "#00441b", "#a6d854", "#d95f02", "#e7298a", "#7570b3",
           "#1f78b4", "#a6cee3", "#6a3d9a", "#e6ab02", "#fb9a99", "#b15928", "#ffff99", "#000000"]
SCENE_NAMES = {"jasper": "Jasper Ridge", "salinas": "Salinas-A"}


def family(method):
    """Sort key: input, hypercsc models, hypercsc classical, OTB, scikit-image."""
    if method == "noisy":
        return 0
    if method.startswith("hypercsc"):
        return 2 if any(w in method for w in ("pca", "CBPDN")) else 1
    return 3 if method.startswith("OTB") else 4


def main(rows_paths, outdir):
    rows, seen = [], set()
    for path in rows_paths:
        for r in csv.DictReader(open(path)):
            key = (r["scene"], r["noise"], r["method"], r["param"])
            if key not in seen:
                seen.add(key)
                rows.append(r)
    os.makedirs(outdir, exist_ok=True)
    scenes, noises, methods = [], [], []
    best = {}
    for r in rows:
        for lst, v in ((scenes, r["scene"]), (noises, r["noise"]), (methods, r["method"])):
            if v not in lst:
                lst.append(v)
        key = (r["scene"], r["noise"], r["method"])
        if key not in best or float(r["mpsnr"]) > float(best[key]["mpsnr"]):
            best[key] = r
    first = {m: i for i, m in enumerate(methods)}
    methods.sort(key=lambda m: (family(m), first[m]))
    fields = ["scene", "noise", "method", "param", "mpsnr", "mssim", "sam", "mpsnr_val", "mssim_val",
              "sam_val", "seconds"]
    with open(os.path.join(outdir, "quality_sweep.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(outdir, "quality.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for s in scenes:
            for n in noises:
                for m in methods:
                    if (s, n, m) in best:
                        w.writerow(best[(s, n, m)])

    md = ["Kept parameter: the best whole-scene MPSNR of the method's sweep against the clean scene "
          "(oracle tuning, the same for every method with a sweep).  **Bold**: best MPSNR of the column "
          "(the noisy input excluded).", ""]
    for s in scenes:
        for val in (False, True):
            sfx = "_val" if val else ""
            md += ["### %s, %s" % (SCENE_NAMES.get(s, s), "held-out rows (bottom 20 %): MPSNR (dB) / MSSIM / SAM (rad)"
                                   if val else "whole scene: MPSNR (dB) / MSSIM / SAM (rad) / wall s (parameter)"), ""]
            md.append("| method | " + " | ".join(noises) + " |")
            md.append("|---|" + "---|" * len(noises))
            top = {n: max((float(best[(s, n, m)]["mpsnr" + sfx]) for m in methods
                           if (s, n, m) in best and m != "noisy"), default=None) for n in noises}
            for m in [m for m in methods if any((s, n, m) in best for n in noises)]:
                cells = []
                for n in noises:
                    r = best.get((s, n, m))
                    if not r:
                        cells.append("-")
                        continue
                    p = "%.2f" % float(r["mpsnr" + sfx])
                    if m != "noisy" and float(r["mpsnr" + sfx]) == top[n]:
                        p = "**%s**" % p
                    c = "%s / %.3f / %.3f" % (p, float(r["mssim" + sfx]), float(r["sam" + sfx]))
                    if not val:
                        c += " / %.1f" % float(r["seconds"])
                        if r["param"] not in ("-", ""):
                            c += " (%s)" % r["param"]
                    cells.append(c)
                md.append("| %s | %s |" % (m, " | ".join(cells)))
            md.append("")
    open(os.path.join(outdir, "quality.md"), "w").write("\n".join(md))

    # Chart: gnuplot clustered histogram, one panel per scene.
    png = os.path.join(outdir, "quality.png")
    if not shutil.which("gnuplot"):
        print("quality_report: gnuplot not found, no %s" % png)
        return
    dat = []
    for s in scenes:
        shown = [m for m in methods if any((s, n, m) in best for n in noises)]
        for sfx in ("", "_val"):
            path = os.path.join(outdir, "quality_%s%s.dat" % (s, sfx))
            with open(path, "w") as f:
                f.write("noise " + " ".join('"%s"' % m for m in shown) + "\n")
                for n in noises:
                    vals = [best[(s, n, m)]["mpsnr" + sfx] if (s, n, m) in best else "-" for m in shown]
                    f.write('"%s" %s\n' % (n, " ".join(vals)))
            dat.append(("%s, %s" % (SCENE_NAMES.get(s, s), "held-out rows" if sfx else "whole scene"), path,
                        " ".join(PALETTE[methods.index(m) % len(PALETTE)] for m in shown)))
    gp = ["set terminal pngcairo size 1400,%d font ',10'" % (380 * len(dat)) if has_cairo()
          else "set terminal png size 1400,%d" % (380 * len(dat)),
          "set output '%s'" % png, "set termoption noenhanced", "set multiplot layout %d,1" % len(dat),
          "set style data histogram", "set style histogram clustered gap 1",
          "set style fill solid 0.9 border -1", "set boxwidth 0.9", "set ylabel 'MPSNR (dB)'",
          "set key outside right top vertical font ',8'", "set grid ytics", "set datafile missing '-'",
          "set yrange [10:*]"]
    for title, path, colours in dat:
        # one colour per method, the same in every panel
        gp.append("set title '%s'" % title)
        gp.append("colours = '%s'" % colours)
        gp.append("plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i) lc rgb word(colours, i - 1)"
                  % (len(colours.split()) + 1, path))
    gp.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=True)
    for _, path, _ in dat:
        os.remove(path)


def has_cairo():
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        return "pngcairo" in out.stdout + out.stderr
    except OSError:
        return False


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1:-1], sys.argv[-1])
