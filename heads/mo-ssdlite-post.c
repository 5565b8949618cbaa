/* mobileone-gst heads: SSDLite post-processing (mo-ssdlite.h).
 *
 * It reproduces torchvision 0.14's float32 arithmetic operation by operation
 * (anchors, decoding, clipping, the IoU of its C++ NMS kernel, and
 * batched_nms's coordinate offsets), so that its boxes are those of
 * torchvision, not merely close to them. */

/* An FMA would round once where torchvision rounds twice. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif

#include "mo-ssdlite-private.h"
#include "../mobileone/mo-limits.h"

#include <math.h>
#include <string.h>

struct _MoSsdPost
{
  MoSession *s;
  const SsdConfig *cfg;
  int K, A, N, width, height;
  int max_topk, cap;            /* cap = MIN (max_topk, N) */
  const MoOutput *cls[MO_SSD_N_MAPS], *reg[MO_SSD_N_MAPS];
  float *anchors;               /* [N][4] x0 y0 x1 y1 */
  float *scores;                /* [N][K] softmax */
  float *boxes;                 /* [N][4] decoded and clipped */
  int *idx;                     /* [N] one class's candidates */
  int *range;                   /* [K + 1] candidates of class c: [range[c], range[c+1]) */
  float *cbox, *cscore;         /* [(K - 1) * cap] candidates */
  int *clabel;
  int *ckeep;                   /* [(K - 1) * cap] kept candidates */
  float *nbox, *narea;          /* [cap] one class's boxes as NMS sees them */
  guint8 *supp;                 /* [cap] */
};

gboolean
mo_ssdlite_params_check (const MoSsdPost *post, const MoSsdParams *p,
    GError **error)
{
  const char *key = NULL;
  char range[64] = "";

  if (!(p->score_threshold > 0.0 && p->score_threshold < 1.0)) {
    key = "score_threshold";
    g_snprintf (range, sizeof range, "%g is out of range (0, 1)",
        p->score_threshold);
  } else if (!(p->nms_iou_threshold > 0.0 && p->nms_iou_threshold <= 1.0)) {
    key = "nms_iou_threshold";
    g_snprintf (range, sizeof range, "%g is out of range (0, 1]",
        p->nms_iou_threshold);
  } else if (p->topk_candidates < 1 || (post
          && p->topk_candidates > post->max_topk)) {
    key = "topk_candidates";
    g_snprintf (range, sizeof range, "%d is out of range [1, %d]",
        p->topk_candidates, post ? post->max_topk : 100000);
  } else if (p->max_detections < 1) {
    key = "max_detections";
    g_snprintf (range, sizeof range, "%d is below 1", p->max_detections);
  } else if (p->class_thresholds && post) {
    for (int k = 0; k < post->K && key == NULL; k++) {
      double t = p->class_thresholds[k];
      if (!(t >= 0.0 && t < 1.0)) {
        key = "class_thresholds";
        g_snprintf (range, sizeof range, "class %d: %g is out of range "
            "[0, 1)", k, t);
      }
    }
  }
  if (key == NULL)
    return TRUE;
  g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "ssdlite: %s: %s", key,
      range);
  return FALSE;
}

/* torchvision's DefaultBoxGenerator for @maps, in float32 as it computes. */
static void
make_anchors (MoSsdPost *p, const int maps[MO_SSD_N_MAPS][2])
{
  const SsdConfig *c = p->cfg;
  double scales[MO_SSD_N_MAPS + 1];
  float *out = p->anchors;
  const float fw = (float) p->width, fh = (float) p->height;

  for (int k = 0; k < MO_SSD_N_MAPS; k++)
    scales[k] = c->min_ratio + (c->max_ratio - c->min_ratio) * k /
        (MO_SSD_N_MAPS - 1.0);
  scales[MO_SSD_N_MAPS] = 1.0;

  for (int k = 0; k < MO_SSD_N_MAPS; k++) {
    float wh[2 + 2 * MAX_ASPECT_RATIOS][2];
    double sk = scales[k], spk = sqrt (scales[k] * scales[k + 1]);
    int n = 0;
    wh[n][0] = (float) sk;
    wh[n++][1] = (float) sk;
    wh[n][0] = (float) spk;
    wh[n++][1] = (float) spk;
    for (int r = 0; r < c->n_aspect_ratios; r++) {
      double sq = sqrt (c->aspect_ratios[r]);
      double w = sk * sq, h = sk / sq;
      wh[n][0] = (float) w;
      wh[n++][1] = (float) h;
      wh[n][0] = (float) h;
      wh[n++][1] = (float) w;
    }
    for (int a = 0; a < n; a++)       /* clip = True */
      for (int i = 0; i < 2; i++)
        wh[a][i] = wh[a][i] < 0.0f ? 0.0f : wh[a][i] > 1.0f ? 1.0f : wh[a][i];

    int rows = maps[k][0], cols = maps[k][1];
    for (int y = 0; y < rows; y++) {
      float cy = ((float) y + 0.5f) / (float) rows;
      for (int x = 0; x < cols; x++) {
        float cx = ((float) x + 0.5f) / (float) cols;
        for (int a = 0; a < n; a++) {
          float hw = 0.5f * wh[a][0], hh = 0.5f * wh[a][1];
          *out++ = (cx - hw) * fw;
          *out++ = (cy - hh) * fh;
          *out++ = (cx + hw) * fw;
          *out++ = (cy + hh) * fh;
        }
      }
    }
  }
}

