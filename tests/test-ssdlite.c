/* The SSDLite head against the PyTorch / torchvision reference
 * (tools/mobileone_tools/reference/ssdlite_ref.py, fixtures in tests/data/ssd/, see its
 * README.md):
 *  - raw head outputs of both checkpoint forms, in torchvision's order,
 *    max |c - ref| / max |ref| < 1e-4; 1 and 2 or 3 threads bit-identical;
 *  - the C folding of the head's conv + bn pairs equals PyTorch's;
 *  - the post-processing fed with PyTorch's own raw outputs gives
 *    torchvision's detections box for box (same order, boxes within 1e-4 px)
 *    for every parameter set of the fixture;
 *  - the detections of the engine's own outputs, where the fixture's
 *    margins to the decision boundaries exceed the engine's error;
 *  - bad descriptions, bad parameters, too-small inputs, empty results.
 * MOBILEONE_ISA (set by meson per test) picks the kernel level. */
#include "mo-heads.h"
#include "mo-test-util.h"
#include "mo-npy.h"
#include "mo-safetensors.h"
#include "mo-ssdlite.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define TOLERANCE 1e-4          /* raw outputs, of the max |value| */
#define BOX_TOL 1e-4            /* px, post-processing of the same raw outputs */
#define SCORE_TOL 2e-6          /* softmax: expf vs torch's exp, summation order */

static char *data_dir;

static const char *const sizes[] = { "263x97", "257x257" };

static char *
fixture (const char *fmt, const char *arg)
{
  char *name = g_strdup_printf (fmt, arg);
  char *path = g_build_filename (data_dir, name, NULL);
  g_free (name);
  return path;
}

static void
parse_size (const char *size, int *w, int *h)
{
  g_assert_cmpint (sscanf (size, "%dx%d", w, h), ==, 2);
}

static MoModel *
load (const char *form)
{
  GError *error = NULL;
  char *yaml = g_strdup_printf ("%s/ssd-%s.yaml", data_dir, form);
  MoModel *m = mo_model_load (yaml, &error);
  g_assert_no_error (error);
  g_free (yaml);
  return m;
}

static MoSession *
session_for (MoModel *m, const char *size, int threads, const MoNpy *input)
{
  GError *error = NULL;
  int w, h;
  parse_size (size, &w, &h);
  MoSession *s = mo_session_new (m, w, h, threads, &error);
  g_assert_no_error (error);
  if (input) {
    g_assert_cmpint (input->shape[2], ==, h);
    g_assert_cmpint (input->shape[3], ==, w);
    mo_session_set_input_nchw (s, input->data);
    mo_session_run (s);
    mo_session_run (s);         /* a second run must not depend on the first */
  }
  return s;
}

/* ---------------------------------------------------------------------- */

typedef struct
{
  MoNpy in, cls, reg;
  JsonParser *parser;
  JsonArray *runs;
  int n, k;
} Case;

static void
case_load (Case *c, const char *size)
{
  GError *error = NULL;
  char *p;

  memset (c, 0, sizeof *c);
  p = fixture ("input-%s.npy", size);
  g_assert_true (mo_npy_read_f32 (p, &c->in, &error));
  g_free (p);
  p = fixture ("ssd-cls_logits-%s.npy", size);
  g_assert_true (mo_npy_read_f32 (p, &c->cls, &error));
  g_free (p);
  p = fixture ("ssd-bbox_regression-%s.npy", size);
  g_assert_true (mo_npy_read_f32 (p, &c->reg, &error));
  g_free (p);
  g_assert_no_error (error);
  g_assert_cmpint (c->cls.ndim, ==, 3);
  c->n = (int) c->cls.shape[1];
  c->k = (int) c->cls.shape[2];
  g_assert_cmpint (c->reg.shape[1], ==, c->n);
  g_assert_cmpint (c->reg.shape[2], ==, 4);

  p = fixture ("ssd-detections-%s.json", size);
  c->parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (c->parser, p, &error));
  g_assert_no_error (error);
  g_free (p);
  JsonObject *root = json_node_get_object (json_parser_get_root (c->parser));
  g_assert_cmpint (json_object_get_int_member (root, "num_anchors"), ==, c->n);
  c->runs = json_object_get_array_member (root, "runs");
}

