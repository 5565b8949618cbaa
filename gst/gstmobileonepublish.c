/**
 * SECTION:element-mobileonepublish
 * @title: mobileonepublish
 *
 * Writes the results on each frame as a JSON document, to a file (or
 * stdout) or to an MQTT broker. Buffers pass through untouched, whatever
 * their caps. The documents follow DL Streamer's gvametaconvert schema
 * (docs/publish-schema.md, docs/mobileone-publish.schema.json):
 * `timestamp` (the buffer's pts in nanoseconds), `resolution`, `source`,
 * `objects` (one per #GstVideoRegionOfInterestMeta, with its "detection",
 * "classification" and "tracking" params) and `segmentation` (from the
 * #GstMobileOneMaskMeta of mobileonesegment: the share of the map each
 * class covers and, with #GstMobileOnePublish:add-mask, the map itself,
 * run-length encoded). Built against GStreamer >= 1.24, a buffer without
 * region metas is read from its GstAnalytics metadata instead, as an
 * upstream detector attaches it: an object per ODMtd, with the ClsMtd and
 * TrackingMtd related to it, and (>= 1.26) the segmentation from a GRAY8
 * SegmentationMtd when there is no mask meta.
 *
 * MQTT goes through libmosquitto on its own network thread: the streaming
 * thread only appends to a bounded queue, so a broker that is down or slow
 * never blocks the pipeline. While the broker is unreachable documents wait
 * in the queue (#GstMobileOnePublish:max-queue, the oldest dropped first),
 * reconnection backs off exponentially up to
 * #GstMobileOnePublish:reconnect-delay-max, and what was dropped is counted
 * (#GstMobileOnePublish:dropped) and logged.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! mobileonedetect ! mobileonepublish file-path=results.jsonl ! fakesink
 * ]| One JSON document per line, one line per frame with detections.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobileonedetect ! mobileonepublish method=mqtt address=127.0.0.1:1883 topic=camera1 source=camera1 ! fakesink
 * ]| Publishes the detections of a camera to an MQTT broker.
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=10 ! mobileonesegment ! mobileonepublish file-format=json add-mask=true file-path=masks.json ! fakesink
 * ]| One JSON array with the class shares and masks of ten frames.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileonepublish.h"
#include "gstmobileonemeta.h"
#include "gstmobileoneanalytics.h"
#include "gstmobileoneroi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <gst/video/video.h>
#include <json-glib/json-glib.h>

#ifdef HAVE_MOSQUITTO
#include <mosquitto.h>
#endif

/* Documents handed to libmosquitto and not yet written (QoS 0) or
 * acknowledged (QoS 1, 2): bounds libmosquitto's own, unbounded queue. */
#define MQTT_WINDOW 32
#define MQTT_KEEPALIVE 30
/* The first reconnection waits this long (seconds), then doubles. */
#define MQTT_RECONNECT_DELAY 1

/* The JSON array layout keeps the file valid after every document: the
 * closing bracket is written after each one and overwritten by the next. */
#define JSON_TAIL "\n]\n"

struct _GstMobileOnePublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  GstMobileOnePublishMethod method;
  gchar *file_path;
  GstMobileOnePublishFileFormat file_format;
  gchar *address;
  gchar *topic;
  gchar *client_id;
  guint qos;
  gchar *username;
  gchar *password;
  gchar *tls_ca_file;
  gchar *tls_cert_file;
  gchar *tls_key_file;
  guint max_queue;
  guint max_document_size;
  guint reconnect_delay_max;
  guint flush_timeout;
  gchar *source;
  gboolean add_empty_results;
  gboolean add_mask;
  gboolean add_tensor_data;

  /* streaming */
  gint width, height;           /* 0 when the caps are not video */
  JsonBuilder *builder;
  JsonGenerator *generator;
  GString *doc;
  guint64 class_counts[256];
  gboolean warned_size;

  /* method=file */
  FILE *file;
  gboolean own_file;
  gboolean seekable;
  gboolean array_open;
  guint64 n_docs;

  /* counters and the MQTT queue, under lock */
  GMutex lock;
  GCond cond;
  guint64 published;
  guint64 dropped;

#ifdef HAVE_MOSQUITTO
  struct mosquitto *mosq;
  GThread *publisher;
  GQueue queue;                 /* GBytes, the oldest first */
  guint queue_max;
  gchar *mqtt_topic;
  gint mqtt_qos;
  guint in_flight;
  gboolean connected;
  gboolean connecting;          /* CONNECT sent, no CONNACK or loss yet */
  gboolean loop_started;        /* libmosquitto's network thread runs */
  guint retry_delay;            /* seconds, until it does */
  guint retry_delay_max;
  gboolean stopping;
  gboolean warned_down;         /* a warning was posted for this outage */
#endif
};

GST_DEBUG_CATEGORY_STATIC (gst_mobile_one_publish_debug);
#define GST_CAT_DEFAULT gst_mobile_one_publish_debug

enum
{
  PROP_0,
  PROP_METHOD,
  PROP_FILE_PATH,
  PROP_FILE_FORMAT,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_CLIENT_ID,
  PROP_QOS,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_MAX_QUEUE,
  PROP_MAX_DOCUMENT_SIZE,
  PROP_RECONNECT_DELAY_MAX,
  PROP_FLUSH_TIMEOUT,
  PROP_SOURCE,
  PROP_ADD_EMPTY_RESULTS,
  PROP_ADD_MASK,
  PROP_ADD_TENSOR_DATA,
  PROP_PUBLISHED,
  PROP_DROPPED,
  PROP_QUEUED,
};

