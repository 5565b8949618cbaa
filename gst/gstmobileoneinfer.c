/* mobileone-gst: GstMobileOneInfer.
 *
 * What every inference element shares: the model and n-threads properties,
 * the shared model (gstmobileonemodelcache.c) and the element's own session,
 * both made in start() so that a bad model is an error when the element
 * starts; the caps; the per-frame flow (map, regions, pre-processing on
 * the session's threads, run, the inference interval, the element
 * messages). The subclasses only decode the outputs (decode) and attach the
 * kept results (attach), marked repeated on the frames between inferences.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileoneinfer.h"
#include "gstmobileonemeta.h"
#include "gstmobileonemodelcache.h"

#include <string.h>

/* A model loaded in its own thread while the stream goes on with the old
 * one (the model property set in PAUSED or PLAYING). */
typedef struct
{
  GThread *thread;
  gchar *path;
  MoLoadFlags flags;
  guint n_threads;
  const gchar *head_type;
  /* written by the thread before it sets done */
  MoModel *model;
  MoSession *session;
  gint code;                    /* an OpenResult */
  GError *error;
  gint done;                    /* atomic */
} Loader;

typedef struct
{
  /* properties, under the object lock */
  gchar *model_path;            /* NULL: the class's default_model */
  guint n_threads;
  guint inference_interval;
  MoFit fit;
  gboolean post_messages;
  gchar *object_class;
  gboolean allow_external_paths;
  /* set with the properties, cleared by start() and when applied */
  gboolean model_changed;
  gboolean object_class_changed;
  gboolean force_fp32;          /* precision=fp32 */

  /* from start() to stop() */
  gchar *loaded_path;           /* the file of the model in use */
  Loader *loader;               /* a model being loaded, or NULL */
  MoModel *model;
  MoSession *session;
  float *input;
  int input_width, input_height, input_cs;
  GArray *object_quarks;        /* GQuark, from object-class */
  guint num_classes;
  gchar **labels;
  GQuark *label_quarks;
  gboolean *selected;

  /* from set_info(): the format and colorimetry; the planes per frame */
  MoImage image;

  /* streaming */
  gboolean have_results;
  guint since_inference;
} GstMobileOneInferPrivate;

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_infer_debug);
#define GST_CAT_DEFAULT gst_mobile_one_infer_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_N_THREADS,
  PROP_INFERENCE_INTERVAL,
  PROP_FIT,
  PROP_LETTERBOX,
  PROP_POST_MESSAGES,
  PROP_ALLOW_EXTERNAL_PATHS,
  PROP_PRECISION,
};

#define DEFAULT_N_THREADS 0
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_POST_MESSAGES FALSE
#define DEFAULT_OBJECT_CLASS NULL
#define DEFAULT_ALLOW_EXTERNAL_PATHS FALSE
#define DEFAULT_PRECISION 0     /* auto */

#define CAPS_STR GST_VIDEO_CAPS_MAKE (GST_MOBILE_ONE_INFER_FORMATS)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (GstMobileOneInfer, gst_mobile_one_infer,
    GST_TYPE_VIDEO_FILTER, G_ADD_PRIVATE (GstMobileOneInfer);
    GST_DEBUG_CATEGORY_INIT (gst_mobile_one_infer_debug, "mobileoneinfer", 0,
        "MobileOne inference elements"));

GType
gst_mobile_one_fit_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MO_FIT_STRETCH, "Stretch to the model input (aspect ratio changed)",
        "stretch"},
    {MO_FIT_LETTERBOX, "Keep the aspect ratio, pad the borders with the "
          "mean colour", "letterbox"},
    {MO_FIT_CROP, "Keep the aspect ratio, short side to 256/224 of the "
          "input, cut out the centre (ImageNet evaluation)", "crop"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileOneFit", values);

    g_once_init_leave (&type, t);
  }
  return type;
}

/* The precision property: auto (what the model description says) or fp32
 * (docs/int8.md). */
static GType
gst_mobile_one_precision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {0, "What the model description says ('precision: int8' runs in int8)",
        "auto"},
    {1, "float32, even for an int8 model description", "fp32"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileOnePrecision", values);

    g_once_init_leave (&type, t);
  }
  return type;
}

#define PRIV(self) \
  ((GstMobileOneInferPrivate *) gst_mobile_one_infer_get_instance_private (self))

static void gst_mobile_one_infer_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_infer_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobile_one_infer_constructed (GObject * object);
static void gst_mobile_one_infer_finalize (GObject * object);
static gboolean gst_mobile_one_infer_start (GstBaseTransform * trans);
static gboolean gst_mobile_one_infer_stop (GstBaseTransform * trans);
static gboolean gst_mobile_one_infer_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static GstFlowReturn gst_mobile_one_infer_transform_ip (GstBaseTransform *
    trans, GstBuffer * buf);
static gboolean gst_mobile_one_infer_set_info (GstVideoFilter * filter,
    GstCaps * incaps, GstVideoInfo * in_info, GstCaps * outcaps,
    GstVideoInfo * out_info);

