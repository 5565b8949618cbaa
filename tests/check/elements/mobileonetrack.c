/* mobileonetrack: GstHarness tests.
 *
 * Synthetic clips with ground-truth identities (two objects of one class
 * crossing, two classes crossing, one object hiding another, objects
 * entering and leaving, a crowd) become region metas like mobileonedetect's:
 * the visible objects' boxes with noise, dropped detections and false
 * alarms, an object more than 70 % covered by a nearer one is not detected.
 * With inference-interval 3 the two frames after each inference carry the
 * same regions with repeated=TRUE, as mobileonedetect does. The tracker's
 * output is scored with the CLEAR MOT and identity measures (formulas at
 * score_frame() and clip_metrics()) against floors just under what it
 * measured (docs/tracking.md has the numbers: run with
 * MOBILEONE_TRACK_REPORT=1 to print them). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "mo-tracker.h"

#define W 320
#define H 240
#define CAPS "video/x-raw,format=GRAY8,width=320,height=240,framerate=30/1"
#define MAX_OBJ 12
#define MAX_HYP_ID 512

static const gchar *const labels[] = { "background", "circle", "square",
  "triangle", "star"
};

typedef struct
{
  gint cls;
  gdouble x, y, vx, vy, size;
  gint start, end;              /* frames [start, end) */
  gboolean bounce;
} Obj;

typedef struct
{
  const gchar *name;
  Obj objs[MAX_OBJ];            /* nearer objects later in the list */
  guint n_objs;
  guint n_frames;
  gdouble drop, noise, false_alarms;
  /* floors (interval 1, interval 3) */
  gdouble min_mota[2], min_idf1[2];
  guint max_idsw[2];
} Clip;

/* ------------------------------------------------------------------------ */
/* Ground truth                                                              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  gint gt;                      /* index into objs */
  gint cls;
  gdouble box[4];               /* pixels, clipped to the frame */
} GtBox;

/* Where object @o is at frame @f (its whole box, maybe off the frame);
 * bouncing objects reflect off the borders. */
static gboolean
obj_box (const Obj * o, gint f, gdouble box[4])
{
  gdouble t = f - o->start, x, y;

  if (f < o->start || f >= o->end)
    return FALSE;
  x = o->x + o->vx * t;
  y = o->y + o->vy * t;
  if (o->bounce) {
    gdouble span_x = W - o->size, span_y = H - o->size;

    x = fmod (fabs (x), 2 * span_x);
    x = x > span_x ? 2 * span_x - x : x;
    y = fmod (fabs (y), 2 * span_y);
    y = y > span_y ? 2 * span_y - y : y;
  }
  box[0] = x;
  box[1] = y;
  box[2] = x + o->size;
  box[3] = y + o->size;
  return TRUE;
}

static gdouble
area (const gdouble b[4])
{
  return MAX (b[2] - b[0], 0) * MAX (b[3] - b[1], 0);
}

static gdouble
intersection (const gdouble a[4], const gdouble b[4])
{
  gdouble r[4] = { MAX (a[0], b[0]), MAX (a[1], b[1]), MIN (a[2], b[2]),
    MIN (a[3], b[3])
  };
  return area (r);
}

/* The visible objects of frame @f: at least 20 % inside the frame and not
 * more than 70 % covered by any one nearer object. */