#define DEFAULT_METHOD GST_MOBILE_ONE_PUBLISH_METHOD_FILE
#define DEFAULT_FILE_PATH NULL
#define DEFAULT_FILE_FORMAT GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON_LINES
#define DEFAULT_ADDRESS "127.0.0.1:1883"
#define DEFAULT_TOPIC "mobileone"
#define DEFAULT_QOS 0
#define DEFAULT_MAX_QUEUE 1000
#define DEFAULT_MAX_DOCUMENT_SIZE (1024 * 1024)
#define DEFAULT_RECONNECT_DELAY_MAX 30
#define DEFAULT_FLUSH_TIMEOUT 2000
#define DEFAULT_ADD_EMPTY_RESULTS FALSE
#define DEFAULT_ADD_MASK FALSE
#define DEFAULT_ADD_TENSOR_DATA FALSE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define gst_mobile_one_publish_parent_class parent_class
G_DEFINE_TYPE (GstMobileOnePublish, gst_mobile_one_publish,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (mobileonepublish, "mobileonepublish",
    GST_RANK_NONE, GST_TYPE_MOBILE_ONE_PUBLISH);

GType
gst_mobile_one_publish_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILE_ONE_PUBLISH_METHOD_FILE, "A file (or stdout)", "file"},
    {GST_MOBILE_ONE_PUBLISH_METHOD_MQTT, "An MQTT broker", "mqtt"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileOnePublishMethod", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_mobile_one_publish_file_format_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON_LINES,
        "One document per line", "json-lines"},
    {GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON,
        "One JSON array of documents, valid after every frame", "json"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileOnePublishFileFormat",
        values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_mobile_one_publish_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobile_one_publish_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobile_one_publish_finalize (GObject * object);
static gboolean gst_mobile_one_publish_start (GstBaseTransform * trans);
static gboolean gst_mobile_one_publish_stop (GstBaseTransform * trans);
static gboolean gst_mobile_one_publish_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static GstFlowReturn gst_mobile_one_publish_transform_ip (GstBaseTransform *
    trans, GstBuffer * buf);

static void
install_string (GObjectClass * gobject_class, guint id, const gchar * name,
    const gchar * nick, const gchar * blurb, const gchar * def)
{
  g_object_class_install_property (gobject_class, id,
      g_param_spec_string (name, nick, blurb, def,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
}

static void
gst_mobile_one_publish_class_init (GstMobileOnePublishClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mobile_one_publish_debug, "mobileonepublish",
      0, "MobileOne results to files and MQTT");

  gobject_class->set_property = gst_mobile_one_publish_set_property;
  gobject_class->get_property = gst_mobile_one_publish_get_property;
  gobject_class->finalize = gst_mobile_one_publish_finalize;

  /**
   * GstMobileOnePublish:method:
   *
   * Where the documents go: a file (#GstMobileOnePublish:file-path) or an
   * MQTT broker (#GstMobileOnePublish:address). "mqtt" needs the plugin to
   * be built with libmosquitto; without it, starting posts an error.
   */
  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method",
          "Where the documents go: a file or an MQTT broker",
          GST_TYPE_MOBILE_ONE_PUBLISH_METHOD, DEFAULT_METHOD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMobileOnePublish:file-path:
   *
   * The file method's output, created or truncated at start. NULL (the
   * default) or "-" writes to stdout.
   */
  install_string (gobject_class, PROP_FILE_PATH, "file-path", "File path",
      "Output file of method=file (NULL or \"-\" = stdout)", DEFAULT_FILE_PATH);
  /**
   * GstMobileOnePublish:file-format:
   *
   * "json-lines": one document per line. "json": one array of documents;
   * in a regular file the closing bracket is rewritten after every
   * document, so the file is valid JSON at any time, after EOS, an error
   * or a crash alike (to a pipe the bracket comes at stop).
   */
  g_object_class_install_property (gobject_class, PROP_FILE_FORMAT,
      g_param_spec_enum ("file-format", "File format",
          "Layout of the documents in the file: one per line, or one array",
          GST_TYPE_MOBILE_ONE_PUBLISH_FILE_FORMAT, DEFAULT_FILE_FORMAT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMobileOnePublish:address:
   *
   * The MQTT broker, "host:port" ("[v6-address]:port" for IPv6; the port
   * defaults to 1883, 8883 with TLS).
   */
  install_string (gobject_class, PROP_ADDRESS, "address", "Address",
      "MQTT broker as host:port", DEFAULT_ADDRESS);
  /**
   * GstMobileOnePublish:topic:
   *
   * The MQTT topic the documents are published on.
   */
  install_string (gobject_class, PROP_TOPIC, "topic", "Topic",
      "MQTT topic of the documents", DEFAULT_TOPIC);
  /**
   * GstMobileOnePublish:client-id:
   *
   * The MQTT client identifier; NULL lets libmosquitto make a random one
   * (with a clean session).
   */
  install_string (gobject_class, PROP_CLIENT_ID, "client-id", "Client ID",
      "MQTT client identifier (NULL = a random one)", NULL);
  /**
   * GstMobileOnePublish:qos:
   *
   * The MQTT quality of service of the documents: 0 (at most once),
   * 1 (at least once) or 2 (exactly once).
   */
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_uint ("qos", "QoS",
          "MQTT quality of service: 0 at most once, 1 at least once, "
          "2 exactly once", 0, 2, DEFAULT_QOS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMobileOnePublish:username:
   *
   * The MQTT user name; NULL connects without one.
   */
  install_string (gobject_class, PROP_USERNAME, "username", "User name",
      "MQTT user name (NULL = none)", NULL);
  /**
   * GstMobileOnePublish:password:
   *
   * The MQTT password, sent with #GstMobileOnePublish:username.
   */
  install_string (gobject_class, PROP_PASSWORD, "password", "Password",
      "MQTT password, sent with the user name", NULL);
  /**
   * GstMobileOnePublish:tls-ca-file:
   *
   * A PEM file of the certificate authorities that sign the broker's
   * certificate. Setting it turns TLS on.
   */
  install_string (gobject_class, PROP_TLS_CA_FILE, "tls-ca-file",
      "TLS CA file", "PEM certificate authorities of the broker; "
      "setting it turns TLS on", NULL);
  /**
   * GstMobileOnePublish:tls-cert-file:
   *
   * The client's PEM certificate, for brokers that ask for one (with
   * #GstMobileOnePublish:tls-key-file).
   */
  install_string (gobject_class, PROP_TLS_CERT_FILE, "tls-cert-file",
      "TLS certificate file", "Client PEM certificate (needs tls-ca-file)",
      NULL);
  /**
   * GstMobileOnePublish:tls-key-file:
   *
   * The private key of #GstMobileOnePublish:tls-cert-file, PEM.
   */
  install_string (gobject_class, PROP_TLS_KEY_FILE, "tls-key-file",
      "TLS key file", "Client PEM private key (needs tls-cert-file)", NULL);
  /**
   * GstMobileOnePublish:max-queue:
   *
   * The most documents waiting for the broker (while it is unreachable or
   * slow); when full, the oldest is dropped and counted in
   * #GstMobileOnePublish:dropped.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Max queue",
          "Most documents waiting for the MQTT broker; the oldest is "
          "dropped beyond", 1, G_MAXINT, DEFAULT_MAX_QUEUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMobileOnePublish:max-document-size:
   *
   * Documents longer than this (bytes) are dropped with a warning and
   * counted in #GstMobileOnePublish:dropped (a whole mask can be large).
   */
  g_object_class_install_property (gobject_class, PROP_MAX_DOCUMENT_SIZE,
      g_param_spec_uint ("max-document-size", "Max document size",
          "Longer documents (bytes) are dropped with a warning", 64,
          G_MAXINT, DEFAULT_MAX_DOCUMENT_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMobileOnePublish:reconnect-delay-max:
   *
   * After losing the broker the element retries after 1 s, then doubles
   * the wait up to this many seconds.
   */
  g_object_class_install_property (gobject_class, PROP_RECONNECT_DELAY_MAX,
      g_param_spec_uint ("reconnect-delay-max", "Max reconnection delay",
          "Longest wait between reconnection attempts (seconds); the first "
          "is 1 s, doubling", 1, 3600, DEFAULT_RECONNECT_DELAY_MAX,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMobileOnePublish:flush-timeout:
   *
   * At stop, how long (milliseconds) queued documents may take to reach a
   * connected broker (or one whose connection is being set up) before
   * they are dropped. 0 drops them at once.
   */
  g_object_class_install_property (gobject_class, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint ("flush-timeout", "Flush timeout",
          "At stop, how long (ms) the queue may take to reach a connected "
          "broker", 0, 600000, DEFAULT_FLUSH_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMobileOnePublish:source:
   *
   * A string copied into every document's "source" (a camera name, a
   * URI); NULL leaves the field out.
   */
  g_object_class_install_property (gobject_class, PROP_SOURCE,
      g_param_spec_string ("source", "Source",
          "Copied into each document's \"source\" (NULL = left out)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMobileOnePublish:add-empty-results:
   *
   * Also write a document for frames without any result (no region of
   * interest, no mask), like gvametaconvert's add-empty-results.
   */
  g_object_class_install_property (gobject_class, PROP_ADD_EMPTY_RESULTS,
      g_param_spec_boolean ("add-empty-results", "Add empty results",
          "Also write documents for frames without results",
          DEFAULT_ADD_EMPTY_RESULTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMobileOnePublish:add-mask:
   *
   * Add each segmentation mask itself, run-length encoded ("runs": class,
   * count, class, count ..., row by row), not only the class shares.
   */
  g_object_class_install_property (gobject_class, PROP_ADD_MASK,
      g_param_spec_boolean ("add-mask", "Add mask",
          "Add the segmentation mask itself, run-length encoded",
          DEFAULT_ADD_MASK,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMobileOnePublish:add-tensor-data:
   *
   * Add a "tensors" array to each object with every param structure of
   * its region of interest (name and every number, string or boolean
   * field), like gvametaconvert's add-tensor-data.
   */
  g_object_class_install_property (gobject_class, PROP_ADD_TENSOR_DATA,
      g_param_spec_boolean ("add-tensor-data", "Add tensor data",
          "Add every param structure of each region as \"tensors\"",
          DEFAULT_ADD_TENSOR_DATA,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMobileOnePublish:published:
   *
   * Documents written to the file, or handed over to the broker (QoS 0)
   * or acknowledged by it (QoS 1, 2), since start.
   */
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64 ("published", "Published",
          "Documents written or delivered to the broker since start", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstMobileOnePublish:dropped:
   *
   * Documents lost since start: oversized, pushed out of a full queue,
   * lost with a broken connection (QoS 0) or still queued at stop.
   */
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped",
          "Documents dropped since start (oversized, queue full, "
          "connection lost)", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstMobileOnePublish:queued:
   *
   * Documents now waiting for the broker.
   */
  g_object_class_install_property (gobject_class, PROP_QUEUED,
      g_param_spec_uint ("queued", "Queued",
          "Documents now waiting for the MQTT broker", 0, G_MAXUINT, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MobileOne results publisher", "Filter/Metadata",
      "Writes the results on each frame as JSON to a file or an MQTT broker",
      MOBILEONE_AUTHOR);
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, MOBILEONE_DOC_URI "#mobileonepublish");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mobile_one_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobile_one_publish_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_mobile_one_publish_set_caps);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_mobile_one_publish_transform_ip);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (GST_TYPE_MOBILE_ONE_PUBLISH_METHOD, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MOBILE_ONE_PUBLISH_FILE_FORMAT, 0);
}

static void
gst_mobile_one_publish_init (GstMobileOnePublish * self)
{
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);

  self->method = DEFAULT_METHOD;
  self->file_path = g_strdup (DEFAULT_FILE_PATH);
  self->file_format = DEFAULT_FILE_FORMAT;
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->topic = g_strdup (DEFAULT_TOPIC);
  self->qos = DEFAULT_QOS;
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->max_document_size = DEFAULT_MAX_DOCUMENT_SIZE;
  self->reconnect_delay_max = DEFAULT_RECONNECT_DELAY_MAX;
  self->flush_timeout = DEFAULT_FLUSH_TIMEOUT;
  self->add_empty_results = DEFAULT_ADD_EMPTY_RESULTS;
  self->add_mask = DEFAULT_ADD_MASK;
  self->add_tensor_data = DEFAULT_ADD_TENSOR_DATA;

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
#ifdef HAVE_MOSQUITTO
  g_queue_init (&self->queue);
#endif
}

static void
gst_mobile_one_publish_finalize (GObject * object)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (object);

  g_free (self->file_path);
  g_free (self->address);
  g_free (self->topic);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password);
  g_free (self->tls_ca_file);
  g_free (self->tls_cert_file);
  g_free (self->tls_key_file);
  g_free (self->source);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static gchar **
string_field (GstMobileOnePublish * self, guint prop_id)
{
  switch (prop_id) {
    case PROP_FILE_PATH:
      return &self->file_path;
    case PROP_ADDRESS:
      return &self->address;
    case PROP_TOPIC:
      return &self->topic;
    case PROP_CLIENT_ID:
      return &self->client_id;
    case PROP_USERNAME:
      return &self->username;
    case PROP_PASSWORD:
      return &self->password;
    case PROP_TLS_CA_FILE:
      return &self->tls_ca_file;
    case PROP_TLS_CERT_FILE:
      return &self->tls_cert_file;
    case PROP_TLS_KEY_FILE:
      return &self->tls_key_file;
    case PROP_SOURCE:
      return &self->source;
    default:
      return NULL;
  }
}

static void
gst_mobile_one_publish_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (object);
  gchar **str;

  GST_OBJECT_LOCK (self);
  if ((str = string_field (self, prop_id))) {
    g_free (*str);
    *str = g_value_dup_string (value);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_METHOD:
      self->method = g_value_get_enum (value);
      break;
    case PROP_FILE_FORMAT:
      self->file_format = g_value_get_enum (value);
      break;
    case PROP_QOS:
      self->qos = g_value_get_uint (value);
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    case PROP_MAX_DOCUMENT_SIZE:
      self->max_document_size = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      self->reconnect_delay_max = g_value_get_uint (value);
      break;
    case PROP_FLUSH_TIMEOUT:
      self->flush_timeout = g_value_get_uint (value);
      break;
    case PROP_ADD_EMPTY_RESULTS:
      self->add_empty_results = g_value_get_boolean (value);
      break;
    case PROP_ADD_MASK:
      self->add_mask = g_value_get_boolean (value);
      break;
    case PROP_ADD_TENSOR_DATA:
      self->add_tensor_data = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobile_one_publish_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (object);
  gchar **str;

  switch (prop_id) {
    case PROP_PUBLISHED:
      g_mutex_lock (&self->lock);
      g_value_set_uint64 (value, self->published);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_DROPPED:
      g_mutex_lock (&self->lock);
      g_value_set_uint64 (value, self->dropped);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_QUEUED:
      g_mutex_lock (&self->lock);
#ifdef HAVE_MOSQUITTO
      g_value_set_uint (value, self->queue.length);
#else
      g_value_set_uint (value, 0);
#endif
      g_mutex_unlock (&self->lock);
      return;
    default:
      break;
  }

  GST_OBJECT_LOCK (self);
  if ((str = string_field (self, prop_id))) {
    g_value_set_string (value, *str);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum (value, self->method);
      break;
    case PROP_FILE_FORMAT:
      g_value_set_enum (value, self->file_format);
      break;
    case PROP_QOS:
      g_value_set_uint (value, self->qos);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    case PROP_MAX_DOCUMENT_SIZE:
      g_value_set_uint (value, self->max_document_size);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      g_value_set_uint (value, self->reconnect_delay_max);
      break;
    case PROP_FLUSH_TIMEOUT:
      g_value_set_uint (value, self->flush_timeout);
      break;
    case PROP_ADD_EMPTY_RESULTS:
      g_value_set_boolean (value, self->add_empty_results);
      break;
    case PROP_ADD_MASK:
      g_value_set_boolean (value, self->add_mask);
      break;
    case PROP_ADD_TENSOR_DATA:
      g_value_set_boolean (value, self->add_tensor_data);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* --- the document --- */

static void
add_value (JsonBuilder * b, const GValue * v)
{
  switch (G_TYPE_FUNDAMENTAL (G_VALUE_TYPE (v))) {
    case G_TYPE_INT:
      json_builder_add_int_value (b, g_value_get_int (v));
      break;
    case G_TYPE_UINT:
      json_builder_add_int_value (b, g_value_get_uint (v));
      break;
    case G_TYPE_INT64:
      json_builder_add_int_value (b, g_value_get_int64 (v));
      break;
    case G_TYPE_UINT64:
      json_builder_add_int_value (b, (gint64) g_value_get_uint64 (v));
      break;
    case G_TYPE_FLOAT:
      json_builder_add_double_value (b, g_value_get_float (v));
      break;
    case G_TYPE_DOUBLE:
      json_builder_add_double_value (b, g_value_get_double (v));
      break;
    case G_TYPE_BOOLEAN:
      json_builder_add_boolean_value (b, g_value_get_boolean (v));
      break;
    case G_TYPE_STRING:
      json_builder_add_string_value (b, g_value_get_string (v));
      break;
    default:
      json_builder_add_null_value (b);
      break;
  }
}

static gboolean
value_is_plain (const GValue * v)
{
  switch (G_TYPE_FUNDAMENTAL (G_VALUE_TYPE (v))) {
    case G_TYPE_INT:
    case G_TYPE_UINT:
    case G_TYPE_INT64:
    case G_TYPE_UINT64:
    case G_TYPE_FLOAT:
    case G_TYPE_DOUBLE:
    case G_TYPE_BOOLEAN:
      return TRUE;
    case G_TYPE_STRING:
      return g_value_get_string (v) != NULL;
    default:
      return FALSE;
  }
}

static gboolean
add_field (GQuark field, const GValue * value, gpointer user_data)
{
  JsonBuilder *b = user_data;

  if (value_is_plain (value)) {
    json_builder_set_member_name (b, g_quark_to_string (field));
    add_value (b, value);
  }
  return TRUE;
}

/* "detection": the box and the class, DL Streamer's layout. */
static void
add_detection (JsonBuilder * b, const GstStructure * s, const gchar * roi_type)
{
  static const gchar *const corners[] = { "x_min", "y_min", "x_max", "y_max" };
  const gchar *label = gst_structure_get_string (s, "label");
  gdouble d;
  gint i;
  gboolean repeated;

  json_builder_set_member_name (b, "detection");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bounding_box");
  json_builder_begin_object (b);
  for (guint k = 0; k < G_N_ELEMENTS (corners); k++) {
    if (gst_structure_get_double (s, corners[k], &d)) {
      json_builder_set_member_name (b, corners[k]);
      json_builder_add_double_value (b, d);
    }
  }
  json_builder_end_object (b);
  if (gst_structure_get_double (s, "confidence", &d)) {
    json_builder_set_member_name (b, "confidence");
    json_builder_add_double_value (b, d);
  }
  if (label || roi_type) {
    json_builder_set_member_name (b, "label");
    json_builder_add_string_value (b, label ? label : roi_type);
  }
  if (gst_structure_get_int (s, "label_id", &i)) {
    json_builder_set_member_name (b, "label_id");
    json_builder_add_int_value (b, i);
  }
  if (gst_structure_get_boolean (s, "repeated", &repeated)) {
    json_builder_set_member_name (b, "repeated");
    json_builder_add_boolean_value (b, repeated);
  }
  json_builder_end_object (b);
}

static void
add_tensor (JsonBuilder * b, const GstStructure * s)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, gst_structure_get_name (s));
  gst_structure_foreach (s, add_field, b);
  json_builder_end_object (b);
}

/* An object's box in pixels: "x", "y", "w", "h". */
static void
add_box (JsonBuilder * b, gint64 x, gint64 y, gint64 w, gint64 h)
{
  json_builder_set_member_name (b, "x");
  json_builder_add_int_value (b, x);
  json_builder_set_member_name (b, "y");
  json_builder_add_int_value (b, y);
  json_builder_set_member_name (b, "w");
  json_builder_add_int_value (b, w);
  json_builder_set_member_name (b, "h");
  json_builder_add_int_value (b, h);
}

static void
add_object (GstMobileOnePublish * self, JsonBuilder * b,
    const GstVideoRegionOfInterestMeta * roi, gboolean tensors)
{
  const gchar *roi_type = roi->roi_type ? g_quark_to_string (roi->roi_type)
      : NULL;
  GstMobileOneRoi r;
  const GstStructure *tracking;
  GList *l;

  gst_mobile_one_roi_read ((GstVideoRegionOfInterestMeta *) roi, &r);
  tracking = r.tracking;
  json_builder_begin_object (b);
  add_box (b, roi->x, roi->y, roi->w, roi->h);

  /* Detectors number their regions per frame; only a tracker's id lasts. */
  if (tracking) {
    json_builder_set_member_name (b, "id");
    json_builder_add_int_value (b, r.track_id >= 0 ? r.track_id : roi->id);
  }
  if (roi_type) {
    json_builder_set_member_name (b, "roi_type");
    json_builder_add_string_value (b, roi_type);
  }

  for (l = roi->params; l; l = l->next) {
    const GstStructure *s = l->data;
    const gchar *name = gst_structure_get_name (s);

    if (g_str_equal (name, "detection")) {
      add_detection (b, s, roi_type);
    } else if (s != tracking && gst_structure_has_field (s, "label")) {
      /* A classification result, under its structure's name (or its
       * "attribute_name") like gvametaconvert. */
      const gchar *attr = gst_structure_get_string (s, "attribute_name");

      json_builder_set_member_name (b, attr ? attr : name);
      json_builder_begin_object (b);
      gst_structure_foreach (s, add_field, b);
      json_builder_end_object (b);
    }
  }

  if (tensors) {
    json_builder_set_member_name (b, "tensors");
    json_builder_begin_array (b);
    for (l = roi->params; l; l = l->next)
      add_tensor (b, l->data);
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
}

/* An object from an ODMtd (a buffer without region metas, GStreamer >=
 * 1.24): the members add_object() writes for the same region. */
static void
add_region (GstMobileOnePublish * self, JsonBuilder * b,
    const GstMobileOneRegion * r, gboolean tensors)
{
  const gchar *label = r->label ? g_quark_to_string (r->label) : NULL;

  json_builder_begin_object (b);
  add_box (b, r->x, r->y, r->w, r->h);
  if (r->has_track) {
    json_builder_set_member_name (b, "id");
    json_builder_add_int_value (b, (gint64) r->track_id);
  }
  if (label) {
    json_builder_set_member_name (b, "roi_type");
    json_builder_add_string_value (b, label);
  }

  json_builder_set_member_name (b, "detection");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bounding_box");
  json_builder_begin_object (b);
  if (self->width > 0 && self->height > 0) {
    json_builder_set_member_name (b, "x_min");
    json_builder_add_double_value (b, (gdouble) r->x / self->width);
    json_builder_set_member_name (b, "y_min");
    json_builder_add_double_value (b, (gdouble) r->y / self->height);
    json_builder_set_member_name (b, "x_max");
    json_builder_add_double_value (b, (gdouble) (r->x + r->w) / self->width);
    json_builder_set_member_name (b, "y_max");
    json_builder_add_double_value (b,
        (gdouble) (r->y + r->h) / self->height);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "confidence");
  json_builder_add_double_value (b, r->confidence);
  if (label) {
    json_builder_set_member_name (b, "label");
    json_builder_add_string_value (b, label);
  }
  json_builder_end_object (b);

  if (r->class_label) {
    json_builder_set_member_name (b, "classification");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "label");
    json_builder_add_string_value (b, g_quark_to_string (r->class_label));
    json_builder_set_member_name (b, "confidence");
    json_builder_add_double_value (b, r->class_confidence);
    json_builder_end_object (b);
  }
  /* Mtds carry no tensors' structures. */
  if (tensors) {
    json_builder_set_member_name (b, "tensors");
    json_builder_begin_array (b);
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
}

static void
add_segmentation (GstMobileOnePublish * self, JsonBuilder * b,
    const GstMobileOneMaskMeta * meta, gboolean add_mask)
{
  guint64 *counts = self->class_counts;
  guint64 total = (guint64) meta->width * meta->height;
  GstMapInfo map;

  if (!gst_buffer_map (meta->mask, &map, GST_MAP_READ)) {
    GST_WARNING_OBJECT (self, "cannot map the mask");
    return;
  }
  if (map.size < (gsize) meta->stride * (meta->height - 1) + meta->width) {
    GST_WARNING_OBJECT (self, "mask of %" G_GSIZE_FORMAT " bytes is too "
        "small for %ux%u (stride %u)", map.size, meta->width, meta->height,
        meta->stride);
    gst_buffer_unmap (meta->mask, &map);
    return;
  }

  json_builder_set_member_name (b, "segmentation");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "x");
  json_builder_add_int_value (b, meta->x);
  json_builder_set_member_name (b, "y");
  json_builder_add_int_value (b, meta->y);
  json_builder_set_member_name (b, "w");
  json_builder_add_int_value (b, meta->w);
  json_builder_set_member_name (b, "h");
  json_builder_add_int_value (b, meta->h);

  memset (counts, 0, sizeof (self->class_counts));
  if (add_mask) {
    json_builder_set_member_name (b, "mask");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "width");
    json_builder_add_int_value (b, meta->width);
    json_builder_set_member_name (b, "height");
    json_builder_add_int_value (b, meta->height);
    json_builder_set_member_name (b, "encoding");
    json_builder_add_string_value (b, "class-runs");
    json_builder_set_member_name (b, "runs");
    json_builder_begin_array (b);
  }
  {
    /* Runs continue from one row to the next: the map is read as one
     * row-major sequence of width x height class ids. */
    guint cur = 256;
    guint64 run = 0;

    for (guint y = 0; y < meta->height; y++) {
      const guint8 *row = map.data + (gsize) y * meta->stride;

      for (guint x = 0; x < meta->width; x++) {
        counts[row[x]]++;
        if (!add_mask)
          continue;
        if (row[x] == cur) {
          run++;
        } else {
          if (run) {
            json_builder_add_int_value (b, cur);
            json_builder_add_int_value (b, (gint64) run);
          }
          cur = row[x];
          run = 1;
        }
      }
    }
    if (add_mask) {
      if (run) {
        json_builder_add_int_value (b, cur);
        json_builder_add_int_value (b, (gint64) run);
      }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  }
  gst_buffer_unmap (meta->mask, &map);

  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (guint c = 0; c < 256; c++) {
    const gchar *label;

    if (!counts[c])
      continue;
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "class_id");
    json_builder_add_int_value (b, c);
    label = gst_mobile_one_mask_meta_get_label (meta, c);
    if (label) {
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, label);
    }
    json_builder_set_member_name (b, "fraction");
    json_builder_add_double_value (b, (gdouble) counts[c] / total);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static const GstMobileOneMaskMeta *
find_mask_meta (GstBuffer * buf)
{
  GType api = g_type_from_name (GST_MOBILE_ONE_MASK_META_API_NAME);

  if (!api)
    return NULL;
  return (const GstMobileOneMaskMeta *) gst_buffer_get_meta (buf, api);
}

/* Builds the document of @buf into self->doc; FALSE when the frame has no
 * result and empty results are not wanted. */
static gboolean
make_document (GstMobileOnePublish * self, GstBuffer * buf)
{
  JsonBuilder *b = self->builder;
  const GstMobileOneMaskMeta *mask = find_mask_meta (buf);
  GstMobileOneMaskMeta seg_mask;
  gboolean empty, add_mask, tensors, regions;
  gchar *source;
  gpointer state = NULL;
  GstMeta *meta;
  JsonNode *root;
  guint n_rois = gst_buffer_get_n_meta (buf,
      GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
  guint n_classes = gst_buffer_get_n_mobile_one_classifications (buf);

  /* Our own metas first; GstAnalytics (an upstream element's) otherwise. */
  if (mask == NULL && gst_mobile_one_analytics_get_mask (buf, &seg_mask))
    mask = &seg_mask;
  regions = n_rois == 0 && gst_mobile_one_analytics_has_regions (buf);
  empty = mask == NULL && n_rois == 0 && !regions && n_classes == 0;

  GST_OBJECT_LOCK (self);
  if (empty && !self->add_empty_results) {
    GST_OBJECT_UNLOCK (self);
    return FALSE;
  }
  source = g_strdup (self->source);
  add_mask = self->add_mask;
  tensors = self->add_tensor_data;
  GST_OBJECT_UNLOCK (self);

  json_builder_reset (b);
  json_builder_begin_object (b);
  if (GST_BUFFER_PTS_IS_VALID (buf)) {
    json_builder_set_member_name (b, "timestamp");
    json_builder_add_int_value (b, (gint64) GST_BUFFER_PTS (buf));
  }
  if (self->width > 0) {
    json_builder_set_member_name (b, "resolution");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "width");
    json_builder_add_int_value (b, self->width);
    json_builder_set_member_name (b, "height");
    json_builder_add_int_value (b, self->height);
    json_builder_end_object (b);
  }
  if (source) {
    json_builder_set_member_name (b, "source");
    json_builder_add_string_value (b, source);
    g_free (source);
  }
  json_builder_set_member_name (b, "objects");
  json_builder_begin_array (b);
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    add_object (self, b, (GstVideoRegionOfInterestMeta *) meta, tensors);
  if (regions) {
    GstMobileOneRegion r;

    state = NULL;
    while (gst_mobile_one_analytics_next_region (buf, &state, &r))
      add_region (self, b, &r, tensors);
  }
  json_builder_end_array (b);
  /* Whole-frame classifications, under their names. */
  if (n_classes > 0) {
    json_builder_set_member_name (b, "classifications");
    json_builder_begin_object (b);
    for (guint i = 0; i < n_classes; i++) {
      const GstStructure *s = gst_buffer_nth_mobile_one_classification (buf,
          i);

      json_builder_set_member_name (b, gst_structure_get_name (s));
      json_builder_begin_object (b);
      gst_structure_foreach (s, add_field, b);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  }
  if (mask)
    add_segmentation (self, b, mask, add_mask);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (self->generator, root);
  json_node_unref (root);
  g_string_truncate (self->doc, 0);
  json_generator_to_gstring (self->generator, self->doc);
  return TRUE;
}

/* --- method=file --- */

static gboolean
file_open (GstMobileOnePublish * self)
{
  gchar *path;
  struct stat st;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->file_path);
  GST_OBJECT_UNLOCK (self);

  if (!path || g_str_equal (path, "-")) {
    self->file = stdout;
    self->own_file = FALSE;
  } else {
    self->file = fopen (path, "w");
    if (!self->file)
      goto open_failed;
    self->own_file = TRUE;
  }
  self->seekable = fstat (fileno (self->file), &st) == 0 &&
      S_ISREG (st.st_mode) && ftello (self->file) >= 0;
  self->array_open = FALSE;
  self->n_docs = 0;
  g_free (path);
  return TRUE;

  /* ERRORS */
open_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not open the results file \"%s\" for writing.", path),
        ("file-path \"%s\": %s", path, g_strerror (errno)));
    g_free (path);
    return FALSE;
  }
}

static gboolean
file_write (GstMobileOnePublish * self, const gchar * data, gsize len)
{
  if (len && fwrite (data, 1, len, self->file) != len)
    return FALSE;
  return TRUE;
}

/* Writes self->doc; FALSE (errno set) when the file refuses it. */
static gboolean
file_put (GstMobileOnePublish * self, GstMobileOnePublishFileFormat format)
{
  if (format == GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON_LINES) {
    if (!file_write (self, self->doc->str, self->doc->len) ||
        !file_write (self, "\n", 1))
      return FALSE;
  } else {
    if (!self->array_open) {
      if (!file_write (self, "[\n", 2))
        return FALSE;
      self->array_open = TRUE;
    } else if (!file_write (self, ",\n", 2)) {
      return FALSE;
    }
    if (!file_write (self, self->doc->str, self->doc->len))
      return FALSE;
    if (self->seekable) {
      if (!file_write (self, JSON_TAIL, strlen (JSON_TAIL)))
        return FALSE;
      if (fflush (self->file) != 0)
        return FALSE;
      if (fseeko (self->file, -(off_t) strlen (JSON_TAIL), SEEK_CUR) != 0)
        return FALSE;
      return TRUE;
    }
  }
  return fflush (self->file) == 0;
}

static gboolean
file_close (GstMobileOnePublish * self, GstMobileOnePublishFileFormat format)
{
  gboolean ok = TRUE;

  if (!self->file)
    return TRUE;
  if (format == GST_MOBILE_ONE_PUBLISH_FILE_FORMAT_JSON) {
    if (!self->array_open)
      ok = file_write (self, "[]\n", 3);
    else if (!self->seekable)
      ok = file_write (self, JSON_TAIL, strlen (JSON_TAIL));
  }
  if (fflush (self->file) != 0)
    ok = FALSE;
  if (self->own_file && fclose (self->file) != 0)
    ok = FALSE;
  self->file = NULL;
  return ok;
}

/* --- method=mqtt --- */

#ifdef HAVE_MOSQUITTO

static gpointer
mosquitto_init_once (gpointer data)
{
  mosquitto_lib_init ();
  return NULL;
}

static void
on_connect (struct mosquitto *mosq, void *user_data, int rc)
{
  GstMobileOnePublish *self = user_data;
  guint64 dropped;

  if (rc != 0) {
    gboolean warn;

    /* Once per outage: the refusal repeats at every retry. */
    g_mutex_lock (&self->lock);
    self->connecting = FALSE;
    g_cond_broadcast (&self->cond);
    warn = !self->warned_down;
    self->warned_down = TRUE;
    g_mutex_unlock (&self->lock);
    if (warn)
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
          ("The MQTT broker refused the connection: %s.",
              mosquitto_connack_string (rc)), ("CONNACK %d; retrying", rc));
    else
      GST_WARNING_OBJECT (self, "connection refused: %s",
          mosquitto_connack_string (rc));
    return;
  }
  g_mutex_lock (&self->lock);
  self->connected = TRUE;
  self->connecting = FALSE;
  self->warned_down = FALSE;
  dropped = self->dropped;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "connected to the MQTT broker (%" G_GUINT64_FORMAT
      " documents dropped so far)", dropped);
}

static void
on_disconnect (struct mosquitto *mosq, void *user_data, int rc)
{
  GstMobileOnePublish *self = user_data;
  gboolean warn = FALSE;
  guint lost = 0;

  g_mutex_lock (&self->lock);
  self->connected = FALSE;
  self->connecting = FALSE;
  /* QoS 0 documents libmosquitto had not written yet are gone; QoS 1 and 2
   * ones it keeps and sends again after reconnecting. */
  if (self->mqtt_qos == 0) {
    lost = self->in_flight;
    self->dropped += lost;
    self->in_flight = 0;
  }
  if (!self->stopping && !self->warned_down) {
    self->warned_down = TRUE;
    warn = TRUE;
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (warn)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Lost the MQTT broker; documents are queued and the connection "
            "retried."), ("%s (%d); %u unsent documents lost",
            mosquitto_strerror (rc), rc, lost));
}

static void
on_publish (struct mosquitto *mosq, void *user_data, int mid)
{
  GstMobileOnePublish *self = user_data;

  g_mutex_lock (&self->lock);
  if (self->in_flight > 0)
    self->in_flight--;
  self->published++;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
on_log (struct mosquitto *mosq, void *user_data, int level, const char *str)
{
  GST_LOG_OBJECT (user_data, "libmosquitto: %s", str);
}

/* The only thread that calls mosquitto_publish(): it never holds the lock
 * while in libmosquitto, whose callbacks take it. */
static gpointer
publisher_thread (gpointer data)
{
  GstMobileOnePublish *self = data;

  g_mutex_lock (&self->lock);
  while (!self->stopping) {
    GBytes *doc;
    gconstpointer bytes;
    gsize size;
    int rc;

    if (!self->loop_started) {
      /* libmosquitto's thread retries only once it has had a socket: the
       * first connection is retried here, backing off the same way. */
      gint64 until = g_get_monotonic_time () +
          (gint64) self->retry_delay * G_TIME_SPAN_SECOND;

      while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock,
              until));
      if (self->stopping)
        break;
      self->connecting = TRUE;
      g_mutex_unlock (&self->lock);
      rc = mosquitto_reconnect_async (self->mosq);
      if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_loop_start (self->mosq);
      g_mutex_lock (&self->lock);
      if (rc == MOSQ_ERR_SUCCESS) {
        self->loop_started = TRUE;
      } else {
        self->connecting = FALSE;
        GST_DEBUG_OBJECT (self, "connection attempt failed (%s), next in "
            "%u s", mosquitto_strerror (rc), self->retry_delay);
        self->retry_delay = MIN (self->retry_delay * 2,
            self->retry_delay_max);
      }
      continue;
    }

    if (!self->connected || self->in_flight >= MQTT_WINDOW ||
        g_queue_is_empty (&self->queue)) {
      g_cond_wait (&self->cond, &self->lock);
      continue;
    }
    doc = g_queue_pop_head (&self->queue);
    self->in_flight++;
    g_mutex_unlock (&self->lock);

    bytes = g_bytes_get_data (doc, &size);
    rc = mosquitto_publish (self->mosq, NULL, self->mqtt_topic, (int) size,
        bytes, self->mqtt_qos, false);

    g_mutex_lock (&self->lock);
    if (rc == MOSQ_ERR_SUCCESS) {
      g_bytes_unref (doc);
    } else if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
      /* Disconnected meanwhile: back to the front, for the next connection. */
      self->in_flight--;
      self->connected = FALSE;
      g_queue_push_head (&self->queue, doc);
    } else {
      self->in_flight--;
      self->dropped++;
      g_bytes_unref (doc);
      GST_WARNING_OBJECT (self, "mosquitto_publish: %s; document dropped",
          mosquitto_strerror (rc));
    }
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

static gboolean
parse_address (const gchar * address, gchar ** host, gint * port,
    gint default_port)
{
  const gchar *colon;
  gchar *end;
  gint64 p;

  *port = default_port;
  if (!address || !*address)
    return FALSE;
  if (address[0] == '[') {
    const gchar *close = strchr (address, ']');

    if (!close || close == address + 1)
      return FALSE;
    *host = g_strndup (address + 1, close - address - 1);
    colon = close[1] == ':' ? close + 1 : NULL;
    if (!colon && close[1] != '\0')
      goto bad;
  } else {
    colon = strrchr (address, ':');
    if (colon == address)
      return FALSE;
    *host = colon ? g_strndup (address, colon - address) : g_strdup (address);
  }
  if (colon) {
    p = g_ascii_strtoll (colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p < 1 || p > 65535)
      goto bad;
    *port = (gint) p;
  }
  return TRUE;

bad:
  g_clear_pointer (host, g_free);
  return FALSE;
}

static gboolean
mqtt_start (GstMobileOnePublish * self)
{
  static GOnce once = G_ONCE_INIT;
  gchar *address, *client_id, *username, *password, *ca, *cert, *key;
  gchar *host = NULL;
  guint delay_max;
  gint port, rc;

  g_once (&once, mosquitto_init_once, NULL);

  GST_OBJECT_LOCK (self);
  address = g_strdup (self->address);
  client_id = g_strdup (self->client_id);
  username = g_strdup (self->username);
  password = g_strdup (self->password);
  ca = g_strdup (self->tls_ca_file);
  cert = g_strdup (self->tls_cert_file);
  key = g_strdup (self->tls_key_file);
  self->mqtt_topic = g_strdup (self->topic);
  self->mqtt_qos = (gint) self->qos;
  self->queue_max = self->max_queue;
  delay_max = self->reconnect_delay_max;
  GST_OBJECT_UNLOCK (self);

  if (!parse_address (address, &host, &port, ca ? 8883 : 1883))
    goto bad_address;
  if (!self->mqtt_topic || !*self->mqtt_topic ||
      mosquitto_pub_topic_check (self->mqtt_topic) != MOSQ_ERR_SUCCESS)
    goto bad_topic;

  self->mosq = mosquitto_new (client_id, true, self);
  if (!self->mosq)
    goto no_client;
  mosquitto_connect_callback_set (self->mosq, on_connect);
  mosquitto_disconnect_callback_set (self->mosq, on_disconnect);
  mosquitto_publish_callback_set (self->mosq, on_publish);
  mosquitto_log_callback_set (self->mosq, on_log);
  mosquitto_reconnect_delay_set (self->mosq, MQTT_RECONNECT_DELAY,
      MAX (delay_max, MQTT_RECONNECT_DELAY), true);
  if (username && (rc = mosquitto_username_pw_set (self->mosq, username,
              password)) != MOSQ_ERR_SUCCESS)
    goto setup_failed;
  if (ca && (rc = mosquitto_tls_set (self->mosq, ca, NULL, cert, key,
              NULL)) != MOSQ_ERR_SUCCESS)
    goto tls_failed;

  self->connected = FALSE;
  self->connecting = FALSE;
  self->stopping = FALSE;
  self->warned_down = FALSE;
  self->in_flight = 0;

  /* A broker that is down now is no error: the network thread retries. */
  rc = mosquitto_connect_async (self->mosq, host, port, MQTT_KEEPALIVE);
  if (rc != MOSQ_ERR_SUCCESS) {
    self->warned_down = TRUE;
    GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
        ("Could not connect to the MQTT broker at %s; documents are queued "
            "and the connection retried.", address),
        ("%s (%d)", rc == MOSQ_ERR_ERRNO ? g_strerror (errno) :
            mosquitto_strerror (rc), rc));
  }
  self->loop_started = FALSE;
  self->retry_delay = MQTT_RECONNECT_DELAY;
  self->retry_delay_max = MAX (delay_max, MQTT_RECONNECT_DELAY);
  if (rc == MOSQ_ERR_SUCCESS) {
    /* Before the network thread runs: its CONNACK callback clears it. */
    self->connecting = TRUE;
    rc = mosquitto_loop_start (self->mosq);
    if (rc != MOSQ_ERR_SUCCESS)
      goto setup_failed;
    self->loop_started = TRUE;
  }
  self->publisher = g_thread_new ("mobileonepublish", publisher_thread, self);

  GST_INFO_OBJECT (self, "publishing to %s port %d topic %s QoS %d", host,
      port, self->mqtt_topic, self->mqtt_qos);
  g_free (host);
  g_free (address);
  g_free (client_id);
  g_free (username);
  g_free (password);
  g_free (ca);
  g_free (cert);
  g_free (key);
  return TRUE;

  /* ERRORS */
bad_address:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid MQTT broker address \"%s\".", address ? address : ""),
      ("address must be host:port, [ipv6]:port or host"));
  goto fail;
bad_topic:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid MQTT topic \"%s\".", self->mqtt_topic ? self->mqtt_topic :
          ""), ("a publishing topic must be non-empty without + or #"));
  goto fail;
no_client:
  GST_ELEMENT_ERROR (self, LIBRARY, INIT,
      ("Could not create the MQTT client."), ("mosquitto_new: %s",
          g_strerror (errno)));
  goto fail;
tls_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid TLS settings for the MQTT broker."),
      ("mosquitto_tls_set (tls-ca-file \"%s\", tls-cert-file \"%s\", "
          "tls-key-file \"%s\"): %s", ca, cert ? cert : "", key ? key : "",
          mosquitto_strerror (rc)));
  goto fail;
setup_failed:
  GST_ELEMENT_ERROR (self, LIBRARY, INIT,
      ("Could not set up the MQTT client."), ("%s", mosquitto_strerror (rc)));
  goto fail;
fail:
  if (self->mosq) {
    mosquitto_destroy (self->mosq);
    self->mosq = NULL;
  }
  g_clear_pointer (&self->mqtt_topic, g_free);
  g_free (host);
  g_free (address);
  g_free (client_id);
  g_free (username);
  g_free (password);
  g_free (ca);
  g_free (cert);
  g_free (key);
  return FALSE;
}

static void
mqtt_stop (GstMobileOnePublish * self)
{
  guint flush_ms;
  gint64 deadline;
  guint left;

  if (!self->mosq)
    return;

  GST_OBJECT_LOCK (self);
  flush_ms = self->flush_timeout;
  GST_OBJECT_UNLOCK (self);

  /* Give a connected broker, or one whose CONNACK is still on its way
   * (a short stream can end before it arrives), a bounded time to take
   * what is queued. */
  deadline = g_get_monotonic_time () + (gint64) flush_ms * 1000;
  g_mutex_lock (&self->lock);
  while ((self->connected || self->connecting)
      && (!g_queue_is_empty (&self->queue) || self->in_flight > 0))
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      break;
  self->stopping = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (self->publisher);
  self->publisher = NULL;

  mosquitto_disconnect (self->mosq);
  if (self->loop_started)
    mosquitto_loop_stop (self->mosq, false);
  self->loop_started = FALSE;
  mosquitto_destroy (self->mosq);
  self->mosq = NULL;

  g_mutex_lock (&self->lock);
  left = self->queue.length + self->in_flight;
  self->dropped += left;
  self->in_flight = 0;
  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
  GST_INFO_OBJECT (self, "stopped: %" G_GUINT64_FORMAT " published, %"
      G_GUINT64_FORMAT " dropped (%u unsent at stop)", self->published,
      self->dropped, left);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->mqtt_topic, g_free);
}

/* Appends self->doc to the queue; never waits for the network. */
static void
mqtt_put (GstMobileOnePublish * self)
{
  GBytes *doc = g_bytes_new (self->doc->str, self->doc->len);
  gboolean warn = FALSE;
  guint64 dropped = 0;

  g_mutex_lock (&self->lock);
  if (self->queue.length >= self->queue_max) {
    g_bytes_unref (g_queue_pop_head (&self->queue));
    dropped = ++self->dropped;
    if (!self->warned_down) {
      self->warned_down = TRUE;
      warn = TRUE;
    }
  }
  g_queue_push_tail (&self->queue, doc);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (dropped)
    GST_WARNING_OBJECT (self, "MQTT queue full (%u): dropped the oldest "
        "document, %" G_GUINT64_FORMAT " dropped so far", self->queue_max,
        dropped);
  if (warn)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("The MQTT broker is not taking documents; dropping the oldest."),
        ("queue full (max-queue %u)", self->queue_max));
}