static void
gst_mobile_one_infer_class_init (GstMobileOneInferClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_mobile_one_infer_set_property;
  gobject_class->get_property = gst_mobile_one_infer_get_property;
  gobject_class->constructed = gst_mobile_one_infer_constructed;
  gobject_class->finalize = gst_mobile_one_infer_finalize;

  /**
   * GstMobileOneInfer:model:
   *
   * The model description (a YAML file next to its weights, see
   * docs/model-format.md). Unset, the element uses its default model,
   * installed with the plugin. Elements of one process that name the same
   * file share its weights.
   *
   * Set while PAUSED or PLAYING, the new model is loaded in a thread of its
   * own while the stream goes on with the old one, and replaces it at the
   * first frame after it is ready. If it cannot be loaded (or is not this
   * element's kind of model), the element posts a warning, goes on with the
   * old model and the property reads back the old path.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the model description (YAML); the default is this "
          "element's model in $MOBILEONE_MODEL_DIR, else in the models "
          "folder installed with the plugin (" MOBILEONE_MODEL_DIR "). Set "
          "while playing, it is loaded in the background and used from the "
          "next frame after; a model that fails to load gives a warning "
          "and the old one goes on", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneInfer:n-threads:
   *
   * Threads that run one inference. 0 uses the process-wide pool of one
   * thread per core that every element asking for 0 shares (their
   * inferences take turns, so N elements never run more threads than
   * cores); N > 0 gives the element N threads of its own. Results do not
   * depend on it.
   */
  g_object_class_install_property (gobject_class, PROP_N_THREADS,
      g_param_spec_uint ("n-threads", "Threads",
          "Threads per inference (0 = the process-wide pool of one thread "
          "per core, shared by the elements; N = N threads of its own)", 0,
          256,
          DEFAULT_N_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstMobileOneInfer:inference-interval:
   *
   * Run the model on every Nth frame only; the frames in between get the
   * results of the last inference again.
   */
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the model on every Nth frame and attach the last results to "
          "the frames in between", 1, G_MAXUINT, DEFAULT_INFERENCE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneInfer:fit:
   *
   * How the frame (or each region) is resized to the model input:
   * stretched, letterboxed (aspect ratio kept, borders padded with the mean
   * colour) or centre-cropped like ImageNet evaluation (torchvision's
   * Resize to 256/224 of the input, then CenterCrop). Results are mapped
   * back to the frame exactly either way. The default is the head's, the
   * same as mobileone-cli image: crop for mobileoneclassify, stretch for
   * mobileonedetect and mobileonesegment.
   */
  g_object_class_install_property (gobject_class, PROP_FIT,
      g_param_spec_enum ("fit", "Fit",
          "How the frame is resized to the model input (default: crop for "
          "mobileoneclassify, stretch for the others, like mobileone-cli)",
          GST_TYPE_MOBILE_ONE_FIT, MO_FIT_STRETCH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneInfer:letterbox:
   *
   * Deprecated: use fit=letterbox. TRUE sets fit to letterbox, FALSE sets
   * it back to the element's default when it was letterbox.
   */
  g_object_class_install_property (gobject_class, PROP_LETTERBOX,
      g_param_spec_boolean ("letterbox", "Letterbox",
          "Deprecated: the same as fit=letterbox", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_DEPRECATED |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstMobileOneInfer:post-messages:
   *
   * Post an element message with the results of every frame on the bus;
   * its structure is named like the element's factory and holds timestamp,
   * stream-time, running-time, duration, repeated (TRUE on the frames
   * between inferences, whose results are the last inference's) and the
   * results (see docs/elements.md).
   */
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an element message with the results of every frame "
          "(repeated=true between inferences)",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));


  /**
   * GstMobileOneInfer:allow-external-paths:
   *
   * Let the model description name weights and labels files anywhere
   * (absolute paths, '..'). Off, they must lie in the description's own
   * folder, so that a description from elsewhere cannot make the element
   * read other files (docs/security.md). Turn it on only for descriptions
   * you trust.
   */
  g_object_class_install_property (gobject_class, PROP_ALLOW_EXTERNAL_PATHS,
      g_param_spec_boolean ("allow-external-paths", "Allow external paths",
          "Let the model description name weights and labels files outside "
          "its own folder (absolute paths, '..'): only for trusted "
          "descriptions", DEFAULT_ALLOW_EXTERNAL_PATHS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstMobileOneInfer:precision:
   *
   * auto runs the model as its description says (int8 with 'precision:
   * int8' and its calibrated scales); fp32 forces float32, for comparing
   * or when int8 loses too much accuracy for a model (docs/int8.md).
   */
  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "auto: as the model description says (int8 or fp32); fp32: "
          "float32 even for an int8 model", gst_mobile_one_precision_get_type
          (), DEFAULT_PRECISION, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mobile_one_infer_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobile_one_infer_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_mobile_one_infer_sink_event);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_mobile_one_infer_transform_ip);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_mobile_one_infer_set_info);

  gst_type_mark_as_plugin_api (GST_TYPE_MOBILE_ONE_INFER, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MOBILE_ONE_FIT, 0);
  gst_type_mark_as_plugin_api (gst_mobile_one_precision_get_type (), 0);
}

/**
 * gst_mobile_one_infer_class_install_object_class:
 * @klass: a subclass's class, in its class_init
 * @blurb: what object-class does in this element, for gst-inspect-1.0
 *
 * Installs the object-class property on @klass with the element's own
 * description. Comma-separated labels, matched without regard to the case
 * of ASCII letters ("Star" selects "star"), spaces around the commas
 * ignored; empty or unset selects everything. Where the labels are the
 * model's (#GstMobileOneInferClass.object_class_is_output), a name that is
 * none of them gives a warning listing the model's labels when the element
 * starts. A change while playing applies from the next frame. The
 * property's id is %GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS: a subclass
 * with a set_property/get_property of its own passes that id on to its
 * parent class's.
 */
void
gst_mobile_one_infer_class_install_object_class (GstMobileOneInferClass *
    klass, const gchar * blurb)
{
  g_object_class_install_property (G_OBJECT_CLASS (klass),
      GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS,
      g_param_spec_string ("object-class", "Object class", blurb,
          DEFAULT_OBJECT_CLASS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

static void
gst_mobile_one_infer_init (GstMobileOneInfer * self)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  priv->n_threads = DEFAULT_N_THREADS;
  priv->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  priv->fit = MO_FIT_STRETCH;
  priv->post_messages = DEFAULT_POST_MESSAGES;
  priv->object_class = g_strdup (DEFAULT_OBJECT_CLASS);
  priv->allow_external_paths = DEFAULT_ALLOW_EXTERNAL_PATHS;
  /* The pixels are only read: metas are added to the buffer as it is. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

/* The class's default model file in $MOBILEONE_MODEL_DIR when that is set
 * (an uninstalled build, tests), else in the installed models folder. */
static gchar *
default_model_path (GstMobileOneInferClass * klass)
{
  const gchar *dir = g_getenv ("MOBILEONE_MODEL_DIR");

  if (klass->default_model == NULL)
    return NULL;
  if (dir == NULL || dir[0] == '\0')
    dir = MOBILEONE_MODEL_DIR;
  return g_build_filename (dir, klass->default_model, NULL);
}

/* Runs with the subclass's class (instance init does not) and before the
 * properties given to g_object_new() are set. */
static void
gst_mobile_one_infer_constructed (GObject * object)
{
  GstMobileOneInfer *self = GST_MOBILE_ONE_INFER (object);

  PRIV (self)->fit = GST_MOBILE_ONE_INFER_GET_CLASS (self)->default_fit;
  G_OBJECT_CLASS (gst_mobile_one_infer_parent_class)->constructed (object);
}

static void
gst_mobile_one_infer_finalize (GObject * object)
{
  GstMobileOneInferPrivate *priv = PRIV (GST_MOBILE_ONE_INFER (object));

  g_free (priv->model_path);
  g_free (priv->object_class);
  G_OBJECT_CLASS (gst_mobile_one_infer_parent_class)->finalize (object);
}

static void
gst_mobile_one_infer_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOneInfer *self = GST_MOBILE_ONE_INFER (object);
  GstMobileOneInferPrivate *priv = PRIV (self);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (priv->model_path);
      priv->model_path = g_value_dup_string (value);
      priv->model_changed = TRUE;
      break;
    case PROP_N_THREADS:
      priv->n_threads = g_value_get_uint (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      priv->inference_interval = g_value_get_uint (value);
      break;
    case PROP_FIT:
      priv->fit = (MoFit) g_value_get_enum (value);
      break;
    case PROP_LETTERBOX:
      if (g_value_get_boolean (value))
        priv->fit = MO_FIT_LETTERBOX;
      else if (priv->fit == MO_FIT_LETTERBOX)
        priv->fit = GST_MOBILE_ONE_INFER_GET_CLASS (self)->default_fit;
      break;
    case PROP_POST_MESSAGES:
      priv->post_messages = g_value_get_boolean (value);
      break;
    case GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS:
      g_free (priv->object_class);
      priv->object_class = g_value_dup_string (value);
      priv->object_class_changed = TRUE;
      break;
    case PROP_ALLOW_EXTERNAL_PATHS:
      priv->allow_external_paths = g_value_get_boolean (value);
      break;
    case PROP_PRECISION:
      priv->force_fp32 = g_value_get_enum (value) == 1;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_infer_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOneInfer *self = GST_MOBILE_ONE_INFER (object);
  GstMobileOneInferPrivate *priv = PRIV (self);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      if (priv->model_path)
        g_value_set_string (value, priv->model_path);
      else
        g_value_take_string (value, default_model_path
            (GST_MOBILE_ONE_INFER_GET_CLASS (self)));
      break;
    case PROP_N_THREADS:
      g_value_set_uint (value, priv->n_threads);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, priv->inference_interval);
      break;
    case PROP_FIT:
      g_value_set_enum (value, priv->fit);
      break;
    case PROP_LETTERBOX:
      g_value_set_boolean (value, priv->fit == MO_FIT_LETTERBOX);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, priv->post_messages);
      break;
    case GST_MOBILE_ONE_INFER_PROP_OBJECT_CLASS:
      g_value_set_string (value, priv->object_class);
      break;
    case PROP_ALLOW_EXTERNAL_PATHS:
      g_value_set_boolean (value, priv->allow_external_paths);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, priv->force_fp32 ? 1 : 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GArray *
parse_object_class (const gchar * text)
{
  GArray *quarks = g_array_new (FALSE, FALSE, sizeof (GQuark));
  gchar **names;

  if (text == NULL)
    return quarks;
  names = g_strsplit (text, ",", -1);
  for (guint i = 0; names[i] != NULL; i++) {
    GQuark q;

    g_strstrip (names[i]);
    if (names[i][0] == '\0')
      continue;
    q = g_quark_from_string (names[i]);
    g_array_append_val (quarks, q);
  }
  g_strfreev (names);
  return quarks;
}

static void
gst_mobile_one_infer_clear (GstMobileOneInfer * self)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  mo_session_free (priv->session);
  priv->session = NULL;
  gst_mobile_one_model_cache_release (priv->model);
  priv->model = NULL;
  priv->input = NULL;
  g_clear_pointer (&priv->object_quarks, g_array_unref);
  gst_mobile_one_labels_unref (priv->labels);
  priv->labels = NULL;
  g_clear_pointer (&priv->label_quarks, g_free);
  g_clear_pointer (&priv->selected, g_free);
  priv->num_classes = 0;
  g_clear_pointer (&priv->loaded_path, g_free);
}

typedef enum
{
  OPEN_OK,
  OPEN_NO_MODEL,
  OPEN_MISSING,
  OPEN_LOAD_FAILED,
  OPEN_WRONG_HEAD,
  OPEN_SESSION_FAILED,
} OpenResult;

/* Loads @path (through the cache) and makes a session for it; any thread.
 * On failure *@error says why and nothing is kept. */
static OpenResult
open_model (const gchar * path, MoLoadFlags flags, guint n_threads,
    const gchar * head_type, MoModel ** model, MoSession ** session,
    GError ** error)
{
  const MoDesc *desc;

  *model = NULL;
  *session = NULL;
  if (path == NULL || path[0] == '\0') {
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "no model");
    return OPEN_NO_MODEL;
  }
  /* A link that leads nowhere (a loop) goes on to the load, which says why. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS)
      && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_set_error (error, MO_ERROR, MO_ERROR_IO, "%s does not exist", path);
    return OPEN_MISSING;
  }
  *model = gst_mobile_one_model_cache_acquire (path, flags, error);
  if (*model == NULL)
    return OPEN_LOAD_FAILED;
  desc = mo_model_desc (*model);
  if (g_strcmp0 (desc->head_type, head_type) != 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_MODEL, "%s: head.type is '%s', "
        "the element needs '%s'", path, desc->head_type, head_type);
    gst_mobile_one_model_cache_release (*model);
    *model = NULL;
    return OPEN_WRONG_HEAD;
  }
  *session = mo_session_new (*model, desc->input_width, desc->input_height,
      (int) n_threads, error);
  if (*session == NULL) {
    gst_mobile_one_model_cache_release (*model);
    *model = NULL;
    return OPEN_SESSION_FAILED;
  }
  return OPEN_OK;
}

/* Makes the session's input known and logs what runs. */
static void
use_session (GstMobileOneInfer * self, const gchar * path)
{
  GstMobileOneInferPrivate *priv = PRIV (self);
  const MoDesc *desc = mo_model_desc (priv->model);

  priv->input = mo_session_input (priv->session, &priv->input_width,
      &priv->input_height, &priv->input_cs);
  g_free (priv->loaded_path);
  priv->loaded_path = g_strdup (path);
  GST_INFO_OBJECT (self, "model '%s' (%s): %dx%d input, %d threads, %s "
      "kernels", desc->name, path, priv->input_width, priv->input_height,
      mo_session_n_threads (priv->session), mo_session_isa (priv->session));
}

static gboolean
gst_mobile_one_infer_start (GstBaseTransform * trans)
{
  GstMobileOneInfer *self = GST_MOBILE_ONE_INFER (trans);
  GstMobileOneInferClass *klass = GST_MOBILE_ONE_INFER_GET_CLASS (self);
  GstMobileOneInferPrivate *priv = PRIV (self);
  GError *error = NULL;
  gchar *path;
  guint n_threads;
  MoLoadFlags flags;

  GST_OBJECT_LOCK (self);
  path = priv->model_path ? g_strdup (priv->model_path) :
      default_model_path (klass);
  n_threads = priv->n_threads;
  flags = priv->allow_external_paths ? MO_LOAD_ALLOW_EXTERNAL_PATHS :
      MO_LOAD_DEFAULT;
  if (priv->force_fp32)
    flags |= MO_LOAD_FORCE_FP32;
  priv->object_quarks = parse_object_class (priv->object_class);
  priv->model_changed = FALSE;
  priv->object_class_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  GST_DEBUG_OBJECT (self, "loading '%s'", path);
  switch (open_model (path, flags, n_threads, klass->head_type, &priv->model,
          &priv->session, &error)) {
    case OPEN_OK:
      break;
    case OPEN_NO_MODEL:
      goto no_model;
    case OPEN_MISSING:
      goto missing_model;
    case OPEN_LOAD_FAILED:
      goto load_failed;
    case OPEN_WRONG_HEAD:
      goto wrong_head;
    case OPEN_SESSION_FAILED:
      goto session_failed;
  }
  use_session (self, path);

  if (klass->setup && !klass->setup (self, &error))
    goto setup_failed;

  priv->have_results = FALSE;
  priv->since_inference = 0;
  g_free (path);
  return TRUE;

  /* ERRORS */
no_model:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model: set the model property."), (NULL));
    goto fail;
  }
missing_model:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Model file '%s' does not exist.", path),
        ("%s%s", path, priv->model_path ? "" : " is this element's default "
            "model, installed with the plugin's models; set the model "
            "property to a model description (YAML)"));
    goto fail;
  }
load_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load model '%s'.", path), ("%s", error->message));
    goto fail;
  }
wrong_head:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Model '%s' has the wrong kind of head for this element.", path),
        ("%s (%s)", error->message, GST_ELEMENT_NAME (self)));
    goto fail;
  }
session_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        ("Could not prepare model '%s' to run.", path),
        ("%s", error->message));
    goto fail;
  }