static guint
ground_truth (const Clip * c, gint f, GtBox * out)
{
  gdouble full[MAX_OBJ][4];
  gboolean present[MAX_OBJ];
  guint n = 0;

  for (guint i = 0; i < c->n_objs; i++)
    present[i] = obj_box (&c->objs[i], f, full[i]);
  for (guint i = 0; i < c->n_objs; i++) {
    gdouble clip[4];
    gboolean hidden = FALSE;

    if (!present[i])
      continue;
    clip[0] = CLAMP (full[i][0], 0, W);
    clip[1] = CLAMP (full[i][1], 0, H);
    clip[2] = CLAMP (full[i][2], 0, W);
    clip[3] = CLAMP (full[i][3], 0, H);
    if (area (clip) < 0.2 * area (full[i]))
      continue;
    for (guint j = i + 1; j < c->n_objs && !hidden; j++)
      hidden = present[j] && intersection (clip, full[j]) > 0.7 * area (clip);
    if (hidden)
      continue;
    out[n].gt = (gint) i;
    out[n].cls = c->objs[i].cls;
    memcpy (out[n].box, clip, sizeof (clip));
    n++;
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* Regions in, regions out                                                   */
/* ------------------------------------------------------------------------ */

typedef struct
{
  gint cls;
  gdouble box[4];
} Det;

static void
add_region (GstBuffer * buf, const Det * d, gint rank, gboolean repeated,
    gint width, gint height)
{
  GstVideoRegionOfInterestMeta *roi;
  guint x = (guint) lround (d->box[0] * width / W);
  guint y = (guint) lround (d->box[1] * height / H);
  guint x1 = (guint) lround (d->box[2] * width / W);
  guint y1 = (guint) lround (d->box[3] * height / H);
  GstStructure *s;

  roi = gst_buffer_add_video_region_of_interest_meta (buf, labels[d->cls],
      x, y, x1 - x, y1 - y);
  roi->id = rank;
  s = gst_structure_new ("detection", "label_id", G_TYPE_INT, d->cls,
      "label", G_TYPE_STRING, labels[d->cls],
      "confidence", G_TYPE_DOUBLE, 0.9,
      "x_min", G_TYPE_DOUBLE, d->box[0] / W,
      "y_min", G_TYPE_DOUBLE, d->box[1] / H,
      "x_max", G_TYPE_DOUBLE, d->box[2] / W,
      "y_max", G_TYPE_DOUBLE, d->box[3] / H, NULL);
  /* mobileonedetect between two inferences */
  if (repeated)
    gst_structure_set (s, "repeated", G_TYPE_BOOLEAN, TRUE, NULL);
  gst_video_region_of_interest_meta_add_param (roi, s);
}

static GstBuffer *
make_buffer (const Det * dets, guint n, gboolean repeated, gint width,
    gint height)
{
  GstBuffer *buf = gst_buffer_new ();

  for (guint i = 0; i < n; i++)
    add_region (buf, &dets[i], (gint) i, repeated, width, height);
  return buf;
}

typedef struct
{
  gint id;
  gint cls;
  gdouble box[4];               /* in clip pixels */
} Hyp;

static gint
class_of (GstVideoRegionOfInterestMeta * roi)
{
  for (guint k = 1; k < G_N_ELEMENTS (labels); k++)
    if (roi->roi_type == g_quark_from_string (labels[k]))
      return (gint) k;
  return 0;
}

/* The tracked regions of @buf (id >= 1); checks that the "tracking" param
 * agrees with the region's id and that the "detection" box agrees with
 * the region's. */
static guint
read_tracks (GstBuffer * buf, Hyp * out, guint max, gint width, gint height)
{
  GstVideoRegionOfInterestMeta *roi;
  gpointer state = NULL;
  guint n = 0;

  while ((roi = (GstVideoRegionOfInterestMeta *)
          gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstStructure *t = gst_video_region_of_interest_meta_get_param (roi,
        "tracking");
    GstStructure *d = gst_video_region_of_interest_meta_get_param (roi,
        "detection");
    gdouble x_min;
    gint id;

    if (roi->id < 0) {
      fail_unless (t == NULL, "an untracked region has a tracking param");
      continue;
    }
    fail_unless (t != NULL);
    fail_unless (gst_structure_get_int (t, "id", &id));
    fail_unless_equals_int (id, roi->id);
    fail_unless (gst_structure_has_field_typed (t, "age", G_TYPE_UINT));
    fail_unless (gst_structure_has_field_typed (t, "hits", G_TYPE_UINT));
    fail_unless (gst_structure_has_field_typed (t, "frames_since_detection",
            G_TYPE_UINT));
    fail_unless (gst_structure_get_double (d, "x_min", &x_min));
    fail_unless (fabs (x_min * width - roi->x) <= 1.0, "x_min %f, region x %u",
        x_min, roi->x);
    fail_unless (n < max);
    out[n].id = roi->id;
    out[n].cls = class_of (roi);
    out[n].box[0] = roi->x * (gdouble) W / width;
    out[n].box[1] = roi->y * (gdouble) H / height;
    out[n].box[2] = (roi->x + roi->w) * (gdouble) W / width;
    out[n].box[3] = (roi->y + roi->h) * (gdouble) H / height;
    n++;
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* Scores                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  guint64 gt, hyp, fp, fn, idsw, matches;
  /* frames where ground truth g and hypothesis id h overlap >= 0.5 */
  guint co[MAX_OBJ][MAX_HYP_ID];
  gint last[MAX_OBJ];           /* the last id matched to each object */
  /* every id each object was matched to, and per frame whether matched */
  gint first_id[MAX_OBJ];
  gboolean id_changed[MAX_OBJ];
  MoAssign *assign;
} Score;

static gdouble
box_iou (const gdouble a[4], const gdouble b[4])
{
  gdouble i = intersection (a, b), u = area (a) + area (b) - i;

  return u > 0 ? i / u : 0;
}

/* CLEAR MOT (Bernardin and Stiefelhagen 2008) per frame, a match needing
 * IoU >= 0.5 and the same class: an object keeps last frame's hypothesis
 * when it still overlaps enough, the others are matched by maximum total
 * IoU; a match to another id than the object's last is an ID switch;
 * unmatched objects are misses (FN), unmatched hypotheses false positives.
 * MOTA = 1 - (FN + FP + IDSW) / objects. */
static void
score_frame (Score * s, const GtBox * gt, guint n_gt, const Hyp * hyp,
    guint n_hyp)
{
  gint hyp_of[MAX_OBJ * 2], gt_of[64];
  float w[MAX_OBJ * 2 * 64] = { 0 };
  gint r2c[MAX_OBJ * 2];

  g_assert (n_gt <= MAX_OBJ * 2 && n_hyp <= 64);
  for (guint g = 0; g < n_gt; g++)
    for (guint k = 0; k < n_hyp; k++)
      if (box_iou (gt[g].box, hyp[k].box) >= 0.5 && hyp[k].id < MAX_HYP_ID)
        s->co[gt[g].gt][hyp[k].id]++;

  for (guint g = 0; g < n_gt; g++)
    hyp_of[g] = -1;
  for (guint k = 0; k < n_hyp; k++)
    gt_of[k] = -1;
  for (guint g = 0; g < n_gt; g++) {
    for (guint k = 0; k < n_hyp; k++) {
      if (hyp[k].id == s->last[gt[g].gt] && gt_of[k] < 0
          && hyp[k].cls == gt[g].cls
          && box_iou (gt[g].box, hyp[k].box) >= 0.5) {
        hyp_of[g] = (gint) k;
        gt_of[k] = (gint) g;
      }
    }
  }
  for (guint g = 0; g < n_gt; g++)
    for (guint k = 0; k < n_hyp; k++) {
      gdouble iou = box_iou (gt[g].box, hyp[k].box);

      w[g * n_hyp + k] = hyp_of[g] < 0 && gt_of[k] < 0
          && hyp[k].cls == gt[g].cls && iou >= 0.5 ? (float) iou : 0.0f;
    }
  mo_assign_solve (s->assign, w, n_gt, n_hyp, r2c);
  for (guint g = 0; g < n_gt; g++)
    if (r2c[g] >= 0) {
      hyp_of[g] = r2c[g];
      gt_of[r2c[g]] = (gint) g;
    }

  for (guint g = 0; g < n_gt; g++) {
    gint o = gt[g].gt;

    if (hyp_of[g] < 0) {
      s->fn++;
      continue;
    }
    s->matches++;
    if (s->last[o] > 0 && s->last[o] != hyp[hyp_of[g]].id)
      s->idsw++;
    s->last[o] = hyp[hyp_of[g]].id;
    if (s->first_id[o] == 0)
      s->first_id[o] = s->last[o];
    else if (s->first_id[o] != s->last[o])
      s->id_changed[o] = TRUE;
  }
  for (guint k = 0; k < n_hyp; k++)
    if (gt_of[k] < 0)
      s->fp++;
  s->gt += n_gt;
  s->hyp += n_hyp;
}

/* IDF1 (Ristani et al. 2016): objects and ids matched once for the whole
 * clip to maximise IDTP, the frames where a matched pair overlaps >= 0.5;
 * IDF1 = 2 IDTP / (objects + hypotheses), both counted over all frames. */
static void
clip_metrics (Score * s, guint n_objs, gdouble * mota, gdouble * idf1)
{
  static float w[MAX_OBJ * MAX_HYP_ID];
  gint r2c[MAX_OBJ];
  MoAssign *a = mo_assign_new (MAX_OBJ, MAX_HYP_ID);
  guint64 idtp = 0;

  for (guint g = 0; g < n_objs; g++)
    for (guint h = 0; h < MAX_HYP_ID; h++)
      w[g * MAX_HYP_ID + h] = (float) s->co[g][h];
  mo_assign_solve (a, w, n_objs, MAX_HYP_ID, r2c);
  for (guint g = 0; g < n_objs; g++)
    if (r2c[g] >= 0)
      idtp += s->co[g][r2c[g]];
  mo_assign_free (a);
  *mota = s->gt ? 1.0 - (gdouble) (s->fn + s->fp + s->idsw) / s->gt : 1.0;
  *idf1 = s->gt + s->hyp ? 2.0 * idtp / (s->gt + s->hyp) : 1.0;
}

/* ------------------------------------------------------------------------ */
/* Running a clip                                                            */
/* ------------------------------------------------------------------------ */

/* Runs @c through mobileonetrack with regions every frame (@interval 1) or
 * fresh every third frame and repeated in between. */
static Score *
run_clip (const Clip * c, guint interval, guint seed)
{
  GstHarness *h = gst_harness_new ("mobileonetrack");
  GRand *rand = g_rand_new_with_seed (seed);
  Score *s = g_new0 (Score, 1);
  Det dets[MAX_OBJ * 2];
  guint n_dets = 0;

  s->assign = mo_assign_new (MAX_OBJ * 2, 64);
  gst_harness_set_src_caps_str (h, CAPS);
  for (guint f = 0; f < c->n_frames; f++) {
    GtBox gt[MAX_OBJ];
    Hyp hyp[64];
    guint n_gt = ground_truth (c, (gint) f, gt), n_hyp;
    gboolean fresh = f % interval == 0;
    GstBuffer *out;

    if (fresh) {
      n_dets = 0;
      for (guint g = 0; g < n_gt; g++) {
        gdouble size = MAX (gt[g].box[2] - gt[g].box[0],
            gt[g].box[3] - gt[g].box[1]);

        if (g_rand_double (rand) < c->drop)
          continue;
        dets[n_dets].cls = gt[g].cls;
        /* clipped to the frame, as mobileonedetect does */
        for (int k = 0; k < 4; k++) {
          gdouble v = gt[g].box[k] +
              c->noise * size * g_rand_double_range (rand, -1, 1);

          dets[n_dets].box[k] = CLAMP (v, 0, k % 2 ? H : W);
        }
        n_dets++;
      }
      if (g_rand_double (rand) < c->false_alarms) {
        Det *d = &dets[n_dets++];
        gdouble x = g_rand_double_range (rand, 0, W - 40);
        gdouble y = g_rand_double_range (rand, 0, H - 40);

        d->cls = g_rand_int_range (rand, 1, 5);
        d->box[0] = x;
        d->box[1] = y;
        d->box[2] = x + 40;
        d->box[3] = y + 40;
      }
    }
    out = gst_harness_push_and_pull (h, make_buffer (dets, n_dets, !fresh,
            W, H));
    fail_unless (out != NULL);
    n_hyp = read_tracks (out, hyp, G_N_ELEMENTS (hyp), W, H);
    score_frame (s, gt, n_gt, hyp, n_hyp);
    gst_buffer_unref (out);
  }
  mo_assign_free (s->assign);
  s->assign = NULL;
  g_rand_free (rand);
  gst_harness_teardown (h);
  return s;
}

static const Clip clips[] = {
  /* Two circles on crossing paths, one 15 px lower: both visible in every
   * frame (the lower one at most 63 % covered). */
  {"crossing-same-class", {
          {1, 10, 100, 4, 0, 40, 0, 70, FALSE},
          {1, 270, 115, -4, 0, 40, 0, 70, FALSE}},
      2, 70, 0.0, 0.03, 0.0, {0.95, 0.89}, {0.97, 0.93}, {0, 0}},
  /* A circle and a square on one line: the square hides the circle. */
  {"crossing-classes", {
          {1, 10, 100, 4, 0, 40, 0, 70, FALSE},
          {2, 270, 100, -4, 0, 40, 0, 70, FALSE}},
      2, 70, 0.0, 0.03, 0.0, {0.95, 0.87}, {0.97, 0.92}, {0, 0}},
  /* A big circle passes in front of a small one of the same class and hides
   * it for about 10 frames. */
  {"occlusion", {
          {1, 240, 100, -2.5, 0, 40, 0, 90, FALSE},
          {1, 0, 85, 2.5, 0, 70, 0, 90, FALSE}},
      2, 90, 0.05, 0.03, 0.05, {0.89, 0.85}, {0.93, 0.91}, {0, 0}},
  /* Objects come in over the borders at different times and leave. */
  {"enter-leave", {
          {2, -40, 60, 3, 0, 40, 0, 130, FALSE},
          {3, 150, -40, 0, 2.5, 40, 10, 130, FALSE},
          {1, 320, 150, -3.5, 0, 40, 20, 130, FALSE},
          {4, 60, 240, 0.5, -3, 40, 30, 130, FALSE}},
      4, 130, 0.05, 0.03, 0.05, {0.91, 0.85}, {0.94, 0.91}, {0, 0}},
  /* Eight objects bouncing off the borders. */
  {"crowd", {
          {1, 20, 30, 2.5, 1.5, 40, 0, 150, TRUE},
          {2, 200, 40, -2, 2, 45, 0, 150, TRUE},
          {3, 100, 150, 3, -1, 35, 0, 150, TRUE},
          {4, 250, 180, -1.5, -2.5, 50, 0, 150, TRUE},
          {1, 150, 100, -3, 0.5, 30, 0, 150, TRUE},
          {2, 30, 180, 1, -3, 40, 0, 150, TRUE},
          {3, 270, 20, -2.5, 1, 35, 0, 150, TRUE},
          {4, 120, 20, 0.5, 3, 45, 0, 150, TRUE}},
      8, 150, 0.05, 0.03, 0.05, {0.91, 0.88}, {0.94, 0.93}, {0, 0}},
};

/* The scores on a hand-made case: two objects for four frames, the
 * hypotheses' ids swapped from the third frame on: 2 ID switches, MOTA
 * 1 - 2 / 8; the best whole-clip pairing keeps 2 frames of each object,
 * IDF1 = 2 * 4 / (8 + 8). */
GST_START_TEST (test_scores)
{
  Score *s = g_new0 (Score, 1);
  GtBox gt[2] = { {0, 1, {0, 0, 10, 10}}, {1, 1, {50, 0, 60, 10}} };
  gdouble mota, idf1;

  s->assign = mo_assign_new (MAX_OBJ * 2, 64);
  for (int f = 0; f < 4; f++) {
    Hyp hyp[2] = { {f < 2 ? 1 : 2, 1, {0, 0, 10, 10}},
    {f < 2 ? 2 : 1, 1, {50, 0, 60, 10}}
    };
    score_frame (s, gt, 2, hyp, 2);
  }
  clip_metrics (s, 2, &mota, &idf1);
  fail_unless_equals_int (s->idsw, 2);
  fail_unless_equals_int (s->fn + s->fp, 0);
  fail_unless_equals_float (mota, 0.75);
  fail_unless_equals_float (idf1, 0.5);
  /* A miss and a false alarm. */
  gt[1].box[0] = 100;
  gt[1].box[2] = 110;
  {
    Hyp hyp[2] = { {2, 1, {0, 0, 10, 10}}, {1, 1, {50, 0, 60, 10}} };
    score_frame (s, gt, 2, hyp, 2);
  }
  fail_unless_equals_int (s->fn, 1);
  fail_unless_equals_int (s->fp, 1);
  fail_unless_equals_int (s->idsw, 2);
  mo_assign_free (s->assign);
  g_free (s);
}

GST_END_TEST;

GST_START_TEST (test_clips)
{
  gboolean report = g_getenv ("MOBILEONE_TRACK_REPORT") != NULL;

  for (guint i = 0; i < G_N_ELEMENTS (clips); i++) {
    for (guint k = 0; k < 2; k++) {
      const Clip *c = &clips[i];
      guint interval = k == 0 ? 1 : 3;
      Score *s = run_clip (c, interval, 1000 + i);
      gdouble mota, idf1;

      clip_metrics (s, c->n_objs, &mota, &idf1);
      if (report)
        g_print ("| %s | %u | %u | %" G_GUINT64_FORMAT " | %"
            G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT
            " | %.3f | %.3f |\n", c->name, interval, c->n_frames, s->gt,
            s->fn, s->fp, s->idsw, mota, idf1);
      fail_unless (mota >= c->min_mota[k], "%s, interval %u: MOTA %.3f < %.2f",
          c->name, interval, mota, c->min_mota[k]);
      fail_unless (idf1 >= c->min_idf1[k], "%s, interval %u: IDF1 %.3f < %.2f",
          c->name, interval, idf1, c->min_idf1[k]);
      fail_unless (s->idsw <= c->max_idsw[k], "%s, interval %u: %"
          G_GUINT64_FORMAT " ID switches > %u", c->name, interval, s->idsw,
          c->max_idsw[k]);
      g_free (s);
    }
  }
}

GST_END_TEST;

/* The two circles that cross keep their ids in every frame once they have
 * them, detected every frame or every third. */
GST_START_TEST (test_crossing_keeps_ids)
{
  const Clip *c = &clips[0];

  for (guint interval = 1; interval <= 3; interval += 2) {
    GstHarness *h = gst_harness_new ("mobileonetrack");
    gint ids[2] = { 0, 0 };
    guint first = 2 * interval;    /* confirmed at the third detection */

    gst_harness_set_src_caps_str (h, CAPS);
    for (guint f = 0; f < c->n_frames; f++) {
      GtBox gt[2];
      Det d[2];
      Hyp hyp[4];
      guint fresh_f = f - f % interval, n;
      GstBuffer *out;

      fail_unless_equals_int (ground_truth (c, (gint) fresh_f, gt), 2);
      for (int g = 0; g < 2; g++) {
        d[g].cls = gt[g].cls;
        memcpy (d[g].box, gt[g].box, sizeof (d[g].box));
      }
      out = gst_harness_push_and_pull (h, make_buffer (d, 2, f != fresh_f,
              W, H));
      n = read_tracks (out, hyp, 4, W, H);
      if (f >= first) {
        fail_unless_equals_int (n, 2);
        for (int g = 0; g < 2; g++) {
          /* The region of object g: the one nearer its true box. */
          ground_truth (c, (gint) f, gt);
          gint k = box_iou (hyp[0].box, gt[g].box) >
              box_iou (hyp[1].box, gt[g].box) ? 0 : 1;
          if (ids[g] == 0)
            ids[g] = hyp[k].id;
          fail_unless_equals_int (hyp[k].id, ids[g]);
          /* Between inferences the regions follow the objects. */
          fail_unless (box_iou (hyp[k].box, gt[g].box) > 0.6,
              "frame %u: region %d IoU %.2f", f, g,
              box_iou (hyp[k].box, gt[g].box));
        }
        fail_unless (ids[0] != ids[1]);
      } else {
        fail_unless_equals_int (n, 0);
      }
      gst_buffer_unref (out);
    }
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Pushes @frames frames of one box moving right; returns the last id. */
static gint
push_moving (GstHarness * h, guint from, guint frames, gint width,
    gint height)
{
  gint id = -1;

  for (guint f = from; f < from + frames; f++) {
    Det d = {.cls = 2,.box = {10 + 3.0 * f, 50, 60 + 3.0 * f, 100} };
    GstBuffer *out = gst_harness_push_and_pull (h, make_buffer (&d, 1, FALSE,
            width, height));
    gpointer state = NULL;
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)
        gst_buffer_iterate_meta_filtered (out, &state,
        GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);

    fail_unless (roi != NULL);
    id = roi->id;
    gst_buffer_unref (out);
  }
  return id;
}

/* Ids start at 1, go on through a caps change and start again after a
 * flush and after a new stream-start. */
GST_START_TEST (test_reset_and_caps)
{
  GstHarness *h = gst_harness_new ("mobileonetrack");
  GstSegment segment;

  gst_harness_set_src_caps_str (h, CAPS);
  fail_unless_equals_int (push_moving (h, 0, 2, W, H), -1);
  fail_unless_equals_int (push_moving (h, 2, 5, W, H), 1);
  /* a new object, then a new resolution: the same ids */
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1");
  fail_unless_equals_int (push_moving (h, 7, 5, 640, 480), 1);

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  fail_unless_equals_int (push_moving (h, 12, 3, 640, 480), 1);
  /* a different object after 40 frames without it */
  for (int i = 0; i < 40; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, gst_buffer_new ()));
  fail_unless_equals_int (push_moving (h, 100, 3, 640, 480), 2);

  fail_unless (gst_harness_push_event (h,
          gst_event_new_stream_start ("another")));
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  fail_unless_equals_int (push_moving (h, 0, 3, 640, 480), 1);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Two streams through two elements, interleaved, give what each gives
 * alone. */
GST_START_TEST (test_two_streams)
{
  const Clip *c = &clips[4];
  GstHarness *h[2];
  GArray *alone = g_array_new (FALSE, FALSE, sizeof (gint));
  guint pos = 0;

  for (int pass = 0; pass < 2; pass++) {
    h[0] = gst_harness_new ("mobileonetrack");
    h[1] = gst_harness_new ("mobileonetrack");
    gst_harness_set_src_caps_str (h[0], CAPS);
    gst_harness_set_src_caps_str (h[1], CAPS);
    for (guint f = 0; f < 60; f++) {
      for (int k = 0; k < 2; k++) {
        GtBox gt[MAX_OBJ];
        Det d[MAX_OBJ];
        Hyp hyp[64];
        guint n_gt = ground_truth (c, (gint) f + 40 * k, gt), n;
        GstBuffer *out;

        if (pass == 0 && k == 1)
          continue;             /* stream 0 alone first */
        for (guint g = 0; g < n_gt; g++) {
          d[g].cls = gt[g].cls;
          memcpy (d[g].box, gt[g].box, sizeof (d[g].box));
        }
        out = gst_harness_push_and_pull (h[k], make_buffer (d, n_gt, FALSE,
                W, H));
        n = read_tracks (out, hyp, 64, W, H);
        for (guint i = 0; i < n && k == 0; i++) {
          if (pass == 0)
            g_array_append_val (alone, hyp[i].id);
          else
            fail_unless_equals_int (hyp[i].id,
                g_array_index (alone, gint, pos++));
        }
        gst_buffer_unref (out);
      }
    }
    gst_harness_teardown (h[0]);
    gst_harness_teardown (h[1]);
  }
  fail_unless_equals_int (pos, alone->len);
  fail_unless (alone->len > 100);
  g_array_unref (alone);
}

GST_END_TEST;

/* Regions without a "detection" param are left alone; post-messages lists
 * the tracked objects with their ids. */
GST_START_TEST (test_other_regions_and_messages)
{
  GstHarness *h = gst_harness_new_parse ("mobileonetrack post-messages=true "
      "min-hits=1");
  GstBus *bus = gst_bus_new ();
  Det d = {.cls = 1,.box = {10, 10, 50, 50} };
  GstBuffer *in, *out;
  GstVideoRegionOfInterestMeta *roi;
  GstMessage *msg;
  const GValue *objs;
  const GstStructure *o;
  gint id;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, CAPS);
  in = make_buffer (&d, 1, FALSE, W, H);
  roi = gst_buffer_add_video_region_of_interest_meta (in, "frame", 0, 0, W,
      H);
  roi->id = 77;
  out = gst_harness_push_and_pull (h, in);
  roi = gst_buffer_get_video_region_of_interest_meta_id (out, 77);
  fail_unless (roi != NULL);
  fail_unless (gst_video_region_of_interest_meta_get_param (roi,
          "tracking") == NULL);
  roi = gst_buffer_get_video_region_of_interest_meta_id (out, 1);
  fail_unless (roi != NULL);
  fail_unless (roi->roi_type == g_quark_from_string ("circle"));
  gst_buffer_unref (out);

  /* Issue 15, 2: a region that had the id a track takes moves above every
   * id; the track keeps it. */
  in = make_buffer (&d, 1, FALSE, W, H);
  roi = gst_buffer_add_video_region_of_interest_meta (in, "frame", 0, 0, W,
      H);
  roi->id = 1;
  out = gst_harness_push_and_pull (h, in);
  roi = gst_buffer_get_video_region_of_interest_meta_id (out, 1);
  fail_unless (roi != NULL);
  fail_unless (roi->roi_type == g_quark_from_string ("circle"));
  roi = gst_buffer_get_video_region_of_interest_meta_id (out, 2);
  fail_unless (roi != NULL);
  fail_unless (roi->roi_type == g_quark_from_string ("frame"));

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  fail_unless (gst_message_has_name (msg, "mobileonetrack"));
  objs = gst_structure_get_value (gst_message_get_structure (msg), "objects");
  fail_unless_equals_int (gst_value_array_get_size (objs), 1);
  o = gst_value_get_structure (gst_value_array_get_value (objs, 0));
  fail_unless (gst_structure_get_int (o, "id", &id));
  fail_unless_equals_int (id, 1);
  fail_unless_equals_string (gst_structure_get_string (o, "label"), "circle");
  fail_unless (gst_structure_has_field (gst_message_get_structure (msg),
          "running-time"));
  gst_message_unref (msg);
  gst_buffer_unref (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
mobileonetrack_suite (void)
{
  Suite *s = suite_create ("mobileonetrack");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_scores);
  tcase_add_test (tc, test_clips);
  tcase_add_test (tc, test_crossing_keeps_ids);
  tcase_add_test (tc, test_reset_and_caps);
  tcase_add_test (tc, test_two_streams);
  tcase_add_test (tc, test_other_regions_and_messages);
  return s;
}

GST_CHECK_MAIN (mobileonetrack);
