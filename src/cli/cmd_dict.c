/* hypercsc dict: make a dictionary file (random, from scene patches, or
 * from another file) and draw its atoms as a PNG mosaic.  Dictionaries are
 * small and replicated on every rank (hcsc/dict.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hcsc/picture.h"

#define MAX_LIST 64

static const hcsc_cmd_desc init_info = {
    "dict init",
    "-o D.nc --atoms M --size k (--channels C | --from SCENE) [--method random|patches|file] [options]",
    "make a dictionary: random atoms, scene patches, or a file's atoms normalised",
    "random:  Gaussian atoms from the counter RNG keyed on --seed (layer l uses seed + l),\n"
    "         each normalised to unit norm: the same file whatever the number of ranks.\n"
    "patches: M patches of SCENE (--from) at positions drawn from --seed, the mean of each\n"
    "         channel removed, normalised; each patch comes from the rank that owns its\n"
    "         centre, so the file does not depend on the number of ranks or the grid.\n"
    "file:    the atoms of --init D0.nc, normalised; --atoms, --size and --channels, when\n"
    "         given, must match its layer 0.\n"
    "Several layers, stored as atoms_0, atoms_1, ... with a global attribute 'structure':\n"
    "  --layers L --atoms M0,M1,.. --size k0,k1,..  multi-layer stack (structure 1): layer\n"
    "         l + 1 has as many channels as layer l has atoms; patches fill layer 0 only\n"
    "  --scales 1,2,4 --size 5,9,17 [--atoms M | M1,M2,M4]  multi-scale set (structure 2):\n"
    "         every layer has C channels and its own scale\n"
    "With --from, the scene's wavelengths are stored (attribute 'wavelength') so that\n"
    "'dict show --wavelengths' can pick channels.",
    0, 0};

static const hcsc_cmd_desc show_info = {
    "dict show", "D.nc -o MOSAIC.png [--layer L] [--channel c | --rgb c1,c2,c3 | --wavelengths w1,w2,w3]",
    "draw the atoms of a dictionary layer as a PNG mosaic",
    "The atoms are tiles of k x k pixels, each pixel --scale-px pixels wide (default:\n"
    "max(1, 32 / k)), laid out row by row on a grid of ceil(sqrt(M)) columns, with 1-pixel\n"
    "black lines between and around the tiles: the picture is\n"
    "  cols (k s + 1) + 1  x  rows (k s + 1) + 1  pixels.\n"
    "Each atom is stretched to its own range, symmetric around 0 (zero is mid-grey):\n"
    "value v is 128 + 127 v / max|atom| over the channels shown.  One channel (--channel,\n"
    "1-based, default 1) gives grey; --rgb three channels (1-based) or --wavelengths the\n"
    "channels nearest to three wavelengths (the dictionary must carry them) give false\n"
    "colour.  Rank 0 writes the file.",
    1, 1};

/* "a,b,c" -> up to max positive ints.  Not collective. */
static int parse_ints(const char *opt, const char *spec, int *v, int max, int *n)
{
  const char *p = spec;
  *n = 0;
  while (*p) {
    char *end;
    long x = strtol(p, &end, 10);
    if (end == p || x < 1 || x > 1000000 || (*end && *end != ',') || *n >= max)
      return HCSC_ERR(HCSC_EINVAL, "dict: --%s '%s': expected up to %d positive integers separated "
                      "by commas", opt, spec, max);
    v[(*n)++] = (int)x;
    p = *end ? end + 1 : end;
  }
  if (*n == 0) return HCSC_ERR(HCSC_EINVAL, "dict: --%s is empty", opt);
  return 0;
}

/* "a,b,c" -> exactly n doubles.  Not collective. */
static int parse_doubles(const char *opt, const char *spec, double *v, int n)
{
  const char *p = spec;
  for (int i = 0; i < n; i++) {
    char *end;
    v[i] = strtod(p, &end);
    if (end == p || !isfinite(v[i]) || (i + 1 < n ? *end != ',' : *end != '\0'))
      return HCSC_ERR(HCSC_EINVAL, "dict: --%s '%s': expected %d numbers separated by commas", opt,
                      spec, n);
    p = end + 1;
  }
  return 0;
}