setup_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Model '%s' does not suit this element.", path),
        ("%s", error->message));
    goto fail;
  }
fail:
  {
    g_clear_error (&error);
    g_free (path);
    gst_mobile_one_infer_clear (self);
    return FALSE;
  }
}

static gpointer
loader_thread (gpointer data)
{
  Loader *l = data;

  l->code = open_model (l->path, l->flags, l->n_threads, l->head_type,
      &l->model, &l->session, &l->error);
  g_atomic_int_set (&l->done, 1);
  return NULL;
}

/* Waits for the loader's thread (unless joined) and frees what it made
 * and nobody took. */
static void
loader_free (Loader * l)
{
  if (l->thread)
    g_thread_join (l->thread);
  mo_session_free (l->session);
  gst_mobile_one_model_cache_release (l->model);
  g_clear_error (&l->error);
  g_free (l->path);
  g_free (l);
}

/* Takes the loaded model in at a frame boundary: the subclass lets go of
 * the old session (teardown), sets up with the new one, and the old model
 * goes. When the load or the setup fails, a warning and the old model goes
 * on (the model property reads it back again). */
static void
switch_model (GstMobileOneInfer * self)
{
  GstMobileOneInferClass *klass = GST_MOBILE_ONE_INFER_GET_CLASS (self);
  GstMobileOneInferPrivate *priv = PRIV (self);
  Loader *l = priv->loader;
  MoModel *old_model = priv->model;
  MoSession *old_session = priv->session;
  gchar *old_path = g_strdup (priv->loaded_path);

  priv->loader = NULL;
  g_thread_join (l->thread);
  l->thread = NULL;
  if (l->code != OPEN_OK)
    goto load_failed;

  if (klass->teardown)
    klass->teardown (self);
  priv->model = l->model;
  priv->session = l->session;
  l->model = NULL;
  l->session = NULL;
  use_session (self, l->path);
  if (klass->setup && !klass->setup (self, &l->error)) {
    if (klass->teardown)
      klass->teardown (self);
    l->model = priv->model;
    l->session = priv->session;
    priv->model = old_model;
    priv->session = old_session;
    use_session (self, old_path);
    if (klass->setup && !klass->setup (self, NULL))
      GST_ERROR_OBJECT (self, "the old model does not set up again");
    goto load_failed;
  }
  mo_session_free (old_session);
  gst_mobile_one_model_cache_release (old_model);
  /* The kept results are the old model's. */
  priv->have_results = FALSE;
  priv->since_inference = 0;
  g_free (old_path);
  loader_free (l);
  return;

  /* ERRORS */
load_failed:
  {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Could not switch to model '%s'; going on with '%s'.", l->path,
            old_path), ("%s", l->error ? l->error->message : "unknown"));
    GST_OBJECT_LOCK (self);
    /* Unless it was set again meanwhile, the property says what runs. */
    if (!priv->model_changed) {
      g_free (priv->model_path);
      priv->model_path = g_strdup (old_path);
    }
    GST_OBJECT_UNLOCK (self);
    g_free (old_path);
    loader_free (l);
  }
}

