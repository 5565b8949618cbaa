/* Tests of the tracker (track/mo-tracker.h): the Kalman filter against a
 * plain 8x8 matrix implementation of the textbook equations (and one step
 * derived by hand), the assignment against brute force (including a case
 * where greedy matching is wrong), and the tracker's ids: given at min_hits,
 * kept through misses up to max_age, never reused, never crossing classes,
 * and capacity limits. */
#include "mo-tracker.h"

#include <math.h>
#include <string.h>

#include <glib.h>

/* ------------------------------------------------------------------------ */
/* Kalman reference: full matrices, no structure assumed                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  double x[8];
  double P[8][8];
} RefKalman;

static double
ref_scale (const RefKalman * k, int row)
{
  /* The documented noise: width for cx, w (and their velocities), height
   * for cy, h. */
  double s = fabs (k->x[2 + (row % 4) % 2]);

  return s > 1e-9 ? s : 1e-9;
}

static void
ref_init (RefKalman * k, const double box[4])
{
  memset (k, 0, sizeof (*k));
  k->x[0] = (box[0] + box[2]) / 2;
  k->x[1] = (box[1] + box[3]) / 2;
  k->x[2] = box[2] - box[0];
  k->x[3] = box[3] - box[1];
  for (int i = 0; i < 8; i++) {
    double sd = i < 4 ? 2 * MO_KALMAN_STD_POS * ref_scale (k, i)
        : 10 * MO_KALMAN_STD_VEL * ref_scale (k, i);
    k->P[i][i] = sd * sd;
  }
}

static void
ref_predict (RefKalman * k)
{
  double F[8][8] = { {0} }, Q[8][8] = { {0} }, FP[8][8], x[8];

  for (int i = 0; i < 8; i++) {
    double sd = (i < 4 ? MO_KALMAN_STD_POS : MO_KALMAN_STD_VEL) *
        ref_scale (k, i);
    F[i][i] = 1;
    Q[i][i] = sd * sd;
  }
  for (int i = 0; i < 4; i++)
    F[i][4 + i] = 1;
  for (int i = 0; i < 8; i++) {
    x[i] = 0;
    for (int j = 0; j < 8; j++)
      x[i] += F[i][j] * k->x[j];
  }
  memcpy (k->x, x, sizeof (x));
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) {
      FP[i][j] = 0;
      for (int l = 0; l < 8; l++)
        FP[i][j] += F[i][l] * k->P[l][j];
    }
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) {
      double s = Q[i][j];
      for (int l = 0; l < 8; l++)
        s += FP[i][l] * F[j][l];
      k->P[i][j] = s;
    }
}

/* Gauss-Jordan inverse of a 4x4 matrix with partial pivoting. */
static void
invert4 (double A[4][4], double inv[4][4])
{
  double M[4][8];

  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++)
      M[i][j] = j < 4 ? A[i][j] : (j - 4 == i);
  for (int c = 0; c < 4; c++) {
    int piv = c;
    for (int r = c + 1; r < 4; r++)
      if (fabs (M[r][c]) > fabs (M[piv][c]))
        piv = r;
    for (int j = 0; j < 8; j++) {
      double t = M[c][j];
      M[c][j] = M[piv][j];
      M[piv][j] = t;
    }
    double d = M[c][c];
    for (int j = 0; j < 8; j++)
      M[c][j] /= d;
    for (int r = 0; r < 4; r++) {
      if (r == c)
        continue;
      double f = M[r][c];
      for (int j = 0; j < 8; j++)
        M[r][j] -= f * M[c][j];
    }
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      inv[i][j] = M[i][4 + j];
}