#endif /* HAVE_MOSQUITTO */

/* --- GstBaseTransform --- */

static gboolean
gst_mobile_one_publish_start (GstBaseTransform * trans)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (trans);
  GstMobileOnePublishMethod method;

  GST_OBJECT_LOCK (self);
  method = self->method;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  self->published = 0;
  self->dropped = 0;
  g_mutex_unlock (&self->lock);
  self->width = self->height = 0;
  self->warned_size = FALSE;
  self->builder = json_builder_new ();
  self->generator = json_generator_new ();
  self->doc = g_string_sized_new (4096);

  if (method == GST_MOBILE_ONE_PUBLISH_METHOD_FILE)
    return file_open (self);
#ifdef HAVE_MOSQUITTO
  return mqtt_start (self);
#else
  GST_ELEMENT_ERROR (self, LIBRARY, INIT,
      ("method=mqtt is not available: the plugin was built without "
          "libmosquitto."), ("rebuild with libmosquitto-dev installed"));
  return FALSE;
#endif
}

static gboolean
gst_mobile_one_publish_stop (GstBaseTransform * trans)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (trans);
  GstMobileOnePublishFileFormat format;
  gboolean ok = TRUE;

  GST_OBJECT_LOCK (self);
  format = self->file_format;
  GST_OBJECT_UNLOCK (self);

  if (self->file && !file_close (self, format)) {
    GST_ELEMENT_WARNING (self, RESOURCE, CLOSE,
        ("Could not finish the results file."), ("%s", g_strerror (errno)));
    ok = FALSE;
  }