/* At the start of a frame: applies what was set since the last one. A new
 * model is loaded in another thread while this and the following frames
 * go on with the old one; it is taken in at the first frame after it is
 * ready. A new object-class sets the subclass up again. FALSE (after an
 * error) when the subclass cannot go on. */
static gboolean
apply_changes (GstMobileOneInfer * self)
{
  GstMobileOneInferClass *klass = GST_MOBILE_ONE_INFER_GET_CLASS (self);
  GstMobileOneInferPrivate *priv = PRIV (self);
  GArray *quarks = NULL;

  GST_OBJECT_LOCK (self);
  if (priv->model_changed && priv->loader == NULL) {
    Loader *l = g_new0 (Loader, 1);

    l->path = priv->model_path ? g_strdup (priv->model_path) :
        default_model_path (klass);
    l->flags = priv->allow_external_paths ? MO_LOAD_ALLOW_EXTERNAL_PATHS :
        MO_LOAD_DEFAULT;
    if (priv->force_fp32)
      l->flags |= MO_LOAD_FORCE_FP32;
    l->n_threads = priv->n_threads;
    l->head_type = klass->head_type;
    priv->model_changed = FALSE;
    GST_INFO_OBJECT (self, "loading '%s' in the background", l->path);
    l->thread = g_thread_new ("mobileone-load", loader_thread, l);
    priv->loader = l;
  }
  if (priv->object_class_changed) {
    quarks = parse_object_class (priv->object_class);
    priv->object_class_changed = FALSE;
  }
  GST_OBJECT_UNLOCK (self);

  if (priv->loader && g_atomic_int_get (&priv->loader->done))
    switch_model (self);
  if (quarks) {
    GError *error = NULL;

    g_clear_pointer (&priv->object_quarks, g_array_unref);
    priv->object_quarks = quarks;
    if (klass->teardown)
      klass->teardown (self);
    priv->have_results = FALSE;
    if (klass->setup && !klass->setup (self, &error)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Could not apply the new object-class."), ("%s", error->message));
      g_clear_error (&error);
      if (klass->teardown)
        klass->teardown (self);
      gst_mobile_one_infer_clear (self);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
gst_mobile_one_infer_stop (GstBaseTransform * trans)
{
  GstMobileOneInfer *self = GST_MOBILE_ONE_INFER (trans);
  GstMobileOneInferClass *klass = GST_MOBILE_ONE_INFER_GET_CLASS (self);
  GstMobileOneInferPrivate *priv = PRIV (self);

  if (priv->loader) {
    loader_free (priv->loader);
    priv->loader = NULL;
  }
  if (klass->teardown)
    klass->teardown (self);
  gst_mobile_one_infer_clear (self);
  return TRUE;
}

static gboolean
gst_mobile_one_infer_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  static const struct
  {
    GstVideoFormat gst;
    MoPixelFormat mo;
  } formats[] = {
    {GST_VIDEO_FORMAT_RGB, MO_PIXEL_RGB},
    {GST_VIDEO_FORMAT_BGR, MO_PIXEL_BGR},
    {GST_VIDEO_FORMAT_RGBx, MO_PIXEL_RGBX},
    {GST_VIDEO_FORMAT_RGBA, MO_PIXEL_RGBX},
    {GST_VIDEO_FORMAT_BGRx, MO_PIXEL_BGRX},
    {GST_VIDEO_FORMAT_BGRA, MO_PIXEL_BGRX},
    {GST_VIDEO_FORMAT_xRGB, MO_PIXEL_XRGB},
    {GST_VIDEO_FORMAT_ARGB, MO_PIXEL_XRGB},
    {GST_VIDEO_FORMAT_xBGR, MO_PIXEL_XBGR},
    {GST_VIDEO_FORMAT_ABGR, MO_PIXEL_XBGR},
    {GST_VIDEO_FORMAT_NV12, MO_PIXEL_NV12},
    {GST_VIDEO_FORMAT_I420, MO_PIXEL_I420},
    {GST_VIDEO_FORMAT_YUY2, MO_PIXEL_YUY2},
    {GST_VIDEO_FORMAT_UYVY, MO_PIXEL_UYVY},
    {GST_VIDEO_FORMAT_GRAY8, MO_PIXEL_GRAY8},
  };
  GstMobileOneInferPrivate *priv = PRIV (GST_MOBILE_ONE_INFER (filter));
  GstVideoColorimetry *cm = &GST_VIDEO_INFO_COLORIMETRY (in_info);
  GstVideoFormat format = GST_VIDEO_INFO_FORMAT (in_info);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++)
    if (formats[i].gst == format)
      break;
  if (i == G_N_ELEMENTS (formats)) {
    GST_ERROR_OBJECT (filter, "unsupported format %s",
        gst_video_format_to_string (format));
    return FALSE;
  }
  memset (&priv->image, 0, sizeof (priv->image));
  priv->image.format = formats[i].mo;
  priv->image.width = GST_VIDEO_INFO_WIDTH (in_info);
  priv->image.height = GST_VIDEO_INFO_HEIGHT (in_info);
  priv->image.matrix = cm->matrix == GST_VIDEO_COLOR_MATRIX_BT709 ?
      MO_YUV_BT709 : MO_YUV_BT601;
  priv->image.full_range = cm->range == GST_VIDEO_COLOR_RANGE_0_255;
  /* Kept results are in the coordinates of the old frame size. */
  priv->have_results = FALSE;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (filter), TRUE);
  return TRUE;
}