static int dict_init(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, nchan = 0, nlayers = 1, structure = HCSC_DICT_SINGLE, nd = 0;
  const char *out = NULL, *atoms_s = NULL, *size_s = NULL, *from = NULL, *method = "random",
             *init = NULL, *scales_s = NULL;
  uint64_t seed = 1;
  int layers_opt = 0;
  char **pos = NULL;
  int npos = 0;
  int atoms[MAX_LIST], sizes[MAX_LIST], scales[MAX_LIST], na = 0, ns = 0, nsc = 0;
  hcsc_dict *d = NULL;
  hcsc_dict_info dinfo = {0, 0, NULL}, finfo = {0, 0, NULL};
  hcsc_scene *in = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile tile = {0};
  const hcsc_opt opts[] = {
      {"output", 'o', HCSC_OPT_STRING, &out, "D.nc", "dictionary file to write (required)"},
      {"atoms", 0, HCSC_OPT_STRING, &atoms_s, "M[,M1..]", "atoms per layer"},
      {"size", 0, HCSC_OPT_STRING, &size_s, "k[,k1..]", "atom size (k x k) per layer"},
      {"channels", 0, HCSC_OPT_INT, &nchan, "C", "channels of layer 0"},
      {"from", 0, HCSC_OPT_STRING, &from, "SCENE", "scene: its band count (and wavelengths, patches)"},
      {"method", 0, HCSC_OPT_STRING, &method, "M", "random (default), patches or file"},
      {"init", 0, HCSC_OPT_STRING, &init, "D0.nc", "dictionary to start from (--method file)"},
      {"seed", 0, HCSC_OPT_U64, &seed, "S", "random seed (default 1)"},
      {"layers", 0, HCSC_OPT_INT, &layers_opt, "L", "multi-layer stack of L layers"},
      {"scales", 0, HCSC_OPT_STRING, &scales_s, "s1,s2,..", "multi-scale set (scales 1, 2 or 4)"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &init_info, opts, argc, argv, &pos, &npos);
  if (err) return err;

  /* Every rank parsed the same argv: these checks agree without messages. */
  int mfile = strcmp(method, "file") == 0, mpatch = strcmp(method, "patches") == 0;
  if (!out) HCSC_FAIL(HCSC_EINVAL, "dict init: -o D.nc is required");
  if (!mfile && !mpatch && strcmp(method, "random") != 0)
    HCSC_FAIL(HCSC_EINVAL, "dict init: --method '%s' (random, patches or file)", method);
  if (mfile != (init != NULL)) HCSC_FAIL(HCSC_EINVAL, "dict init: --init D0.nc goes with --method file");
  if (mfile && (layers_opt || scales_s))
    HCSC_FAIL(HCSC_EINVAL, "dict init: --method file keeps the layers of --init: no --layers or --scales");
  if (mpatch && !from) HCSC_FAIL(HCSC_EINVAL, "dict init: --method patches needs --from SCENE");
  if (nchan && from) HCSC_FAIL(HCSC_EINVAL, "dict init: give --channels or --from, not both");
  if (nchan < 0) HCSC_FAIL(HCSC_EINVAL, "dict init: --channels %d must be at least 1", nchan);
  if (layers_opt && scales_s) HCSC_FAIL(HCSC_EINVAL, "dict init: give --layers or --scales, not both");
  if (layers_opt < 0 || layers_opt > MAX_LIST)
    HCSC_FAIL(HCSC_EINVAL, "dict init: --layers %d must be in 1..%d", layers_opt, MAX_LIST);
  if (atoms_s) HCSC_CHECK(parse_ints("atoms", atoms_s, atoms, MAX_LIST, &na));
  if (size_s) HCSC_CHECK(parse_ints("size", size_s, sizes, MAX_LIST, &ns));
  if (scales_s) {
    HCSC_CHECK(parse_ints("scales", scales_s, scales, MAX_LIST, &nsc));
    for (int i = 0; i < nsc; i++)
      if (scales[i] != 1 && scales[i] != 2 && scales[i] != 4)
        HCSC_FAIL(HCSC_EINVAL, "dict init: --scales: scale %d (1, 2 or 4)", scales[i]);
  }
  if (!mfile) {
    if (!atoms_s || !size_s) HCSC_FAIL(HCSC_EINVAL, "dict init: --atoms and --size are required");
    if (!nchan && !from) HCSC_FAIL(HCSC_EINVAL, "dict init: give --channels C or --from SCENE");
    if (layers_opt > 1) structure = HCSC_DICT_STACK, nlayers = layers_opt;
    else if (nsc > 0) structure = nsc > 1 ? HCSC_DICT_SCALES : HCSC_DICT_SINGLE, nlayers = nsc;
    /* One value serves every layer. */
    if ((na != 1 && na != nlayers) || (ns != 1 && ns != nlayers))
      HCSC_FAIL(HCSC_EINVAL, "dict init: %d layer(s): --atoms and --size need 1 or %d values (got %d "
                "and %d)", nlayers, nlayers, na, ns);
    for (int l = 0; l < nlayers; l++) {
      if (na == 1) atoms[l] = atoms[0];
      if (ns == 1) sizes[l] = sizes[0];
      if (sizes[l] > 64) HCSC_FAIL(HCSC_EINVAL, "dict init: --size %d: atoms are at most 64 x 64", sizes[l]);
    }
  }
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));

  if (from) {
    HCSC_CHECK(hcsc_scene_open(cli->comm, from, &in));
    const hcsc_meta *meta = hcsc_scene_meta(in);
    if (meta->bands > 100000) HCSC_FAIL(HCSC_ESIZE, "dict init: %s has too many bands", from);
    nchan = (int)meta->bands;
    if (meta->wavelength) {
      dinfo.wavelength = malloc((size_t)nchan * sizeof *dinfo.wavelength);
      HCSC_CHECK(hcsc_error_agree(cli->comm, dinfo.wavelength ? 0 : HCSC_ERR(HCSC_ENOMEM, "dict init: out of memory")));
      memcpy(dinfo.wavelength, meta->wavelength, (size_t)nchan * sizeof *dinfo.wavelength);
      dinfo.nwavelength = nchan;
    }
  }

  if (mfile) {
    HCSC_CHECK(hcsc_dict_load_info(cli->comm, init, &d, &nd, &finfo));
    nlayers = nd;
    structure = finfo.structure;
    /* Every rank holds the same atoms: the checks agree by themselves. */
    if ((na && atoms[0] != d[0].natoms) || (ns && sizes[0] != d[0].ksize) || (nchan && nchan != d[0].nchan))
      HCSC_FAIL(HCSC_ESIZE, "dict init: %s has %d atoms of %d x %d over %d channels in layer 0, "
                "the options ask for %d atoms of %d x %d over %d channels", init, d[0].natoms,
                d[0].ksize, d[0].ksize, d[0].nchan, na ? atoms[0] : d[0].natoms,
                ns ? sizes[0] : d[0].ksize, ns ? sizes[0] : d[0].ksize, nchan ? nchan : d[0].nchan);
    for (int l = 0; l < nd; l++) hcsc_dict_normalize(&d[l]);
    if (!dinfo.wavelength && finfo.nwavelength) {
      dinfo = finfo;
      memset(&finfo, 0, sizeof finfo);
    }
    dinfo.structure = structure;
  } else {
    dinfo.structure = structure;
    d = calloc((size_t)nlayers, sizeof *d);
    HCSC_CHECK(hcsc_error_agree(cli->comm, d ? 0 : HCSC_ERR(HCSC_ENOMEM, "dict init: out of memory")));
    nd = nlayers;
    int halo = 0;
    for (int l = 0; l < nlayers && !err; l++) {
      int c = structure == HCSC_DICT_STACK && l > 0 ? atoms[l - 1] : nchan;
      err = hcsc_dict_alloc(&d[l], atoms[l], c, sizes[l], nsc ? scales[l] : 1);
      if (!err) err = hcsc_dict_init_random(&d[l], seed + (uint64_t)l);
      int h = sizes[l] - 1 - (sizes[l] - 1) / 2;
      if (c == nchan && h > halo) halo = h;
    }
    HCSC_CHECK(hcsc_error_agree(cli->comm, err));
    if (mpatch) {
      const hcsc_meta *meta = hcsc_scene_meta(in);
      HCSC_CHECK(hcsc_grid_create(cli->comm, meta->bands, meta->rows, meta->cols, cli->dims, &g));
      HCSC_CHECK(hcsc_scene_load(in, NULL, g, halo, &tile));
      for (int l = 0; l < nlayers; l++)
        if (d[l].nchan == nchan)
          HCSC_CHECK(hcsc_dict_init_patches(&d[l], cli->comm, &tile, meta->rows, meta->cols,
                                            seed + (uint64_t)l));
    }
  }
  if (dinfo.nwavelength && dinfo.nwavelength != d[0].nchan) {
    /* --from a scene with another band count than the --init file. */
    HCSC_FAIL(HCSC_ESIZE, "dict init: %s has %d bands, %s %d channels", from, dinfo.nwavelength, init,
              d[0].nchan);
  }
  {
    hcsc_dict_attr attrs[2] = {{"seed", (double)seed}, {"init_method", mfile ? 2.0 : mpatch ? 1.0 : 0.0}};
    HCSC_CHECK(hcsc_dict_save_info(cli->comm, out, d, nd, &dinfo, attrs, 2, cli->force));
  }
  if (cli->rank == 0) {
    const char *sn[3] = {"single", "multi-layer stack", "multi-scale set"};
    if (cli->json) {
      printf("{\"output\": \"%s\", \"method\": \"%s\", \"structure\": %d, \"layers\": [", out, method,
             dinfo.structure);
      for (int l = 0; l < nd; l++)
        printf("%s{\"atoms\": %d, \"channels\": %d, \"size\": %d, \"scale\": %d}", l ? ", " : "",
               d[l].natoms, d[l].nchan, d[l].ksize, d[l].scale);
      printf("], \"wavelengths\": %s}\n", dinfo.nwavelength ? "true" : "false");
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("dict init: %s (%s, %s, seed %llu)\n", out, sn[dinfo.structure], method,
             (unsigned long long)seed);
      for (int l = 0; l < nd; l++)
        printf("  layer %d: %d atoms of %d x %d over %d channels, scale %d\n", l, d[l].natoms,
               d[l].ksize, d[l].ksize, d[l].nchan, d[l].scale);
    }
    fflush(stdout);
  }