static void
case_clear (Case *c)
{
  mo_npy_clear (&c->in);
  mo_npy_clear (&c->cls);
  mo_npy_clear (&c->reg);
  g_object_unref (c->parser);
}

static void
run_params (JsonObject *run, MoSsdParams *p)
{
  JsonObject *o = json_object_get_object_member (run, "params");
  p->score_threshold = json_object_get_double_member (o, "score_threshold");
  p->nms_iou_threshold = json_object_get_double_member (o,
      "nms_iou_threshold");
  p->topk_candidates = json_object_get_int_member (o, "topk_candidates");
  p->max_detections = json_object_get_int_member (o, "max_detections");
  p->class_thresholds = NULL;
}

/* The smallest margin of @run to a decision boundary (null: none). */
static double
run_margin (JsonObject *run)
{
  JsonObject *o = json_object_get_object_member (run, "margins");
  double m = INFINITY;
  GList *members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next) {
    JsonNode *n = json_object_get_member (o, l->data);
    if (!JSON_NODE_HOLDS_NULL (n))
      m = MIN (m, json_node_get_double (n));
  }
  g_list_free (members);
  return m;
}

/* @got against the run's detections; returns FALSE (with a message) on the
 * first difference. */
static double max_box_err, max_score_err;       /* of the last comparison */

static gboolean
same_detections (JsonObject *run, const MoDetection *got, int n,
    double box_tol, double score_tol, char **why)
{
  max_box_err = max_score_err = 0.0;
  JsonArray *want = json_object_get_array_member (run, "detections");
  if ((int) json_array_get_length (want) != n) {
    *why = g_strdup_printf ("%d detections, torchvision has %u", n,
        json_array_get_length (want));
    return FALSE;
  }
  for (int i = 0; i < n; i++) {
    JsonObject *d = json_array_get_object_element (want, i);
    JsonArray *box = json_object_get_array_member (d, "box");
    const float g[4] = { got[i].x0, got[i].y0, got[i].x1, got[i].y1 };
    double err = 0.0;
    for (int q = 0; q < 4; q++)
      err = MAX (err, fabs (g[q] - json_array_get_double_element (box, q)));
    double ds = fabs (got[i].score - json_object_get_double_member (d,
            "score"));
    max_box_err = MAX (max_box_err, err);
    max_score_err = MAX (max_score_err, ds);
    if (got[i].label != json_object_get_int_member (d, "label_id")
        || err > box_tol || ds > score_tol) {
      *why = g_strdup_printf ("detection %d: label %d score %.9g box %.6f "
          "%.6f %.6f %.6f; torchvision: label %d score %.9g box %.6f %.6f "
          "%.6f %.6f", i, got[i].label, got[i].score, g[0], g[1], g[2], g[3],
          (int) json_object_get_int_member (d, "label_id"),
          json_object_get_double_member (d, "score"),
          json_array_get_double_element (box, 0),
          json_array_get_double_element (box, 1),
          json_array_get_double_element (box, 2),
          json_array_get_double_element (box, 3));
      return FALSE;
    }
  }
  return TRUE;
}

static int
max_topk (JsonArray *runs)
{
  int mx = 1;
  for (guint r = 0; r < json_array_get_length (runs); r++) {
    MoSsdParams p;
    run_params (json_array_get_object_element (runs, r), &p);
    mx = MAX (mx, p.topk_candidates);
  }
  return mx;
}

/* ---------------------------------------------------------------------- */

/* Raw outputs of both forms against PyTorch; then the engine's detections
 * wherever the fixture's margins leave room for the engine's error. */
