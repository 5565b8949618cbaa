/* mobileone-gst: the SORT-style tracker (mo-tracker.h). */
#include "mo-tracker.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Kalman filter: four independent (position, velocity) filters             */
/* ------------------------------------------------------------------------ */

/* The size a coordinate's noise scales with: the width for cx and w, the
 * height for cy and h. A degenerate box keeps a tiny positive noise so that
 * the filter stays well defined. */
static double
noise_scale (const MoKalman * k, int coord)
{
  double s = fabs (k->mean[2 + (coord & 1)]);

  return s > 1e-9 ? s : 1e-9;
}

void
mo_kalman_init (MoKalman * k, const double box[4])
{
  memset (k, 0, sizeof (*k));
  k->mean[0] = 0.5 * (box[0] + box[2]);
  k->mean[1] = 0.5 * (box[1] + box[3]);
  k->mean[2] = box[2] - box[0];
  k->mean[3] = box[3] - box[1];
  for (int c = 0; c < 4; c++) {
    double s = noise_scale (k, c);
    double sp = 2.0 * MO_KALMAN_STD_POS * s, sv = 10.0 * MO_KALMAN_STD_VEL * s;

    k->cov[c][0] = sp * sp;
    k->cov[c][1] = 0.0;
    k->cov[c][2] = sv * sv;
  }
}

void
mo_kalman_predict (MoKalman * k)
{
  double q_pos[4], q_vel[4];

  /* Q comes from the size before the step, like DeepSORT's. */
  for (int c = 0; c < 4; c++) {
    double s = noise_scale (k, c);

    q_pos[c] = (MO_KALMAN_STD_POS * s) * (MO_KALMAN_STD_POS * s);
    q_vel[c] = (MO_KALMAN_STD_VEL * s) * (MO_KALMAN_STD_VEL * s);
  }
  for (int c = 0; c < 4; c++) {
    double *p = k->cov[c];
    double p00 = p[0], p01 = p[1], p11 = p[2];

    k->mean[c] += k->mean[4 + c];
    p[0] = p00 + 2.0 * p01 + p11 + q_pos[c];
    p[1] = p01 + p11;
    p[2] = p11 + q_vel[c];
  }
  /* A shrinking box must not turn inside out while it coasts. */
  for (int c = 2; c < 4; c++) {
    double floor = 1e-6 * fabs (k->mean[c] - k->mean[4 + c]);

    if (k->mean[c] < floor) {
      k->mean[c] = floor;
      k->mean[4 + c] = 0.0;
    }
  }
}

void
mo_kalman_update (MoKalman * k, const double box[4])
{
  double z[4], r[4];

  z[0] = 0.5 * (box[0] + box[2]);
  z[1] = 0.5 * (box[1] + box[3]);
  z[2] = box[2] - box[0];
  z[3] = box[3] - box[1];
  for (int c = 0; c < 4; c++) {
    double s = noise_scale (k, c);

    r[c] = (MO_KALMAN_STD_POS * s) * (MO_KALMAN_STD_POS * s);
  }
  for (int c = 0; c < 4; c++) {
    double *p = k->cov[c];
    double p00 = p[0], p01 = p[1], p11 = p[2];
    double S = p00 + r[c];
    double k0 = p00 / S, k1 = p01 / S;
    double y = z[c] - k->mean[c];

    k->mean[c] += k0 * y;
    k->mean[4 + c] += k1 * y;
    p[0] = (1.0 - k0) * p00;
    p[1] = (1.0 - k0) * p01;
    p[2] = p11 - k1 * p01;
  }
}

void
mo_kalman_box (const MoKalman * k, double box[4])
{
  box[0] = k->mean[0] - 0.5 * k->mean[2];
  box[1] = k->mean[1] - 0.5 * k->mean[3];
  box[2] = k->mean[0] + 0.5 * k->mean[2];
  box[3] = k->mean[1] + 0.5 * k->mean[3];
}