MoSsdPost *
mo_ssdlite_post_new (MoSession *s, int max_topk, GError **error)
{
  MoModel *m = mo_session_model (s);
  const SsdConfig *c = mo_ssdlite_config (m);
  int maps[MO_SSD_N_MAPS][2], n = 0;

  if (c == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL,
        "%s: not an SSDLite model (head.type is '%s')", m->desc->path,
        m->desc->head_type);
    return NULL;
  }
  if (max_topk < 0 || max_topk > 100000) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "ssdlite: max_topk %d is out of range [0, 100000]", max_topk);
    return NULL;
  }
  MoSsdPost *p = g_new0 (MoSsdPost, 1);
  p->s = s;
  p->cfg = c;
  p->K = c->num_classes;
  p->A = c->anchors;
  mo_session_input (s, &p->width, &p->height, NULL);
  for (int j = 0; j < MO_SSD_N_MAPS; j++) {
    p->cls[j] = mo_session_nth_output (s, c->cls_out[j]);
    p->reg[j] = mo_session_nth_output (s, c->reg_out[j]);
    maps[j][0] = p->cls[j]->h;
    maps[j][1] = p->cls[j]->w;
    n += maps[j][0] * maps[j][1] * p->A;
  }
  p->N = n;
  p->max_topk = MAX (max_topk, c->params.topk_candidates);
  p->cap = MIN (p->max_topk, n);

  /* anchors x classes grows fast with the input size and the description's
   * num_classes and aspect_ratios: bounded, and never an abort. */
  guint64 nc = (guint64) (p->K - 1) * p->cap;
  guint64 words = (guint64) n * (4 + 4 + 1) + (guint64) n * p->K
      + (p->K + 1) + nc * 7 + (guint64) p->cap * 5;
  if (words > MO_MAX_SSD_POST_BYTES / 4) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: SSDLite post-processing for a %dx%d input (%d anchors x %d "
        "classes) needs %" G_GUINT64_FORMAT " MiB, more than the limit of %"
        G_GUINT64_FORMAT " MiB (docs/security.md)", m->desc->path, p->width,
        p->height, n, p->K, words * 4 >> 20, MO_MAX_SSD_POST_BYTES >> 20);
    mo_ssdlite_post_free (p);
    return NULL;
  }
  p->anchors = g_try_new (float, (gsize) n * 4);
  p->scores = g_try_new (float, (gsize) n * p->K);
  p->boxes = g_try_new (float, (gsize) n * 4);
  p->idx = g_try_new (int, MAX (n, 1));
  p->range = g_try_new (int, p->K + 1);
  p->cbox = g_try_new (float, MAX (nc, 1) * 4);
  p->cscore = g_try_new (float, MAX (nc, 1));
  p->clabel = g_try_new (int, MAX (nc, 1));
  p->ckeep = g_try_new (int, MAX (nc, 1));
  p->nbox = g_try_new (float, (gsize) MAX (p->cap, 1) * 4);
  p->narea = g_try_new (float, MAX (p->cap, 1));
  p->supp = g_try_new (guint8, MAX (p->cap, 1));
  if (!p->anchors || !p->scores || !p->boxes || !p->idx || !p->range
      || !p->cbox || !p->cscore || !p->clabel || !p->ckeep || !p->nbox
      || !p->narea || !p->supp) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT,
        "%s: out of memory for SSDLite post-processing (%" G_GUINT64_FORMAT
        " MiB)", m->desc->path, words * 4 >> 20);
    mo_ssdlite_post_free (p);
    return NULL;
  }
  make_anchors (p, maps);
  return p;
}