static void
test_raw (gconstpointer user)
{
  const char *size = user;
  GError *error = NULL;
  Case c;

  case_load (&c, size);
  for (int form = 0; form < 2; form++) {
    const char *fname = form ? "fused" : "unfused";
    MoModel *m = load (fname);
    MoSession *s1 = session_for (m, size, 1, &c.in);
    /* 3 threads (uneven splits) for one form, 2 (rows chained from a
     * depthwise to the next pointwise layer) for the other. */
    MoSession *s3 = session_for (m, size, 3 - form, &c.in);
    MoSsdPost *p1 = mo_ssdlite_post_new (s1, max_topk (c.runs), &error);
    g_assert_no_error (error);
    MoSsdPost *p3 = mo_ssdlite_post_new (s3, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mo_ssdlite_post_n_anchors (p1), ==, c.n);
    g_assert_cmpint (mo_ssdlite_num_classes (m), ==, c.k);

    float *cls = g_new (float, (gsize) c.n * c.k);
    float *reg = g_new (float, (gsize) c.n * 4);
    float *cls3 = g_new (float, (gsize) c.n * c.k);
    float *reg3 = g_new (float, (gsize) c.n * 4);
    mo_ssdlite_post_gather (p1, cls, reg);
    mo_ssdlite_post_gather (p3, cls3, reg3);
    double ea, eb, abs_a, abs_b;
    ea = mo_test_rel_err (cls, c.cls.data, c.cls.numel, &abs_a);
    eb = mo_test_rel_err (reg, c.reg.data, c.reg.numel, &abs_b);
    g_test_message ("%s %s: cls_logits relative error %.3g, bbox_regression "
        "%.3g", fname, size, ea, eb);
    g_assert_cmpfloat (ea, <, TOLERANCE);
    g_assert_cmpfloat (eb, <, TOLERANCE);
    g_assert_cmpmem (cls, c.n * c.k * sizeof (float), cls3,
        c.n * c.k * sizeof (float));
    g_assert_cmpmem (reg, c.n * 4 * sizeof (float), reg3,
        c.n * 4 * sizeof (float));

    /* A score moves by at most the logits' error; boxes by a tenth of the
     * regression's error times the anchor size (weights 10, 10, 5, 5). */
    double engine_err = MAX (abs_a, abs_b);
    MoDetection *dets = g_new (MoDetection, 400);
    MoDetection *dets_raw = g_new (MoDetection, 400);
    MoDetection *dets_any = g_new (MoDetection, 400);
    MoPost *any = mo_post_new (s1, &error);
    g_assert_no_error (error);
    for (guint r = 0; r < json_array_get_length (c.runs); r++) {
      JsonObject *run = json_array_get_object_element (c.runs, r);
      const char *rname = json_object_get_string_member (run, "name");
      MoSsdParams params;
      char *why = NULL;
      run_params (run, &params);
      int n = mo_ssdlite_post_run (p1, &params, dets, 400);
      g_assert_cmpint (n, >=, 0);
      g_assert_cmpint (n, <=, params.max_detections);
      /* In place on the session's maps, on the gathered copy in
       * torchvision's order, and through the uniform head interface: the
       * same detections, bit for bit. */
      int n_raw = mo_ssdlite_post_run_raw (p1, &params, cls, reg, dets_raw,
          400);
      g_assert_cmpmem (dets, n * sizeof *dets, dets_raw,
          n_raw * sizeof *dets_raw);
      if (params.topk_candidates <= mo_ssdlite_params (m)->topk_candidates) {
        int n_any = mo_post_run (any, &params, dets_any, 400);
        g_assert_cmpmem (dets, n * sizeof *dets, dets_any,
            n_any * sizeof *dets_any);
      }
      double margin = run_margin (run);
      if (margin < 10 * engine_err) {
        g_test_message ("%s %s run %s: margin %.2g too close to the engine's "
            "error %.2g for a box-for-box check", fname, size, rname, margin,
            engine_err);
        continue;
      }
      if (!same_detections (run, dets, n, MAX (c.in.shape[2],
                  c.in.shape[3]) * engine_err / 2 + BOX_TOL,
              engine_err + SCORE_TOL, &why))
        g_error ("%s %s run %s (engine outputs): %s", fname, size, rname, why);
      g_test_message ("%s %s run %s: %d detections equal torchvision's", fname,
          size, rname, n);
    }
    g_free (dets);
    g_free (dets_raw);
    g_free (dets_any);
    mo_post_free (any);
    g_free (cls);
    g_free (reg);
    g_free (cls3);
    g_free (reg3);
    mo_ssdlite_post_free (p1);
    mo_ssdlite_post_free (p3);
    mo_session_free (s1);
    mo_session_free (s3);
    mo_model_unref (m);
  }
  case_clear (&c);
}