#ifdef HAVE_MOSQUITTO
  mqtt_stop (self);
#endif
  g_clear_object (&self->builder);
  g_clear_object (&self->generator);
  if (self->doc) {
    g_string_free (self->doc, TRUE);
    self->doc = NULL;
  }
  return ok;
}

static gboolean
gst_mobile_one_publish_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);

  self->width = self->height = 0;
  if (!gst_structure_get_int (s, "width", &self->width) ||
      !gst_structure_get_int (s, "height", &self->height))
    self->width = self->height = 0;
  return TRUE;
}

static GstFlowReturn
gst_mobile_one_publish_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobileOnePublish *self = GST_MOBILE_ONE_PUBLISH (trans);
  GstMobileOnePublishFileFormat format;
  guint max_size;

  if (!make_document (self, buf))
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  max_size = self->max_document_size;
  format = self->file_format;
  GST_OBJECT_UNLOCK (self);

  if (self->doc->len > max_size) {
    g_mutex_lock (&self->lock);
    self->dropped++;
    g_mutex_unlock (&self->lock);
    GST_WARNING_OBJECT (self, "document of %" G_GSIZE_FORMAT " bytes over "
        "max-document-size %u dropped", self->doc->len, max_size);
    if (!self->warned_size) {
      self->warned_size = TRUE;
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("A results document is larger than max-document-size; it is "
              "dropped."), ("%" G_GSIZE_FORMAT " bytes > %u at pts %"
              GST_TIME_FORMAT, self->doc->len, max_size,
              GST_TIME_ARGS (GST_BUFFER_PTS (buf))));
    }
    return GST_FLOW_OK;
  }

  if (self->file) {
    if (!file_put (self, format))
      goto write_failed;
    g_mutex_lock (&self->lock);
    self->published++;
    g_mutex_unlock (&self->lock);
    return GST_FLOW_OK;
  }
#ifdef HAVE_MOSQUITTO
  if (self->mosq) {
    mqtt_put (self);
    return GST_FLOW_OK;
  }
#endif
  return GST_FLOW_OK;

  /* ERRORS */
write_failed:
  {
    const gchar *reason = g_strerror (errno);
    gchar *path;

    GST_OBJECT_LOCK (self);
    path = g_strdup (self->file_path ? self->file_path : "(stdout)");
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write to the results file \"%s\".", path),
        ("file-path \"%s\": %s", path, reason));
    g_free (path);
    return GST_FLOW_ERROR;
  }
}