void
mo_ssdlite_post_free (MoSsdPost *p)
{
  if (p == NULL)
    return;
  g_free (p->anchors);
  g_free (p->scores);
  g_free (p->boxes);
  g_free (p->idx);
  g_free (p->range);
  g_free (p->cbox);
  g_free (p->cscore);
  g_free (p->clabel);
  g_free (p->ckeep);
  g_free (p->nbox);
  g_free (p->narea);
  g_free (p->supp);
  g_free (p);
}

int
mo_ssdlite_post_n_anchors (const MoSsdPost *p)
{
  return p->N;
}

const float *
mo_ssdlite_post_anchors (const MoSsdPost *p)
{
  return p->anchors;
}

void
mo_ssdlite_post_gather (const MoSsdPost *p, float *cls_logits,
    float *bbox_regression)
{
  gsize row = 0;                /* anchor index of the current location */
  for (int j = 0; j < MO_SSD_N_MAPS; j++) {
    const MoOutput *c = p->cls[j], *r = p->reg[j];
    for (int px = 0; px < c->h * c->w; px++, row += p->A) {
      if (cls_logits)
        memcpy (cls_logits + row * p->K, c->data + (gsize) px * c->cs,
            (gsize) p->A * p->K * sizeof (float));
      if (bbox_regression)
        memcpy (bbox_regression + row * 4, r->data + (gsize) px * r->cs,
            (gsize) p->A * 4 * sizeof (float));
    }
  }
}

/* Heap selection on indices, best first: higher key, then lower index
 * (torch.topk and sort order ties arbitrarily; a fixed rule is needed). */
typedef struct
{
  const float *key;
  int stride;
} Keys;

static inline gboolean
better (const Keys *k, int a, int b)
{
  float ka = k->key[(gsize) a * k->stride], kb = k->key[(gsize) b * k->stride];
  return ka > kb || (ka == kb && a < b);
}

static void
sift_down (const Keys *k, int *h, int n, int i)
{
  int v = h[i];
  for (;;) {
    int l = 2 * i + 1, best;
    if (l >= n)
      break;
    best = l + 1 < n && better (k, h[l + 1], h[l]) ? l + 1 : l;
    if (!better (k, h[best], v))
      break;
    h[i] = h[best];
    i = best;
  }
  h[i] = v;
}

static void
heapify (const Keys *k, int *h, int n)
{
  for (int i = n / 2 - 1; i >= 0; i--)
    sift_down (k, h, n, i);
}

/* Removes and returns the best of the heap @h of *@n items. */
static int
pop_best (const Keys *k, int *h, int *n)
{
  int best = h[0];
  h[0] = h[--*n];
  if (*n > 0)
    sift_down (k, h, *n, 0);
  return best;
}

/* std::max and std::min, as the C++ kernel uses them. */
static inline float
max_f (float a, float b)
{
  return a < b ? b : a;
}

static inline float
min_f (float a, float b)
{
  return b < a ? b : a;
}

/* torchvision's nms_kernel_impl (CPU) on one class's candidates, already in
 * its processing order; @bx holds the boxes as NMS sees them. */
static int
nms_class (MoSsdPost *p, const float *bx, int n, int first, double thr,
    int *keep)
{
  float *area = p->narea;
  guint8 *supp = p->supp;
  int kept = 0;

  for (int i = 0; i < n; i++) {
    area[i] = (bx[4 * i + 2] - bx[4 * i]) * (bx[4 * i + 3] - bx[4 * i + 1]);
    supp[i] = 0;
  }
  for (int i = 0; i < n; i++) {
    if (supp[i])
      continue;
    keep[kept++] = first + i;
    const float ix1 = bx[4 * i], iy1 = bx[4 * i + 1];
    const float ix2 = bx[4 * i + 2], iy2 = bx[4 * i + 3], iarea = area[i];
    for (int j = i + 1; j < n; j++) {
      if (supp[j])
        continue;
      float xx1 = max_f (ix1, bx[4 * j]), yy1 = max_f (iy1, bx[4 * j + 1]);
      float xx2 = min_f (ix2, bx[4 * j + 2]), yy2 = min_f (iy2, bx[4 * j + 3]);
      float w = max_f (0.0f, xx2 - xx1), h = max_f (0.0f, yy2 - yy1);
      float inter = w * h;
      float ovr = inter / (iarea + area[j] - inter);
      if ((double) ovr > thr)
        supp[j] = 1;
    }
  }
  return kept;
}