static void
ref_update (RefKalman * k, const double box[4])
{
  double z[4] = { (box[0] + box[2]) / 2, (box[1] + box[3]) / 2,
    box[2] - box[0], box[3] - box[1]
  };
  double S[4][4], Si[4][4], K[8][4], P[8][8];

  /* H picks the first four states: S = P[0:4,0:4] + R, K = P[:,0:4] S^-1. */
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      double sd = MO_KALMAN_STD_POS * ref_scale (k, i);
      S[i][j] = k->P[i][j] + (i == j ? sd * sd : 0);
    }
  invert4 (S, Si);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) {
      K[i][j] = 0;
      for (int l = 0; l < 4; l++)
        K[i][j] += k->P[i][l] * Si[l][j];
    }
  for (int j = 0; j < 4; j++)
    z[j] -= k->x[j];            /* the innovation */
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      k->x[i] += K[i][j] * z[j];
  /* P = (I - K H) P */
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) {
      double s = k->P[i][j];
      for (int l = 0; l < 4; l++)
        s -= K[i][l] * k->P[l][j];
      P[i][j] = s;
    }
  memcpy (k->P, P, sizeof (P));
}

static void
compare_kalman (const MoKalman * k, const RefKalman * r)
{
  for (int i = 0; i < 8; i++)
    g_assert_cmpfloat_with_epsilon (k->mean[i], r->x[i],
        1e-9 * (1 + fabs (r->x[i])));
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) {
      double got = 0, ref = r->P[i][j];
      int ci = i % 4, cj = j % 4;

      if (ci == cj)
        got = k->cov[ci][(i >= 4) + (j >= 4)];
      g_assert_cmpfloat_with_epsilon (got, ref, 1e-9 * (1 + fabs (ref)));
    }
}

static void
test_kalman_reference (void)
{
  GRand *rand = g_rand_new_with_seed (16);

  for (int trial = 0; trial < 50; trial++) {
    double box[4], v[4];
    MoKalman k;
    RefKalman r;

    box[0] = g_rand_double_range (rand, -10, 300);
    box[1] = g_rand_double_range (rand, -10, 200);
    box[2] = box[0] + g_rand_double_range (rand, 1, 100);
    box[3] = box[1] + g_rand_double_range (rand, 1, 100);
    /* Moving and growing or shrinking slowly (the filter's size floor is
     * not the textbook equations). */
    v[0] = g_rand_double_range (rand, -3, 3);
    v[1] = g_rand_double_range (rand, -3, 3);
    v[2] = v[0] + g_rand_double_range (rand, -0.02, 0.02) * (box[2] - box[0]);
    v[3] = v[1] + g_rand_double_range (rand, -0.02, 0.02) * (box[3] - box[1]);
    mo_kalman_init (&k, box);
    ref_init (&r, box);
    compare_kalman (&k, &r);
    for (int step = 0; step < 30; step++) {
      mo_kalman_predict (&k);
      ref_predict (&r);
      compare_kalman (&k, &r);
      if (g_rand_double (rand) < 0.7) {
        double z[4];
        for (int c = 0; c < 4; c++) {
          box[c] += v[c];
          z[c] = box[c] + g_rand_double_range (rand, -1, 1);
        }
        z[2] = MAX (z[2], z[0] + 0.5);
        z[3] = MAX (z[3], z[1] + 0.5);
        mo_kalman_update (&k, z);
        ref_update (&r, z);
        compare_kalman (&k, &r);
      }
    }
  }
  g_rand_free (rand);
}

/* One predict and update of box (0, 0, 10, 20) measured 2 px to the right,
 * by hand: P_x = diag((2/20 * 10)^2, (10/160 * 10)^2) = diag(1, 25/64);
 * predicted P_x = [[1 + 25/64 + 1/4, 25/64], [25/64, 25/64 + 1/256]], so
 * P00 = 105/64, S = P00 + R = 105/64 + 1/4 = 121/64, gains 105/121 and
 * 25/121: cx = 5 + 2 * 105/121, vx = 2 * 25/121. */