/* The C post-processing on PyTorch's own raw outputs: torchvision exactly. */
static void
test_post_torch (gconstpointer user)
{
  const char *size = user;
  GError *error = NULL;
  Case c;

  case_load (&c, size);
  MoModel *m = load ("fused");
  MoSession *s = session_for (m, size, 1, NULL);
  MoSsdPost *p = mo_ssdlite_post_new (s, max_topk (c.runs), &error);
  g_assert_no_error (error);
  MoDetection *dets = g_new (MoDetection, 1000);
  gboolean vanilla = FALSE, trick = FALSE;

  for (guint r = 0; r < json_array_get_length (c.runs); r++) {
    JsonObject *run = json_array_get_object_element (c.runs, r);
    const char *rname = json_object_get_string_member (run, "name");
    MoSsdParams params;
    char *why = NULL;
    run_params (run, &params);
    int n = mo_ssdlite_post_run_raw (p, &params, c.cls.data, c.reg.data, dets,
        1000);
    if (!same_detections (run, dets, n, BOX_TOL, SCORE_TOL, &why))
      g_error ("%s run %s: %s", size, rname, why);
    const char *path = json_object_get_string_member (run, "nms_path");
    vanilla |= g_str_equal (path, "vanilla");
    trick |= g_str_equal (path, "coordinate_trick");
    g_test_message ("%s run %s: %d detections (%s NMS) equal torchvision's "
        "(max |box diff| %.2g px, max |score diff| %.2g)", size, rname, n, path,
        max_box_err, max_score_err);

    /* Fewer slots than detections: the best ones, in the same order. */
    if (n > 3) {
      MoDetection few[3];
      g_assert_cmpint (mo_ssdlite_post_run_raw (p, &params, c.cls.data,
              c.reg.data, few, 3), ==, 3);
      g_assert_cmpmem (few, sizeof few, dets, sizeof few);
    }
  }
  g_assert_true (vanilla && trick);
  g_free (dets);
  mo_ssdlite_post_free (p);
  mo_session_free (s);
  mo_model_unref (m);
  case_clear (&c);
}

/* The C folding of the head's conv + bn pairs against PyTorch's. */
static void
test_folding (void)
{
  char *unfused = g_build_filename (data_dir, "ssd-unfused.yaml", NULL);
  char *torch_fused = g_build_filename (data_dir, "ssd-fused.safetensors",
      NULL);
  guint head;
  mo_test_check_folding (unfused, torch_fused, &head);
  /* 4 extras x 3 convs + 12 heads x (dw conv + 1x1), weight and bias each. */
  g_assert_cmpuint (head, ==, 2 * (4 * 3 + 12 * 2));
  g_free (unfused);
  g_free (torch_fused);
}

/* ---------------------------------------------------------------------- */
/* Bad input                                                                */

/* The fixture's unfused YAML with @from replaced by @to, loaded (NULL and
 * @error set when it does not load). */
static MoModel *
load_edited (const char *from, const char *to, GError **error)
{
  char *src = g_build_filename (data_dir, "ssd-unfused.yaml", NULL);
  char *text = NULL, *weights = g_build_filename (data_dir,
      "ssd-unfused.safetensors", NULL);

  g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
  GString *t = g_string_new (text);
  g_assert_nonnull (strstr (t->str, from));
  g_string_replace (t, from, to, 1);
  char *wline = g_strdup_printf ("weights: %s", weights);
  g_string_replace (t, "weights: ssd-unfused.safetensors", wline, 1);
  char *dir = g_dir_make_tmp ("mobileone-ssd-yaml-XXXXXX", NULL);
  char *path = g_build_filename (dir, "bad.yaml", NULL);
  g_assert_true (g_file_set_contents (path, t->str, -1, NULL));
  MoModel *m = mo_model_load_full (path, MO_LOAD_ALLOW_EXTERNAL_PATHS,
      error);
  g_assert_true ((m == NULL) == (error == NULL || *error != NULL));
  if (error && *error)
    g_test_message ("%s -> %s: %s", from, to, (*error)->message);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (wline);
  g_string_free (t, TRUE);
  g_free (text);
  g_free (src);
  g_free (weights);
  return m;
}