cleanup:
  hcsc_tile_free(&tile);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&in);
  hcsc_dict_free_layers(&d, nd);
  hcsc_dict_info_free(&dinfo);
  hcsc_dict_info_free(&finfo);
  free(pos);
  return err;
}

static int dict_show(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, layer = 0, channel = 0, scale_px = 0, nd = 0, ch[3] = {0, 0, 0}, nc = 1;
  const char *out = NULL, *rgb = NULL, *wl_s = NULL;
  char **pos = NULL;
  int npos = 0;
  hcsc_dict *d = NULL;
  hcsc_dict_info dinfo = {0, 0, NULL};
  unsigned char *px = NULL;
  int w = 0, h = 0;
  const hcsc_opt opts[] = {
      {"output", 'o', HCSC_OPT_STRING, &out, "MOSAIC.png", "picture to write (required)"},
      {"layer", 0, HCSC_OPT_INT, &layer, "L", "layer to draw (default 0)"},
      {"channel", 0, HCSC_OPT_INT, &channel, "c", "channel to draw in grey (1-based, default 1)"},
      {"rgb", 0, HCSC_OPT_STRING, &rgb, "c1,c2,c3", "channels (1-based) for red, green, blue"},
      {"wavelengths", 0, HCSC_OPT_STRING, &wl_s, "w1,w2,w3", "channels nearest to these wavelengths"},
      {"scale-px", 0, HCSC_OPT_INT, &scale_px, "n", "pixels per atom tap (default max(1, 32 / k))"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &show_info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  double wl[3];
  if (!out) HCSC_FAIL(HCSC_EINVAL, "dict show: -o MOSAIC.png is required");
  if ((channel != 0) + (rgb != NULL) + (wl_s != NULL) > 1)
    HCSC_FAIL(HCSC_EINVAL, "dict show: give one of --channel, --rgb, --wavelengths");
  if (scale_px < 0 || scale_px > 256) HCSC_FAIL(HCSC_EINVAL, "dict show: --scale-px %d must be in 1..256", scale_px);
  if (rgb) {
    int n = 0;
    HCSC_CHECK(parse_ints("rgb", rgb, ch, 3, &n));
    if (n != 3) HCSC_FAIL(HCSC_EINVAL, "dict show: --rgb needs three channels, got %d", n);
    nc = 3;
  } else if (wl_s) {
    HCSC_CHECK(parse_doubles("wavelengths", wl_s, wl, 3));
    nc = 3;
  } else {
    ch[0] = channel ? channel : 1;
  }
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  HCSC_CHECK(hcsc_dict_load_info(cli->comm, pos[0], &d, &nd, &dinfo));
  /* The dictionary is replicated: every rank reaches the same verdicts. */
  if (layer < 0 || layer >= nd)
    HCSC_FAIL(HCSC_ERANGE, "dict show: --layer %d: %s has layers 0..%d", layer, pos[0], nd - 1);
  const hcsc_dict *dl = &d[layer];
  if (wl_s) {
    /* Wavelengths describe the scene's bands: layer 0, or any layer of a
     * multi-scale set (same channels). */
    if (!dinfo.nwavelength || (layer > 0 && dinfo.structure != HCSC_DICT_SCALES))
      HCSC_FAIL(HCSC_EINVAL, "dict show: %s has no wavelengths for layer %d (use --rgb)", pos[0], layer);
    for (int i = 0; i < 3; i++) {
      int best = 0;
      for (int c = 1; c < dinfo.nwavelength; c++)
        if (fabs(dinfo.wavelength[c] - wl[i]) < fabs(dinfo.wavelength[best] - wl[i])) best = c;
      ch[i] = best + 1;
    }
  }
  for (int i = 0; i < nc; i++)
    if (ch[i] < 1 || ch[i] > dl->nchan)
      HCSC_FAIL(HCSC_ERANGE, "dict show: channel %d out of range: layer %d of %s has channels 1..%d",
                ch[i], layer, pos[0], dl->nchan);
  for (int i = 0; i < nc; i++) ch[i]--;
  if (!scale_px) scale_px = 32 / dl->ksize > 1 ? 32 / dl->ksize : 1;
  if (cli->rank == 0) {
    err = hcsc_cli_mosaic(dl, ch, nc, scale_px, &px, &w, &h);
    if (!err) err = hcsc_picture_write_png(out, px, w, h, nc, cli->force);
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, err));
  if (cli->rank == 0) {
    if (cli->json)
      printf("{\"output\": \"%s\", \"layer\": %d, \"width\": %d, \"height\": %d, \"channels\": [%d, %d, %d]}\n",
             out, layer, w, h, ch[0] + 1, nc == 3 ? ch[1] + 1 : 0, nc == 3 ? ch[2] + 1 : 0);
    else if (cli->level >= HCSC_LOG_INFO)
      printf("dict show: %s layer %d: %d atoms of %d x %d, %s -> %s (%d x %d pixels)\n", pos[0], layer,
             dl->natoms, dl->ksize, dl->ksize, nc == 3 ? "false colour" : "grey", out, w, h);
    fflush(stdout);
  }
cleanup:
  free(px);
  hcsc_dict_free_layers(&d, nd);
  hcsc_dict_info_free(&dinfo);
  free(pos);
  return err;
}

/* See cli.h: "dict init" and "dict show".  Collective. */
int hcsc_cmd_dict(hcsc_cli *cli, int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "init") == 0) return dict_init(cli, argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "show") == 0) return dict_show(cli, argc - 1, argv + 1);
  int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
  if (cli->rank == 0) {
    FILE *f = help ? stdout : stderr;
    if (!help)
      fprintf(stderr, "hypercsc dict: %s%s%s\n", argc >= 2 ? "unknown subcommand '" : "missing subcommand",
              argc >= 2 ? argv[1] : "", argc >= 2 ? "' (init or show)" : " (init or show)");
    fprintf(f, "usage: hypercsc dict init %s\n       hypercsc dict show %s\n"
               "'hypercsc dict init --help' and 'hypercsc dict show --help' describe them.\n",
            init_info.usage, show_info.usage);
  }
  if (help) return 1;
  cli->cmd = "dict";
  return hcsc_error_agree(cli->comm, HCSC_ERR(HCSC_EINVAL, "invalid command line"));
}