double
mo_box_iou (const double a[4], const double b[4])
{
  double iw = MIN (a[2], b[2]) - MAX (a[0], b[0]);
  double ih = MIN (a[3], b[3]) - MAX (a[1], b[1]);
  double inter, uni;

  if (iw <= 0 || ih <= 0)
    return 0.0;
  inter = iw * ih;
  uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

/* ------------------------------------------------------------------------ */
/* Assignment                                                                */
/* ------------------------------------------------------------------------ */

struct _MoAssign
{
  guint max_rows, max_cols;
  /* union-find over rows (0..R-1) then columns (R..R+C-1) */
  guint *parent;
  gint *comp;                   /* a root's component index, -1 */
  guint *count;                 /* per component, rows then cols counts */
  guint *start;
  guint *order;                 /* nodes sorted by component */
  /* Hungarian work space, 1-based, for the longer side + 1 */
  double *u, *v, *minv;
  guint *p, *way;
  gboolean *used;
};

MoAssign *
mo_assign_new (guint max_rows, guint max_cols)
{
  MoAssign *a;
  guint nodes = max_rows + max_cols, side = MAX (max_rows, max_cols) + 1;

  g_return_val_if_fail (max_rows > 0 && max_cols > 0, NULL);
  a = g_new0 (MoAssign, 1);
  a->max_rows = max_rows;
  a->max_cols = max_cols;
  a->parent = g_new (guint, nodes);
  a->comp = g_new (gint, nodes);
  a->count = g_new (guint, nodes + 1);
  a->start = g_new (guint, nodes + 1);
  a->order = g_new (guint, nodes);
  a->u = g_new (double, side);
  a->v = g_new (double, side);
  a->minv = g_new (double, side);
  a->p = g_new (guint, side);
  a->way = g_new (guint, side);
  a->used = g_new (gboolean, side);
  return a;
}

void
mo_assign_free (MoAssign * a)
{
  if (a == NULL)
    return;
  g_free (a->parent);
  g_free (a->comp);
  g_free (a->count);
  g_free (a->start);
  g_free (a->order);
  g_free (a->u);
  g_free (a->v);
  g_free (a->minv);
  g_free (a->p);
  g_free (a->way);
  g_free (a->used);
  g_free (a);
}

static guint
uf_find (guint * parent, guint x)
{
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

/* Minimum-cost assignment of every one of @n rows to distinct columns of
 * @m >= @n (e-maxx's formulation of the Hungarian method with potentials).
 * The cost of (i, j) is -weight of (rows[i], cols[j]), 0 for a forbidden
 * pair, which equals leaving both unmatched: a minimum-cost full assignment
 * is a maximum-weight matching once its forbidden pairs are dropped. With
 * @transposed, the rows are the problem's columns. */
static void
hungarian (MoAssign * a, const float *w, guint stride, const guint * rows,
    guint n, const guint * cols, guint m, gboolean transposed,
    int *row_to_col)
{
  double *u = a->u, *v = a->v, *minv = a->minv;
  guint *p = a->p, *way = a->way;
  gboolean *used = a->used;

#define COST(i, j) (transposed \
    ? -(double) MAX (w[(gsize) cols[(j) - 1] * stride + rows[(i) - 1]], 0.0f) \
    : -(double) MAX (w[(gsize) rows[(i) - 1] * stride + cols[(j) - 1]], 0.0f))

  for (guint j = 0; j <= m; j++) {
    v[j] = 0.0;
    p[j] = 0;
    way[j] = 0;
  }
  for (guint i = 0; i <= n; i++)
    u[i] = 0.0;

  for (guint i = 1; i <= n; i++) {
    guint j0 = 0;

    p[0] = i;
    for (guint j = 0; j <= m; j++) {
      minv[j] = INFINITY;
      used[j] = FALSE;
    }
    do {
      guint i0 = p[j0], j1 = 0;
      double delta = INFINITY;

      used[j0] = TRUE;
      for (guint j = 1; j <= m; j++) {
        if (used[j])
          continue;
        double cur = COST (i0, j) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (guint j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      guint j1 = way[j0];

      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
#undef COST

  for (guint j = 1; j <= m; j++) {
    guint r, c;

    if (p[j] == 0)
      continue;
    r = transposed ? cols[j - 1] : rows[p[j] - 1];
    c = transposed ? rows[p[j] - 1] : cols[j - 1];
    if (w[(gsize) r * stride + c] > 0.0f)
      row_to_col[r] = (int) c;
  }
}

int
mo_assign_solve (MoAssign * a, const float *weights, guint rows, guint cols,
    int *row_to_col)
{
  guint nodes = rows + cols, n_comp = 0;
  int matched = 0;

  if (rows > a->max_rows || cols > a->max_cols)
    return -1;
  for (guint r = 0; r < rows; r++)
    row_to_col[r] = -1;
  if (rows == 0 || cols == 0)
    return 0;

  for (guint x = 0; x < nodes; x++)
    a->parent[x] = x;
  for (guint r = 0; r < rows; r++) {
    for (guint c = 0; c < cols; c++) {
      if (weights[(gsize) r * cols + c] > 0.0f) {
        guint x = uf_find (a->parent, r), y = uf_find (a->parent, rows + c);

        if (x != y)
          a->parent[y] = x;
      }
    }
  }

  /* Components with at least one allowed pair (a root with a child or a
   * node under another root), numbered in order of their roots. */
  for (guint x = 0; x < nodes; x++)
    a->comp[x] = -1;
  for (guint x = 0; x < nodes; x++) {
    guint root = uf_find (a->parent, x);

    if (root != x && a->comp[root] < 0)
      a->comp[root] = (gint) n_comp++;
  }
  if (n_comp == 0)
    return 0;

  /* Counting sort of the nodes by component: rows before columns inside a
   * component because rows come first in node order. */
  memset (a->count, 0, sizeof (guint) * (n_comp + 1));
  for (guint x = 0; x < nodes; x++) {
    gint c = a->comp[uf_find (a->parent, x)];

    if (c >= 0)
      a->count[c]++;
  }
  a->start[0] = 0;
  for (guint c = 0; c < n_comp; c++)
    a->start[c + 1] = a->start[c] + a->count[c];
  memset (a->count, 0, sizeof (guint) * (n_comp + 1));
  for (guint x = 0; x < nodes; x++) {
    gint c = a->comp[uf_find (a->parent, x)];

    if (c >= 0)
      a->order[a->start[c] + a->count[c]++] = x;
  }

  for (guint c = 0; c < n_comp; c++) {
    guint *nodes_c = a->order + a->start[c];
    guint len = a->start[c + 1] - a->start[c], nr = 0;

    while (nr < len && nodes_c[nr] < rows)
      nr++;
    /* Column node ids become column indices in place. */
    for (guint k = nr; k < len; k++)
      nodes_c[k] -= rows;
    if (nr == 1 && len - nr == 1)
      row_to_col[nodes_c[0]] = (int) nodes_c[1];
    else if (nr <= len - nr)
      hungarian (a, weights, cols, nodes_c, nr, nodes_c + nr, len - nr, FALSE,
          row_to_col);
    else
      hungarian (a, weights, cols, nodes_c + nr, len - nr, nodes_c, nr, TRUE,
          row_to_col);
  }
  for (guint r = 0; r < rows; r++)
    matched += row_to_col[r] >= 0;
  return matched;
}

/* ------------------------------------------------------------------------ */
/* Tracker                                                                   */
/* ------------------------------------------------------------------------ */

struct _MoTracker
{
  guint max_tracks, max_dets;
  MoTrack *tracks;
  guint n_tracks;
  float *iou;                   /* max_tracks x max_dets */
  int *track_det;               /* per track: its detection this frame */
  int *det_track;               /* per detection of the last update */
  guint *remap;                 /* per track slot: its slot after removal */
  int *stage2_det;               /* per track: the second stage's detection */
  guint n_last_dets;
  MoAssign *assign;
  gint next_id;
  guint64 dropped;
};

MoTracker *
mo_tracker_new (guint max_tracks, guint max_detections)
{
  MoTracker *t;

  g_return_val_if_fail (max_tracks > 0 && max_detections > 0, NULL);
  t = g_new0 (MoTracker, 1);
  t->max_tracks = max_tracks;
  t->max_dets = max_detections;
  t->tracks = g_new0 (MoTrack, max_tracks);
  t->iou = g_new (float, (gsize) max_tracks * max_detections);
  t->track_det = g_new (int, max_tracks);
  t->det_track = g_new (int, max_detections);
  t->remap = g_new (guint, max_tracks);
  t->stage2_det = g_new (int, max_tracks);
  t->assign = mo_assign_new (max_tracks, max_detections);
  mo_tracker_reset (t);
  return t;
}

void
mo_tracker_free (MoTracker * t)
{
  if (t == NULL)
    return;
  g_free (t->tracks);
  g_free (t->iou);
  g_free (t->track_det);
  g_free (t->det_track);
  g_free (t->remap);
  g_free (t->stage2_det);
  mo_assign_free (t->assign);
  g_free (t);
}

void
mo_tracker_reset (MoTracker * t)
{
  t->n_tracks = 0;
  t->n_last_dets = 0;
  t->next_id = 1;
  t->dropped = 0;
}

static void
predict_all (MoTracker * t)
{
  for (guint i = 0; i < t->n_tracks; i++) {
    MoTrack *tr = &t->tracks[i];

    mo_kalman_predict (&tr->kalman);
    mo_kalman_box (&tr->kalman, tr->box);
    tr->age++;
    tr->since_detection++;
  }
}

void
mo_tracker_predict (MoTracker * t)
{
  predict_all (t);
}

static void
confirm (MoTracker * t, MoTrack * tr, const MoTrackerParams * params)
{
  if (tr->id == 0 && tr->hits >= MAX (params->min_hits, 1)) {
    tr->id = t->next_id;
    /* 2^31 - 1 confirmed tracks in one stream: wrap rather than overflow. */
    t->next_id = t->next_id == G_MAXINT ? 1 : t->next_id + 1;
  }
}

/* The tracks and detections the IoU stage left over, matched by the
 * distance of their centres (mo-tracker.h, max_distance). The weights reuse
 * the IoU matrix: a pair decided in the first stage gets 0. */
static void
second_stage (MoTracker * t, const MoTrackerParams * params,
    const MoTrackDetection * dets, guint n)
{
  gboolean any = FALSE;

  for (guint i = 0; i < t->n_tracks; i++) {
    const MoTrack *tr = &t->tracks[i];
    float *row = t->iou + (gsize) i * n;
    double cx = 0.5 * (tr->box[0] + tr->box[2]);
    double cy = 0.5 * (tr->box[1] + tr->box[3]);
    double limit = params->max_distance * 0.5 * ((tr->box[2] - tr->box[0])
        + (tr->box[3] - tr->box[1]));

    for (guint d = 0; d < n; d++) {
      double dx, dy, dist;

      row[d] = 0.0f;
      if (t->track_det[i] >= 0 || t->det_track[d] >= 0
          || dets[d].label != tr->label || !(limit > 0))
        continue;
      dx = 0.5 * (dets[d].box[0] + dets[d].box[2]) - cx;
      dy = 0.5 * (dets[d].box[1] + dets[d].box[3]) - cy;
      dist = sqrt (dx * dx + dy * dy);
      if (dist < limit) {
        row[d] = (float) MAX (1.0 - dist / limit, 1e-6);
        any = TRUE;
      }
    }
  }
  if (!any)
    return;
  mo_assign_solve (t->assign, t->iou, t->n_tracks, n, t->stage2_det);
  for (guint i = 0; i < t->n_tracks; i++)
    if (t->track_det[i] < 0 && t->stage2_det[i] >= 0)
      t->track_det[i] = t->stage2_det[i];
}

guint
mo_tracker_update (MoTracker * t, const MoTrackerParams * params,
    const MoTrackDetection * dets, guint n_dets)
{
  guint n = MIN (n_dets, t->max_dets), n_old, kept = 0;
  double thr = params->iou_threshold;

  if (n < n_dets)
    t->dropped += n_dets - n;
  predict_all (t);

  /* Allowed pairs: same label, overlap at least the threshold. */
  for (guint i = 0; i < t->n_tracks; i++) {
    const MoTrack *tr = &t->tracks[i];
    float *row = t->iou + (gsize) i * n;

    for (guint d = 0; d < n; d++) {
      double iou = 0.0;

      if (dets[d].label == tr->label) {
        iou = mo_box_iou (tr->box, dets[d].box);
        if (iou < thr)
          iou = 0.0;
      }
      row[d] = (float) iou;
    }
  }
  mo_assign_solve (t->assign, t->iou, t->n_tracks, n, t->track_det);

  for (guint d = 0; d < n; d++)
    t->det_track[d] = -1;
  for (guint i = 0; i < t->n_tracks; i++)
    if (t->track_det[i] >= 0)
      t->det_track[t->track_det[i]] = (int) i;
  if (params->max_distance > 0)
    second_stage (t, params, dets, n);
  for (guint d = 0; d < n; d++)
    t->det_track[d] = -1;
  for (guint i = 0; i < t->n_tracks; i++) {
    MoTrack *tr = &t->tracks[i];
    int d = t->track_det[i];

    if (d >= 0) {
      mo_kalman_update (&tr->kalman, dets[d].box);
      mo_kalman_box (&tr->kalman, tr->box);
      tr->hits++;
      tr->since_detection = 0;
      tr->misses = 0;
      confirm (t, tr, params);
      t->det_track[d] = (int) i;
    } else {
      tr->misses++;
    }
  }

  /* Stale tracks go; the others keep their order. */
  n_old = t->n_tracks;
  for (guint i = 0; i < n_old; i++) {
    MoTrack *tr = &t->tracks[i];
    gboolean stale = tr->misses > 0
        && (tr->id == 0 || tr->misses > params->max_age);

    if (stale)
      continue;
    t->remap[i] = kept;
    if (kept != i)
      t->tracks[kept] = *tr;
    kept++;
  }
  t->n_tracks = kept;
  for (guint d = 0; d < n; d++) {
    if (t->det_track[d] >= 0)
      t->det_track[d] = (int) t->remap[t->det_track[d]];
  }

  /* New tentative tracks, in detection order. */
  for (guint d = 0; d < n; d++) {
    MoTrack *tr;

    if (t->det_track[d] >= 0)
      continue;
    if (t->n_tracks == t->max_tracks) {
      t->dropped++;
      continue;
    }
    tr = &t->tracks[t->n_tracks];
    memset (tr, 0, sizeof (*tr));
    tr->label = dets[d].label;
    mo_kalman_init (&tr->kalman, dets[d].box);
    mo_kalman_box (&tr->kalman, tr->box);
    tr->age = 1;
    tr->hits = 1;
    confirm (t, tr, params);
    t->det_track[d] = (int) t->n_tracks++;
  }
  t->n_last_dets = n;
  return n;
}

const MoTrack *
mo_tracker_detection_track (const MoTracker * t, guint i)
{
  if (i >= t->n_last_dets || t->det_track[i] < 0)
    return NULL;
  return &t->tracks[t->det_track[i]];
}

const MoTrack *
mo_tracker_tracks (const MoTracker * t, guint * n)
{
  *n = t->n_tracks;
  return t->tracks;
}

guint64
mo_tracker_dropped (const MoTracker * t)
{
  return t->dropped;
}