static gboolean
gst_mobile_one_infer_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMobileOneInferPrivate *priv = PRIV (GST_MOBILE_ONE_INFER (trans));

  /* After a seek the kept results belong to another place in the stream. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    priv->have_results = FALSE;
  return GST_BASE_TRANSFORM_CLASS (gst_mobile_one_infer_parent_class)->
      sink_event (trans, event);
}

/* The element message of @buf, without results yet. */
static GstStructure *
new_message (GstMobileOneInfer * self, GstBuffer * buf, gboolean repeated)
{
  GstElementFactory *factory = gst_element_get_factory (GST_ELEMENT (self));
  GstSegment *segment = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime ts = GST_BUFFER_PTS (buf);

  return gst_structure_new (factory ? GST_OBJECT_NAME (factory) :
      G_OBJECT_TYPE_NAME (self),
      "timestamp", G_TYPE_UINT64, ts,
      "stream-time", G_TYPE_UINT64, gst_segment_to_stream_time (segment,
          GST_FORMAT_TIME, ts),
      "running-time", G_TYPE_UINT64, gst_segment_to_running_time (segment,
          GST_FORMAT_TIME, ts),
      "duration", G_TYPE_UINT64, GST_BUFFER_DURATION (buf),
      "repeated", G_TYPE_BOOLEAN, repeated, NULL);
}