static void
test_kalman_by_hand (void)
{
  const double box[4] = { 0, 0, 10, 20 }, z[4] = { 2, 0, 12, 20 };
  MoKalman k;

  mo_kalman_init (&k, box);
  mo_kalman_predict (&k);
  g_assert_cmpfloat_with_epsilon (k.cov[0][0], 105.0 / 64, 1e-12);
  g_assert_cmpfloat_with_epsilon (k.cov[0][1], 25.0 / 64, 1e-12);
  g_assert_cmpfloat_with_epsilon (k.cov[0][2], 25.0 / 64 + 1.0 / 256, 1e-12);
  mo_kalman_update (&k, z);
  g_assert_cmpfloat_with_epsilon (k.mean[0], 5 + 2 * 105.0 / 121, 1e-12);
  g_assert_cmpfloat_with_epsilon (k.mean[4], 2 * 25.0 / 121, 1e-12);
  /* y, w, h were measured where predicted: unchanged. */
  g_assert_cmpfloat_with_epsilon (k.mean[1], 10, 1e-12);
  g_assert_cmpfloat_with_epsilon (k.mean[2], 10, 1e-12);
  g_assert_cmpfloat_with_epsilon (k.mean[5], 0, 1e-12);
}

/* ------------------------------------------------------------------------ */
/* Assignment                                                                */
/* ------------------------------------------------------------------------ */

static double
brute_force (const float *w, guint rows, guint cols, guint r, guint used)
{
  double best;

  if (r == rows)
    return 0;
  best = brute_force (w, rows, cols, r + 1, used);      /* row r unmatched */
  for (guint c = 0; c < cols; c++) {
    if ((used >> c) & 1 || w[r * cols + c] <= 0)
      continue;
    best = MAX (best, w[r * cols + c] + brute_force (w, rows, cols, r + 1,
            used | (1u << c)));
  }
  return best;
}

static double
check_matching (const float *w, guint rows, guint cols, const int *r2c)
{
  guint used = 0;
  double sum = 0;

  for (guint r = 0; r < rows; r++) {
    if (r2c[r] < 0)
      continue;
    g_assert_cmpint (r2c[r], <, (int) cols);
    g_assert_false ((used >> r2c[r]) & 1);
    used |= 1u << r2c[r];
    g_assert_cmpfloat (w[r * cols + r2c[r]], >, 0);
    sum += w[r * cols + r2c[r]];
  }
  return sum;
}

static void
test_assign_greedy_differs (void)
{
  /* Greedy takes the best pair (0, 0) = 0.6 and leaves row 1 alone (0.6);
   * the optimum pairs (0, 1) and (1, 0): 0.5 + 0.55 = 1.05. */
  const float w[] = { 0.6f, 0.5f, 0.55f, 0.0f };
  MoAssign *a = mo_assign_new (2, 2);
  int r2c[2];

  g_assert_cmpint (mo_assign_solve (a, w, 2, 2, r2c), ==, 2);
  g_assert_cmpint (r2c[0], ==, 1);
  g_assert_cmpint (r2c[1], ==, 0);
  mo_assign_free (a);
}