static void
expect_error (const char *from, const char *to, const char *const *needles)
{
  GError *error = NULL;
  MoModel *m = load_edited (from, to, &error);
  if (m != NULL)
    g_error ("'%s' -> '%s' loaded without an error", from, to);
  for (int i = 0; needles[i]; i++)
    if (strstr (error->message, needles[i]) == NULL)
      g_error ("'%s' -> '%s': message lacks '%s': %s", from, to, needles[i],
          error->message);
  g_error_free (error);
}

static void
test_bad_yaml (void)
{
  static const struct
  {
    const char *from, *to;
    const char *needles[4];
  } cases[] = {
    {"score_threshold: 0.4", "score_threshold: 0", {"bad.yaml:", "out of range",
            "head.score_threshold", NULL}},
    {"score_threshold: 0.4", "score_threshold: -0.5",
        {"head.score_threshold", "out of range", NULL}},
    {"score_threshold: 0.4", "score_threshold: 1",
        {"head.score_threshold", NULL}},
    {"nms_iou_threshold: 0.45", "nms_iou_threshold: 0",
        {"head.nms_iou_threshold", NULL}},
    {"nms_iou_threshold: 0.45", "nms_iou_threshold: -1",
        {"head.nms_iou_threshold", NULL}},
    {"nms_iou_threshold: 0.45", "nms_iou_threshold: 1.5",
        {"head.nms_iou_threshold", NULL}},
    {"topk_candidates: 100", "topk_candidates: 0",
        {"head.topk_candidates", NULL}},
    {"topk_candidates: 100", "topk_candidates: -3",
        {"head.topk_candidates", NULL}},
    {"max_detections: 50", "max_detections: 0",
        {"head.max_detections", NULL}},
    {"max_detections: 50", "max_detections: 1000000",
        {"head.max_detections", NULL}},
    {"max_detections: 50", "max_detections: 5\n  score_thresh: 0.3",
        {"head.score_thresh", "unknown key", NULL}},
    {"max_detections: 50", "max_detections: 50\n  anchors_per_location: 4",
        {"head.anchors_per_location", "aspect_ratios", NULL}},
    {"max_detections: 50", "max_detections: 50\n  aspect_ratios: [2]",
        {"cls_head.0.1.weight", "ssd-unfused.safetensors", "4 x head.num_classes",
            NULL}},
    {"max_detections: 50", "max_detections: 50\n  min_ratio: 0.5\n  "
          "max_ratio: 0.4", {"head.max_ratio", NULL}},
    {"max_detections: 50", "max_detections: 50\n  min_ratio: 0",
        {"head.min_ratio", NULL}},
    {"num_classes: 4", "num_classes: 5", {"ssd-unfused.safetensors",
            "cls_head.0.1.weight", "head.num_classes 5", NULL}},
    {"num_classes: 4", "num_classes: 1", {"head.num_classes", NULL}},
    {"extra_channels: [24, 16, 16, 8]", "extra_channels: [24, 16, 16, 16]",
        {"ssd-unfused.safetensors", "extras.3.0.conv.weight",
            "head.extra_channels[3]", NULL}},
    {"extra_channels: [24, 16, 16, 8]", "extra_channels: [24, 16, 16]",
        {"head.extra_channels", NULL}},
    {"fused: false", "fused: true", {"ssd-unfused.safetensors",
            "reparam_conv", NULL}},
    {"max_detections: 50", "max_detections: 50\n  class_thresholds: "
          "{2: 0.5, star: 0.3}", {"bad.yaml:", "head.class_thresholds.star",
            "'star' is not a class", NULL}},
    {"max_detections: 50", "max_detections: 50\n  class_thresholds: "
          "{4: 0.5}", {"head.class_thresholds.4", "from 1 to 3", NULL}},
    {"max_detections: 50", "max_detections: 50\n  class_thresholds: "
          "{0: 0.5}", {"head.class_thresholds.0", "not a class", NULL}},
    {"max_detections: 50", "max_detections: 50\n  class_thresholds: "
          "{1: 1.5}", {"head.class_thresholds.1", "out of range", NULL}},
    {"max_detections: 50", "max_detections: 50\n  class_thresholds: [0.5]",
        {"head.class_thresholds", NULL}},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    expect_error (cases[i].from, cases[i].to, cases[i].needles);

  /* Valid edits load. */
  GError *error = NULL;
  MoModel *m = load_edited ("max_detections: 50", "max_detections: 50\n"
      "  anchors_per_location: 6\n  aspect_ratios: [2, 3]\n  min_ratio: 0.2\n"
      "  max_ratio: 0.95\n  box_coder_weights: [10, 10, 5, 5]", &error);
  g_assert_no_error (error);
  mo_model_unref (m);
}

/* head.class_thresholds: each class its own threshold. The result is the
 * same post-processing at the lowest threshold, filtered class by class
 * (NMS is per class and only a better box suppresses; top-k does not bind
 * here), in the same order: the per-class run must drop exactly the
 * detections under their class's threshold. */
static void
test_class_thresholds (void)
{
  GError *error = NULL;
  MoModel *m = load_edited ("max_detections: 50", "max_detections: 50\n"
      "  class_thresholds: {2: 0.45, 3: 0.3}", &error);
  g_assert_no_error (error);
  const MoSsdParams *def = mo_ssdlite_params (m);
  g_assert_nonnull (def->class_thresholds);
  g_assert_cmpfloat (def->class_thresholds[1], ==, 0.0);
  g_assert_cmpfloat (def->class_thresholds[2], ==, 0.45);
  g_assert_cmpfloat (def->class_thresholds[3], ==, 0.3);

  Case c;
  case_load (&c, "263x97");
  MoSession *s = session_for (m, "263x97", 1, NULL);
  MoSsdPost *p = mo_ssdlite_post_new (s, 400, &error);
  g_assert_no_error (error);
  MoDetection *all = g_new (MoDetection, 1000), *per = g_new (MoDetection,
      1000);
  MoSsdParams q = { 0.2, 0.5, 400, 1000, NULL };
  int n_all = mo_ssdlite_post_run_raw (p, &q, c.cls.data, c.reg.data, all,
      1000);
  q.class_thresholds = def->class_thresholds;
  int n_per = mo_ssdlite_post_run_raw (p, &q, c.cls.data, c.reg.data, per,
      1000);
  int j = 0, dropped = 0;
  for (int i = 0; i < n_all; i++) {
    double t = def->class_thresholds[all[i].label];
    if (t > 0.0 && !(all[i].score > (float) t)) {
      dropped++;
      continue;
    }
    g_assert_cmpint (j, <, n_per);
    g_assert_cmpint (per[j].label, ==, all[i].label);
    g_assert_cmpfloat (per[j].score, ==, all[i].score);
    g_assert_cmpfloat_with_epsilon (per[j].x0, all[i].x0, 1e-3);
    g_assert_cmpfloat_with_epsilon (per[j].y1, all[i].y1, 1e-3);
    j++;
  }
  g_assert_cmpint (j, ==, n_per);
  g_assert_cmpint (dropped, >, 0);
  g_assert_cmpint (n_per, >, 0);
  g_test_message ("%d detections at 0.2, %d after the class thresholds",
      n_all, n_per);

  /* A bad entry is refused like the other parameters. */
  double bad[4] = { 0.0, 0.5, 1.0, 0.0 };
  q.class_thresholds = bad;
  g_assert_false (mo_ssdlite_params_check (p, &q, &error));
  g_assert_nonnull (strstr (error->message, "class_thresholds"));
  g_clear_error (&error);
  g_assert_cmpint (mo_ssdlite_post_run_raw (p, &q, c.cls.data, c.reg.data,
          per, 1000), ==, -1);

  g_free (all);
  g_free (per);
  mo_ssdlite_post_free (p);
  mo_session_free (s);
  mo_model_unref (m);
  case_clear (&c);
}

/* Without the threshold keys: torchvision's ssdlite320 defaults. */
static void
test_defaults (void)
{
  GError *error = NULL;
  MoModel *m = load_edited ("  score_threshold: 0.4\n"
      "  nms_iou_threshold: 0.45\n  topk_candidates: 100\n"
      "  max_detections: 50\n", "", &error);
  g_assert_no_error (error);
  const MoSsdParams *p = mo_ssdlite_params (m);
  g_assert_nonnull (p);
  g_assert_cmpfloat (p->score_threshold, ==, 0.001);
  g_assert_cmpfloat (p->nms_iou_threshold, ==, 0.55);
  g_assert_cmpint (p->topk_candidates, ==, 300);
  g_assert_cmpint (p->max_detections, ==, 300);
  mo_model_unref (m);

  m = load ("fused");
  p = mo_ssdlite_params (m);
  g_assert_cmpfloat (p->score_threshold, ==, 0.4);
  g_assert_cmpfloat (p->nms_iou_threshold, ==, 0.45);
  g_assert_cmpint (p->topk_candidates, ==, 100);
  g_assert_cmpint (p->max_detections, ==, 50);
  mo_model_unref (m);

  /* A classifier is not an SSDLite model. */
  char *k1 = g_build_filename (data_dir, "..", "k1-fused.yaml", NULL);
  m = mo_model_load (k1, &error);
  g_assert_no_error (error);
  g_assert_null (mo_ssdlite_params (m));
  g_assert_cmpint (mo_ssdlite_num_classes (m), ==, 0);
  MoSession *s = mo_session_new (m, 64, 64, 1, &error);
  g_assert_no_error (error);
  g_assert_null (mo_ssdlite_post_new (s, 0, &error));
  g_assert_error (error, MO_ERROR, MO_ERROR_MODEL);
  g_clear_error (&error);
  mo_session_free (s);
  mo_model_unref (m);
  g_free (k1);
}

static void
test_params (void)
{
  GError *error = NULL;
  MoModel *m = load ("fused");
  MoSession *s = session_for (m, "263x97", 1, NULL);
  MoSsdPost *p = mo_ssdlite_post_new (s, 0, &error);
  g_assert_no_error (error);
  const MoSsdParams *def = mo_ssdlite_params (m);
  g_assert_true (mo_ssdlite_params_check (p, def, &error));
  static const struct
  {
    double score, iou;
    int topk, maxdet;
    const char *key;
  } bad[] = {
    {0.0, 0.5, 10, 10, "score_threshold"},
    {-1.0, 0.5, 10, 10, "score_threshold"},
    {1.0, 0.5, 10, 10, "score_threshold"},
    {NAN, 0.5, 10, 10, "score_threshold"},
    {0.5, 0.0, 10, 10, "nms_iou_threshold"},
    {0.5, 1.01, 10, 10, "nms_iou_threshold"},
    {0.5, 0.5, 0, 10, "topk_candidates"},
    {0.5, 0.5, 101, 10, "topk_candidates"},     /* the post was made for 100 */
    {0.5, 0.5, 10, 0, "max_detections"},
  };
  float *cls = g_new0 (float, (gsize) mo_ssdlite_post_n_anchors (p) * 4);
  float *reg = g_new0 (float, (gsize) mo_ssdlite_post_n_anchors (p) * 4);
  MoDetection d[4];
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    MoSsdParams q = { bad[i].score, bad[i].iou, bad[i].topk, bad[i].maxdet,
      NULL
    };
    g_assert_false (mo_ssdlite_params_check (p, &q, &error));
    g_assert_nonnull (strstr (error->message, bad[i].key));
    g_clear_error (&error);
    g_assert_cmpint (mo_ssdlite_post_run_raw (p, &q, cls, reg, d, 4), ==, -1);
  }
  /* All scores 1/4 (zero logits): below a threshold of 0.3, nothing. */
  MoSsdParams q = *def;
  q.score_threshold = 0.3;
  g_assert_cmpint (mo_ssdlite_post_run_raw (p, &q, cls, reg, d, 4), ==, 0);
  /* Above 0.2, every anchor of every class, equal scores: the boxes are the
   * anchors, ties broken by class then anchor index. */
  q.score_threshold = 0.2;
  q.nms_iou_threshold = 1.0;
  g_assert_cmpint (mo_ssdlite_post_run_raw (p, &q, cls, reg, d, 4), ==, 4);
  const float *anchors = mo_ssdlite_post_anchors (p);
  for (int i = 0; i < 4; i++) {
    g_assert_cmpint (d[i].label, ==, 1);
    g_assert_cmpfloat (d[i].score, ==, 0.25f);
    g_assert_cmpfloat_with_epsilon (d[i].x0, MAX (0.0f, anchors[4 * i]), 1e-4);
    g_assert_cmpfloat_with_epsilon (d[i].y1, MIN (97.0f, anchors[4 * i + 3]),
        1e-4);
  }
  g_assert_cmpint (mo_ssdlite_post_run_raw (p, &q, cls, reg, d, 0), ==, 0);
  g_free (cls);
  g_free (reg);
  mo_ssdlite_post_free (p);
  mo_session_free (s);
  mo_model_unref (m);
}