static void
region_done (gpointer user, int index, const MoSession * outputs,
    const MoTransform * xf)
{
  GstMobileOneInfer *self = user;

  GST_MOBILE_ONE_INFER_GET_CLASS (self)->decode_region (self, (guint) index,
      outputs, xf);
}

/* Runs the model on every region of @frame and lets the subclass decode
 * each result. */
static gboolean
infer_frame (GstMobileOneInfer * self, GstVideoFrame * frame, MoFit fit)
{
  GstMobileOneInferClass *klass = GST_MOBILE_ONE_INFER_GET_CLASS (self);
  GstMobileOneInferPrivate *priv = PRIV (self);
  const MoRect *rects = NULL;
  guint n = 1;

  for (guint i = 0; i < 3; i++) {
    gboolean has = i < GST_VIDEO_FRAME_N_PLANES (frame);

    priv->image.planes[i] = has ? GST_VIDEO_FRAME_PLANE_DATA (frame, i) : NULL;
    priv->image.strides[i] = has ? GST_VIDEO_FRAME_PLANE_STRIDE (frame, i) : 0;
  }
  if (klass->get_regions)
    n = klass->get_regions (self, frame, &rects);
  if (klass->decode_region) {
    MoRect whole = { 0, 0, priv->image.width, priv->image.height };

    mo_session_run_regions (priv->session, &priv->image,
        rects ? rects : &whole, (int) n, fit, region_done, self);
    return TRUE;
  }
  for (guint i = 0; i < n; i++) {
    MoTransform xf;

    mo_session_set_input_image (priv->session, &priv->image,
        rects ? &rects[i] : NULL, fit, &xf);
    mo_session_run (priv->session);
    if (!klass->decode (self, frame, i, &xf))
      return FALSE;
  }
  return TRUE;
}