static void
test_assign_brute_force (void)
{
  GRand *rand = g_rand_new_with_seed (1616);
  MoAssign *a = mo_assign_new (7, 7);
  float w[49];
  int r2c[7];

  for (int trial = 0; trial < 3000; trial++) {
    guint rows = g_rand_int_range (rand, 0, 8);
    guint cols = g_rand_int_range (rand, 0, 8);
    double density = g_rand_double (rand);
    int n;

    for (guint i = 0; i < rows * cols; i++) {
      w[i] = g_rand_double (rand) < density ?
          (float) g_rand_double_range (rand, 0.01, 1) : 0.0f;
      /* ties */
      if (trial % 3 == 0)
        w[i] = w[i] > 0 ? (float) g_rand_int_range (rand, 1, 4) / 4 : 0;
    }
    n = mo_assign_solve (a, w, rows, cols, r2c);
    g_assert_cmpint (n, >=, 0);
    g_assert_cmpfloat_with_epsilon (check_matching (w, rows, cols, r2c),
        brute_force (w, rows, cols, 0, 0), 1e-5);
  }
  /* Over capacity. */
  g_assert_cmpint (mo_assign_solve (a, w, 8, 1, r2c), ==, -1);
  g_assert_cmpint (mo_assign_solve (a, w, 1, 8, r2c), ==, -1);
  mo_assign_free (a);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------------ */
/* Tracker                                                                   */
/* ------------------------------------------------------------------------ */

static const MoTrackerParams params = {.min_hits = 3,.max_age = 5,
  .iou_threshold = 0.3
};

static MoTrackDetection
det_at (double x, double y, double size, int label)
{
  MoTrackDetection d = {.box = {x, y, x + size, y + size},.label = label };
  return d;
}

static gint
det_id (MoTracker * t, guint i)
{
  const MoTrack *tr = mo_tracker_detection_track (t, i);
  g_assert_nonnull (tr);
  return tr->id;
}

static void
test_tracker_life (void)
{
  MoTracker *t = mo_tracker_new (8, 8);
  MoTrackDetection d;
  guint n;

  /* Tentative for min_hits - 1 frames, then id 1. */
  for (int f = 0; f < 3; f++) {
    d = det_at (10 + 2 * f, 10, 20, 1);
    mo_tracker_update (t, &params, &d, 1);
    g_assert_cmpint (det_id (t, 0), ==, f < 2 ? 0 : 1);
  }
  /* A predict frame moves it on and counts no miss. */
  for (int f = 0; f < 10; f++)
    mo_tracker_predict (t);
  mo_tracker_tracks (t, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (mo_tracker_tracks (t, &n)[0].misses, ==, 0);
  g_assert_cmpuint (mo_tracker_tracks (t, &n)[0].since_detection, ==, 10);
  g_assert_cmpfloat (mo_tracker_tracks (t, &n)[0].box[0], >, 20);
  mo_tracker_reset (t);

  for (int f = 0; f < 3; f++) {
    d = det_at (10 + 2 * f, 10, 20, 1);
    mo_tracker_update (t, &params, &d, 1);
  }
  g_assert_cmpint (det_id (t, 0), ==, 1);       /* ids restart */
  /* max_age missed frames keep it, the next one removes it. */
  for (guint f = 0; f < params.max_age; f++) {
    mo_tracker_update (t, &params, NULL, 0);
    mo_tracker_tracks (t, &n);
    g_assert_cmpuint (n, ==, 1);
  }
  d = det_at (10 + 2 * 8, 10, 20, 1);
  mo_tracker_update (t, &params, &d, 1);
  g_assert_cmpint (det_id (t, 0), ==, 1);       /* back after 5 misses */
  for (guint f = 0; f <= params.max_age; f++)
    mo_tracker_update (t, &params, NULL, 0);
  mo_tracker_tracks (t, &n);
  g_assert_cmpuint (n, ==, 0);
  /* A tentative track goes at its first miss. */
  d = det_at (100, 100, 20, 1);
  mo_tracker_update (t, &params, &d, 1);
  mo_tracker_update (t, &params, NULL, 0);
  mo_tracker_tracks (t, &n);
  g_assert_cmpuint (n, ==, 0);
  mo_tracker_free (t);
}

/* Objects enter, live a while and leave at random for 2000 frames: an id,
 * once its track is gone, never comes back, and new ids only grow. */
static void
test_tracker_ids_unique (void)
{
  GRand *rand = g_rand_new_with_seed (7);
  MoTracker *t = mo_tracker_new (64, 64);
  GHashTable *gone = g_hash_table_new (NULL, NULL);
  GHashTable *live = g_hash_table_new (NULL, NULL);
  struct
  {
    double x, y, vx, vy;
    int label, left;
  } obj[20];
  guint n_obj = 0;
  gint max_id = 0;

  for (int f = 0; f < 2000; f++) {
    MoTrackDetection dets[20];
    guint n = 0, n_tracks;
    const MoTrack *tracks;
    GHashTable *now = g_hash_table_new (NULL, NULL);
    GHashTableIter it;
    gpointer key;

    if (n_obj < 20 && g_rand_double (rand) < 0.1) {
      obj[n_obj].x = g_rand_double_range (rand, 0, 600);
      obj[n_obj].y = g_rand_double_range (rand, 0, 400);
      obj[n_obj].vx = g_rand_double_range (rand, -3, 3);
      obj[n_obj].vy = g_rand_double_range (rand, -3, 3);
      obj[n_obj].label = g_rand_int_range (rand, 1, 4);
      obj[n_obj].left = g_rand_int_range (rand, 5, 80);
      n_obj++;
    }
    for (guint i = 0; i < n_obj; i++) {
      obj[i].x += obj[i].vx;
      obj[i].y += obj[i].vy;
      if (--obj[i].left <= 0) {
        obj[i--] = obj[--n_obj];
        continue;
      }
      if (g_rand_double (rand) < 0.9)
        dets[n++] = det_at (obj[i].x, obj[i].y, 30, obj[i].label);
    }
    mo_tracker_update (t, &params, dets, n);
    tracks = mo_tracker_tracks (t, &n_tracks);
    for (guint i = 0; i < n_tracks; i++) {
      gint id = tracks[i].id;
      if (id == 0)
        continue;
      g_assert_false (g_hash_table_contains (gone, GINT_TO_POINTER (id)));
      g_assert_false (g_hash_table_contains (now, GINT_TO_POINTER (id)));
      if (!g_hash_table_contains (live, GINT_TO_POINTER (id))) {
        g_assert_cmpint (id, >, max_id);
        max_id = id;
      }
      g_hash_table_add (now, GINT_TO_POINTER (id));
    }
    g_hash_table_iter_init (&it, live);
    while (g_hash_table_iter_next (&it, &key, NULL))
      if (!g_hash_table_contains (now, key))
        g_hash_table_add (gone, key);
    g_hash_table_unref (live);
    live = now;
  }
  g_assert_cmpint (max_id, >, 50);
  g_hash_table_unref (gone);
  g_hash_table_unref (live);
  mo_tracker_free (t);
  g_rand_free (rand);
}

/* Two objects crossing each other's path at constant speed: the same class
 * keeps both ids through the crossing (the prediction tells them apart);
 * of two classes, neither ever takes the other's id, even when the boxes
 * coincide. */
static void
test_tracker_crossing (void)
{
  for (int label_b = 1; label_b <= 2; label_b++) {
    MoTracker *t = mo_tracker_new (8, 8);
    gint id_a = 0, id_b = 0;

    for (int f = 0; f <= 60; f++) {
      MoTrackDetection d[2];

      d[0] = det_at (4.0 * f, 100, 30, 1);
      /* The same class passes 12 px lower: boxes that coincide exactly
       * could go either way. */
      d[1] = det_at (240 - 4.0 * f, label_b == 1 ? 112 : 100, 30, label_b);
      mo_tracker_update (t, &params, d, 2);
      if (f == 2) {
        id_a = det_id (t, 0);
        id_b = det_id (t, 1);
        g_assert_cmpint (id_a, >, 0);
        g_assert_cmpint (id_b, >, 0);
      } else if (f > 2) {
        g_assert_cmpint (det_id (t, 0), ==, id_a);
        g_assert_cmpint (det_id (t, 1), ==, id_b);
      }
    }
    mo_tracker_free (t);
  }
}

/* A circle track never continues as a square, even in place. */
static void
test_tracker_class_aware (void)
{
  MoTracker *t = mo_tracker_new (8, 8);
  MoTrackDetection d;

  for (int f = 0; f < 4; f++) {
    d = det_at (50, 50, 20, 1);
    mo_tracker_update (t, &params, &d, 1);
  }
  g_assert_cmpint (det_id (t, 0), ==, 1);
  d = det_at (50, 50, 20, 2);
  mo_tracker_update (t, &params, &d, 1);
  g_assert_cmpint (det_id (t, 0), ==, 0);       /* a new, tentative track */
  g_assert_true (mo_tracker_detection_track (t, 0)->label == 2);
  mo_tracker_free (t);
}

/* An object hidden for 5 frames comes out with only its left half
 * visible: its box overlaps the prediction by less than the threshold, the
 * second stage (centres less than max_distance sizes apart) keeps its id. */
static void
test_tracker_second_stage (void)
{
  for (int stage2 = 0; stage2 < 2; stage2++) {
    MoTrackerParams p = params;
    MoTracker *t = mo_tracker_new (8, 8);
    MoTrackDetection d;

    p.max_distance = stage2 ? 1.0 : 0.0;
    for (int f = 0; f < 5; f++) {
      d = det_at (100 - 2.0 * f, 50, 40, 1);
      mo_tracker_update (t, &p, &d, 1);
    }
    g_assert_cmpint (det_id (t, 0), ==, 1);
    for (int f = 5; f < 10; f++)
      mo_tracker_update (t, &p, NULL, 0);
    /* at frame 10 the whole box would be x 80..120: left 12 px of it */
    d.box[0] = 80;
    d.box[1] = 50;
    d.box[2] = 92;
    d.box[3] = 90;
    g_assert_cmpfloat (mo_box_iou (d.box, mo_tracker_tracks (t,
                &(guint) { 0})[0].box), <, p.iou_threshold);
    mo_tracker_update (t, &p, &d, 1);
    g_assert_cmpint (det_id (t, 0), ==, stage2 ? 1 : 0);
    mo_tracker_free (t);
  }
}

static void
test_tracker_capacity (void)
{
  MoTracker *t = mo_tracker_new (2, 3);
  MoTrackDetection d[4] = { det_at (0, 0, 10, 1), det_at (50, 0, 10, 1),
    det_at (100, 0, 10, 1), det_at (150, 0, 10, 1)
  };
  guint n;

  /* 4 detections, room for 3: the 4th is ignored; room for 2 tracks: the
   * 3rd starts none. */
  g_assert_cmpuint (mo_tracker_update (t, &params, d, 4), ==, 3);
  g_assert_nonnull (mo_tracker_detection_track (t, 0));
  g_assert_nonnull (mo_tracker_detection_track (t, 1));
  g_assert_null (mo_tracker_detection_track (t, 2));
  g_assert_null (mo_tracker_detection_track (t, 3));
  g_assert_cmpuint (mo_tracker_dropped (t), ==, 2);
  mo_tracker_tracks (t, &n);
  g_assert_cmpuint (n, ==, 2);
  /* The existing tracks go on. */
  mo_tracker_update (t, &params, d, 4);
  g_assert_cmpuint (mo_tracker_detection_track (t, 0)->hits, ==, 2);
  mo_tracker_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kalman/reference", test_kalman_reference);
  g_test_add_func ("/kalman/by-hand", test_kalman_by_hand);
  g_test_add_func ("/assign/greedy-differs", test_assign_greedy_differs);
  g_test_add_func ("/assign/brute-force", test_assign_brute_force);
  g_test_add_func ("/tracker/life", test_tracker_life);
  g_test_add_func ("/tracker/ids-unique", test_tracker_ids_unique);
  g_test_add_func ("/tracker/crossing", test_tracker_crossing);
  g_test_add_func ("/tracker/class-aware", test_tracker_class_aware);
  g_test_add_func ("/tracker/second-stage", test_tracker_second_stage);
  g_test_add_func ("/tracker/capacity", test_tracker_capacity);
  return g_test_run ();
}