static void
test_too_small (void)
{
  static const struct
  {
    int w, h;
    gboolean ok;
  } sizes_[] = {
    {256, 256, FALSE}, {1, 1, FALSE}, {64, 300, TRUE}, {257, 1, TRUE},
    {320, 180, TRUE}, {160, 120, FALSE}, {257, 257, TRUE}, {320, 320, TRUE},
  };
  MoModel *m = load ("fused");
  for (guint i = 0; i < G_N_ELEMENTS (sizes_); i++) {
    GError *error = NULL;
    MoSession *s = mo_session_new (m, sizes_[i].w, sizes_[i].h, 1, &error);
    g_assert_true ((s != NULL) == sizes_[i].ok);
    if (!sizes_[i].ok) {
      g_assert_error (error, MO_ERROR, MO_ERROR_INPUT);
      g_assert_nonnull (strstr (error->message, "too small for SSDLite"));
      g_assert_nonnull (strstr (error->message, "at least 257 pixels"));
      g_assert_nonnull (strstr (error->message, "ssd-fused.yaml"));
      g_test_message ("%s", error->message);
      g_error_free (error);
    } else {
      g_assert_no_error (error);
      MoSsdPost *p = mo_ssdlite_post_new (s, 0, &error);
      g_assert_no_error (error);
      mo_ssdlite_post_free (p);
      mo_session_free (s);
    }
  }
  mo_model_unref (m);
}