/* Where the head outputs of anchor i are: in the session, map by map with
 * the maps' channel strides (read in place), or in torchvision's flat
 * order (mo_ssdlite_post_run_raw: one "map" of N locations, one anchor
 * each). Anchors are numbered in the same order either way. */
typedef struct
{
  int n_maps;
  struct
  {
    const float *cls, *reg;
    int n_loc, cls_stride, reg_stride, A;
  } map[MO_SSD_N_MAPS];
} Layout;

/* The softmax of every anchor's class logits into p->scores and its box,
 * decoded and clipped, into p->boxes. */
static void
scores_and_boxes (MoSsdPost *p, const Layout *lay)
{
  const SsdConfig *c = p->cfg;
  const int K = p->K;
  /* BoxCoder.decode_single, then clip_boxes_to_image. */
  const float wx = (float) c->box_weights[0], wy = (float) c->box_weights[1];
  const float ww = (float) c->box_weights[2], wh = (float) c->box_weights[3];
  const float clip = (float) log (1000.0 / 16);
  const float W = (float) p->width, H = (float) p->height;
  gsize i = 0;

  for (int j = 0; j < lay->n_maps; j++) {
    const int A = lay->map[j].A;
    for (int loc = 0; loc < lay->map[j].n_loc; loc++) {
      const float *cl = lay->map[j].cls + (gsize) loc * lay->map[j].cls_stride;
      const float *rg = lay->map[j].reg + (gsize) loc * lay->map[j].reg_stride;
      for (int an = 0; an < A; an++, i++) {
        /* Softmax over classes (F.softmax: exp (x - max) times 1 / sum). */
        const float *x = cl + (gsize) an * K;
        float *sc = p->scores + i * K;
        float mx = x[0], sum = 0.0f;
        for (int k = 1; k < K; k++)
          mx = x[k] > mx ? x[k] : mx;
        for (int k = 0; k < K; k++) {
          sc[k] = expf (x[k] - mx);
          sum += sc[k];
        }
        float inv = 1.0f / sum;
        for (int k = 0; k < K; k++)
          sc[k] *= inv;

        const float *a = p->anchors + 4 * i;
        const float *r = rg + 4 * (gsize) an;
        float *b = p->boxes + 4 * i;
        float widths = a[2] - a[0], heights = a[3] - a[1];
        float ctr_x = a[0] + 0.5f * widths, ctr_y = a[1] + 0.5f * heights;
        float dx = r[0] / wx, dy = r[1] / wy, dw = r[2] / ww, dh = r[3] / wh;
        dw = dw > clip ? clip : dw;
        dh = dh > clip ? clip : dh;
        float pcx = dx * widths + ctr_x, pcy = dy * heights + ctr_y;
        float pw = expf (dw) * widths, ph = expf (dh) * heights;
        float cw = 0.5f * pw, chh = 0.5f * ph;
        float v[4] = { pcx - cw, pcy - chh, pcx + cw, pcy + chh };
        for (int q = 0; q < 4; q++) {
          float lim = q % 2 ? H : W;
          b[q] = v[q] < 0.0f ? 0.0f : v[q] > lim ? lim : v[q];
        }
      }
    }
  }
  g_assert (i == (gsize) p->N);
}

/* Thresholds, top-k, NMS and the final selection on p->scores and
 * p->boxes (scores_and_boxes ()). */
