# Helpers of the restoration tests (cli_denoise.sh, cli_denoise_methods.sh),
# sourced after tests/common.sh.

# Values of a float32 raw file, one per line (hex: exact; f: numbers).
hexvals() { od -An -v -tx4 -w4 "$1" | tr -d ' '; }
numvals() { od -An -v -tf4 -w4 "$1" | tr -d ' '; }
# close A B WHAT: max |a - b| <= 1e-5 max |a| over the values of two raw files.
close() {
  numvals "$1" > "$T/va.txt"; numvals "$2" > "$T/vb.txt"
  res=$(paste "$T/va.txt" "$T/vb.txt" | awk '{ if ($1 == "nan" || $2 == "nan") { if ($1 != $2) bad++; next }
    d = $1 - $2; if (d < 0) d = -d; a = $1 < 0 ? -$1 : $1; if (d > m) m = d; if (a > r) r = a; n++ }
    END { printf "%d values, max |diff| %.3g, max |value| %.3g, nan mismatches %d\n", n, m, r, bad + 0 }')
  echo "$3: $res"
  echo "$res" | awk '{ d = $5 + 0; r = $8 + 0; exit !($1 > 0 && d <= 1e-5 * r && $NF == 0) }' || fail "$3: $res"
}
# passthrough IN OUT WHAT: nodata pixels (any band 0) and band 3 of a 30 x
# 40 scene byte-identical, more than 1000 other values changed.
passthrough() {
  hexvals "$1" > "$T/ha.txt"; hexvals "$2" > "$T/hb.txt"
  res=$(paste "$T/ha.txt" "$T/hb.txt" | awk -v hw=1200 -v bad=2 '{ a[NR-1] = $1; b[NR-1] = $2
      if ($1 == "00000000" || $1 == "80000000") nd[(NR-1) % hw] = 1 }
    END { for (i = 0; i < NR; i++) { if (int(i / hw) == bad || ((i % hw) in nd)) { k++; if (a[i] != b[i]) w++ }
      else if (a[i] != b[i]) ch++ }
      printf "%d pass-through values, %d altered; %d of the others changed\n", k, w + 0, ch + 0 }')
  echo "$3: $res"
  echo "$res" | awk '{ exit !($1 > 1200 && $4 == 0 && $7 > 1000) }' || fail "$3 pass-through: $res"
}
meta() { run1 info "$1" --json | sed -E 's/"(file|count|min|max|mean|std|noise)": [^,}]*,? ?//g'; }