static void
test_transform (void)
{
  /* A 640x480 picture letterboxed into 320x320: scale 0.5, 40 px bands. */
  MoTransform xf = { {0, 0, 640, 480}, {0, 40, 320, 240}, 320, 320 };
  MoDetection d = { 10.0f, 40.0f, 110.0f, 280.0f, 0.9f, 2 };
  double box[4];
  mo_ssdlite_detection_to_image (&xf, &d, box);
  g_assert_cmpfloat_with_epsilon (box[0], 20.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (box[1], 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (box[2], 220.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (box[3], 480.0, 1e-9);
  /* Boxes reaching into the bands are clipped to the picture. */
  MoDetection e = { 300.0f, 20.0f, 330.0f, 300.0f, 0.5f, 1 };
  mo_ssdlite_detection_to_image (&xf, &e, box);
  g_assert_cmpfloat_with_epsilon (box[0], 600.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (box[1], 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (box[2], 640.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (box[3], 480.0, 1e-9);
  mo_ssdlite_detection_to_image (NULL, &d, box);
  g_assert_cmpfloat (box[3], ==, 280.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *base = g_getenv ("MOBILEONE_TEST_DATA");
  data_dir = g_build_filename (base ? base : MOBILEONE_TEST_DATA, "ssd", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    char *p = g_strdup_printf ("/ssdlite/raw/%s", sizes[i]);
    g_test_add_data_func (p, sizes[i], test_raw);
    g_free (p);
    p = g_strdup_printf ("/ssdlite/post-torch/%s", sizes[i]);
    g_test_add_data_func (p, sizes[i], test_post_torch);
    g_free (p);
  }
  g_test_add_func ("/ssdlite/folding", test_folding);
  g_test_add_func ("/ssdlite/bad-yaml", test_bad_yaml);
  g_test_add_func ("/ssdlite/defaults", test_defaults);
  g_test_add_func ("/ssdlite/params", test_params);
  g_test_add_func ("/ssdlite/class-thresholds", test_class_thresholds);
  g_test_add_func ("/ssdlite/too-small", test_too_small);
  g_test_add_func ("/ssdlite/transform", test_transform);
  int rc = g_test_run ();
  g_free (data_dir);
  return rc;
}