static GstFlowReturn
gst_mobile_one_infer_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobileOneInfer *self = GST_MOBILE_ONE_INFER (trans);
  GstMobileOneInferClass *klass = GST_MOBILE_ONE_INFER_GET_CLASS (self);
  GstMobileOneInferPrivate *priv = PRIV (self);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  GstStructure *message = NULL;
  GstVideoFrame frame;
  GstFlowReturn ret;
  guint interval;
  gboolean post, infer;
  MoFit fit;

  if (!filter->negotiated || priv->session == NULL)
    goto not_negotiated;

  if (!apply_changes (self))
    return GST_FLOW_ERROR;
  GST_OBJECT_LOCK (self);
  interval = priv->inference_interval;
  post = priv->post_messages;
  fit = priv->fit;
  GST_OBJECT_UNLOCK (self);

  infer = !priv->have_results || priv->since_inference + 1 >= interval;
  priv->since_inference = infer ? 0 : priv->since_inference + 1;

  /* Read-only: pixels shared with a tee branch are not copied. No extra
   * reference either, which would make the buffer read-only for metas. */
  if (!gst_video_frame_map (&frame, &filter->in_info, buf,
          GST_MAP_READ | GST_VIDEO_FRAME_MAP_FLAG_NO_REF))
    goto invalid_buffer;
  if (infer) {
    if (!infer_frame (self, &frame, fit)) {
      gst_video_frame_unmap (&frame);
      return GST_FLOW_ERROR;
    }
    priv->have_results = TRUE;
  }
  if (post)
    message = new_message (self, buf, !infer);
  ret = klass->attach (self, &frame, !infer, message);
  gst_video_frame_unmap (&frame);

  if (message != NULL) {
    if (ret == GST_FLOW_OK)
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_element (GST_OBJECT (self), message));
    else
      gst_structure_free (message);
  }
  return ret;

  /* ERRORS */