static int
select_detections (MoSsdPost *p, const MoSsdParams *params, MoDetection *out,
    int max_out)
{
  const int K = p->K, N = p->N;

  /* Per class: score > threshold, the topk best, in that order. */
  const float thr_all = (float) params->score_threshold;
  const int topk = params->topk_candidates;
  int nc = 0;
  for (int k = 1; k < K; k++) {
    Keys keys = { p->scores + k, K };
    int n = 0;
    float thr = params->class_thresholds && params->class_thresholds[k] > 0.0
        ? (float) params->class_thresholds[k] : thr_all;
    p->range[k] = nc;
    for (int i = 0; i < N; i++)
      if (p->scores[(gsize) i * K + k] > thr)
        p->idx[n++] = i;
    int m = MIN (n, topk);
    heapify (&keys, p->idx, n);
    for (int t = 0; t < m; t++, nc++) {
      int i = pop_best (&keys, p->idx, &n);
      memcpy (p->cbox + 4 * (gsize) nc, p->boxes + 4 * (gsize) i,
          4 * sizeof (float));
      p->cscore[nc] = p->scores[(gsize) i * K + k];
      p->clabel[nc] = k;
    }
  }
  p->range[K] = nc;
  if (nc == 0)
    return 0;

  /* batched_nms: for more than 4000 coordinates, NMS class by class on the
   * boxes themselves; otherwise one NMS on boxes moved apart by
   * label * (max coordinate + 1), whose rounding shows in the IoU. Boxes
   * of different labels never overlap either way, so both are class by
   * class here. */
  gboolean trick = (gsize) nc * 4 <= 4000;
  float maxc = -INFINITY;
  if (trick)
    for (int t = 0; t < 4 * nc; t++)
      maxc = p->cbox[t] > maxc ? p->cbox[t] : maxc;
  int n_keep = 0;
  for (int k = 1; k < K; k++) {
    int b = p->range[k], n = p->range[k + 1] - b;
    const float *bx = p->cbox + 4 * (gsize) b;
    if (n == 0)
      continue;
    if (trick) {
      float off = (float) k * (maxc + 1.0f);
      for (int t = 0; t < 4 * n; t++)
        p->nbox[t] = bx[t] + off;
      bx = p->nbox;
    }
    n_keep += nms_class (p, bx, n, b, params->nms_iou_threshold,
        p->ckeep + n_keep);
  }

  /* The kept boxes by decreasing score, the first max_detections. */
  Keys keys = { p->cscore, 1 };
  int m = MIN (MIN (n_keep, params->max_detections), max_out);
  heapify (&keys, p->ckeep, n_keep);
  for (int t = 0; t < m; t++) {
    int j = pop_best (&keys, p->ckeep, &n_keep);
    out[t].x0 = p->cbox[4 * (gsize) j];
    out[t].y0 = p->cbox[4 * (gsize) j + 1];
    out[t].x1 = p->cbox[4 * (gsize) j + 2];
    out[t].y1 = p->cbox[4 * (gsize) j + 3];
    out[t].score = p->cscore[j];
    out[t].label = p->clabel[j];
  }
  return m;
}

/* Bad parameters: -1; nothing asked for: 0; else the run goes on (1). */
static int
run_check (const MoSsdPost *p, const MoSsdParams **params, int max_out)
{
  if (*params == NULL)
    *params = &p->cfg->params;
  if (!mo_ssdlite_params_check (p, *params, NULL))
    return -1;
  return max_out > 0;
}

int
mo_ssdlite_post_run_raw (MoSsdPost *p, const MoSsdParams *params,
    const float *cls_logits, const float *bbox_regression, MoDetection *out,
    int max_out)
{
  Layout lay = { 1, {{cls_logits, bbox_regression, p->N, p->K, 4, 1}} };
  int go = run_check (p, &params, max_out);

  if (go <= 0)
    return go;
  scores_and_boxes (p, &lay);
  return select_detections (p, params, out, max_out);
}

int
mo_ssdlite_post_run (MoSsdPost *p, const MoSsdParams *params,
    MoDetection *out, int max_out)
{
  Layout lay = { .n_maps = MO_SSD_N_MAPS };
  int go = run_check (p, &params, max_out);

  if (go <= 0)
    return go;
  for (int j = 0; j < MO_SSD_N_MAPS; j++) {
    lay.map[j].cls = p->cls[j]->data;
    lay.map[j].reg = p->reg[j]->data;
    lay.map[j].n_loc = p->cls[j]->h * p->cls[j]->w;
    lay.map[j].cls_stride = p->cls[j]->cs;
    lay.map[j].reg_stride = p->reg[j]->cs;
    lay.map[j].A = p->A;
  }
  scores_and_boxes (p, &lay);
  return select_detections (p, params, out, max_out);
}

void
mo_ssdlite_detection_to_image (const MoTransform *xf, const MoDetection *d,
    double box[4])
{
  if (xf == NULL) {
    box[0] = d->x0;
    box[1] = d->y0;
    box[2] = d->x1;
    box[3] = d->y1;
    return;
  }
  mo_transform_point (xf, d->x0, d->y0, &box[0], &box[1]);
  mo_transform_point (xf, d->x1, d->y1, &box[2], &box[3]);
  /* A letterbox band is no part of the picture. */
  for (int q = 0; q < 4; q++) {
    double lo = q % 2 ? xf->src.y : xf->src.x;
    double hi = lo + (q % 2 ? xf->src.h : xf->src.w);
    box[q] = CLAMP (box[q], lo, hi);
  }
}