not_negotiated:
  {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("unknown format or no model"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
invalid_buffer:
  {
    GST_ELEMENT_WARNING (self, CORE, NOT_IMPLEMENTED, (NULL),
        ("invalid video buffer received"));
    return GST_FLOW_OK;
  }
}

MoSession *
gst_mobile_one_infer_get_session (GstMobileOneInfer * self)
{
  return PRIV (self)->session;
}

const MoDesc *
gst_mobile_one_infer_get_desc (GstMobileOneInfer * self)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  return priv->model ? mo_model_desc (priv->model) : NULL;
}

/* object-class names that are no label of the model select nothing: say
 * so, with the labels there are. */
static void
warn_unknown_object_class (GstMobileOneInfer * self)
{
  GstMobileOneInferPrivate *priv = PRIV (self);
  GString *unknown = NULL, *labels;

  for (guint j = 0; j < priv->object_quarks->len; j++) {
    const gchar *name = g_quark_to_string (g_array_index (priv->object_quarks,
            GQuark, j));
    gboolean found = FALSE;

    for (guint i = 0; i < priv->num_classes && !found; i++)
      found = g_ascii_strcasecmp (priv->labels[i], name) == 0;
    if (found)
      continue;
    if (unknown == NULL)
      unknown = g_string_new (NULL);
    g_string_append_printf (unknown, "%s'%s'", unknown->len ? ", " : "",
        name);
  }
  if (unknown == NULL)
    return;
  labels = g_string_new (NULL);
  for (guint i = 0; i < priv->num_classes; i++)
    g_string_append_printf (labels, "%s%s", i ? ", " : "", priv->labels[i]);
  GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
      ("object-class names %s, which the model does not have.",
          unknown->str), ("the labels of model '%s' are (ASCII case "
          "ignored): %s", priv->loaded_path, labels->str));
  g_string_free (unknown, TRUE);
  g_string_free (labels, TRUE);
}

void
gst_mobile_one_infer_set_num_classes (GstMobileOneInfer * self,
    guint num_classes)
{
  GstMobileOneInferPrivate *priv = PRIV (self);
  const MoDesc *desc = mo_model_desc (priv->model);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < num_classes; i++) {
    const char *label = mo_desc_label (desc, (int) i);

    g_ptr_array_add (names, label ? g_strdup (label) :
        g_strdup_printf ("%u", i));
  }
  gst_mobile_one_labels_unref (priv->labels);
  priv->labels = gst_mobile_one_labels_new ((const gchar * const *)
      names->pdata, num_classes);
  g_ptr_array_unref (names);

  g_free (priv->label_quarks);
  g_free (priv->selected);
  priv->label_quarks = g_new (GQuark, num_classes);
  priv->selected = g_new (gboolean, num_classes);
  priv->num_classes = num_classes;
  for (guint i = 0; i < num_classes; i++) {
    priv->label_quarks[i] = g_quark_from_string (priv->labels[i]);
    priv->selected[i] = gst_mobile_one_infer_roi_selected (self,
        priv->label_quarks[i]);
  }
  if (GST_MOBILE_ONE_INFER_GET_CLASS (self)->object_class_is_output)
    warn_unknown_object_class (self);
}

guint
gst_mobile_one_infer_get_num_classes (GstMobileOneInfer * self)
{
  return PRIV (self)->num_classes;
}

gchar **
gst_mobile_one_infer_get_labels (GstMobileOneInfer * self)
{
  return PRIV (self)->labels;
}

GQuark
gst_mobile_one_infer_get_label_quark (GstMobileOneInfer * self,
    guint class_id)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  g_return_val_if_fail (class_id < priv->num_classes, 0);
  return priv->label_quarks[class_id];
}

gboolean
gst_mobile_one_infer_class_selected (GstMobileOneInfer * self,
    guint class_id)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  return class_id < priv->num_classes && priv->selected[class_id];
}

gboolean
gst_mobile_one_infer_roi_selected (GstMobileOneInfer * self, GQuark roi_type)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  if (priv->object_quarks == NULL || priv->object_quarks->len == 0)
    return TRUE;
  /* Quark strings: no allocation per region. */
  for (guint j = 0; j < priv->object_quarks->len; j++) {
    GQuark q = g_array_index (priv->object_quarks, GQuark, j);

    if (q == roi_type || (roi_type != 0
            && g_ascii_strcasecmp (g_quark_to_string (q),
                g_quark_to_string (roi_type)) == 0))
      return TRUE;
  }
  return FALSE;
}

gboolean
gst_mobile_one_infer_has_object_class (GstMobileOneInfer * self)
{
  GstMobileOneInferPrivate *priv = PRIV (self);

  return priv->object_quarks != NULL && priv->object_quarks->len > 0;
}
