/* mobileone-cli: the frames of a video file for `calibrate --video`
 * (cli-video.h). GStreamer decodes: uridecodebin's first video stream !
 * videoconvert ! appsink (RGB), pulled frame by frame; errors on the bus
 * become a GError naming the file. */
#include "cli-video.h"

#include "mo-error.h"

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <string.h>

/* Without a frame, an error or the end for this long, decoding has stalled. */
#define STALL_SECONDS 30

typedef struct
{
  GstElement *pipeline, *convert, *sink;
  /* set in the streaming thread, read in the caller's */
  gint any_pad, video_linked, no_more_pads;
} Decoder;

static void
on_pad_added (GstElement * dec, GstPad * pad, gpointer user_data)
{
  Decoder *d = user_data;
  GstPad *sinkpad = gst_element_get_static_pad (d->convert, "sink");
  GstCaps *caps = gst_pad_get_current_caps (pad);

  g_atomic_int_set (&d->any_pad, TRUE);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (!gst_pad_is_linked (sinkpad) && !gst_caps_is_empty (caps)
      && g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure
              (caps, 0)), "video/")
      && gst_pad_link (pad, sinkpad) == GST_PAD_LINK_OK)
    g_atomic_int_set (&d->video_linked, TRUE);
  gst_caps_unref (caps);
  gst_object_unref (sinkpad);
}

/* Every stream has its pad: without a video one, nothing will come. */
static void
on_no_more_pads (GstElement * dec, gpointer user_data)
{
  Decoder *d = user_data;
  g_atomic_int_set (&d->no_more_pads, TRUE);
}

static void
decoder_clear (Decoder * d)
{
  if (d->pipeline) {
    gst_element_set_state (d->pipeline, GST_STATE_NULL);
    gst_object_unref (d->pipeline);
  }
  d->pipeline = NULL;
}

static gboolean
decoder_init (Decoder * d, const char *path, const char *uri, gboolean rgb,
    GError ** error)
{
  GstElement *dec = gst_element_factory_make ("uridecodebin", NULL);
  GstCaps *caps;

  memset (d, 0, sizeof *d);
  d->convert = gst_element_factory_make ("videoconvert", NULL);
  d->sink = gst_element_factory_make ("appsink", NULL);
  if (dec == NULL || d->convert == NULL || d->sink == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_UNSUPPORTED, "%s: GStreamer's "
        "uridecodebin, videoconvert or appsink is missing (install "
        "gstreamer1.0-plugins-base)", path);
    g_clear_object (&dec);
    g_clear_object (&d->convert);
    g_clear_object (&d->sink);
    return FALSE;
  }
  d->pipeline = gst_pipeline_new ("mobileone-calibrate-video");
  gst_bin_add_many (GST_BIN (d->pipeline), dec, d->convert, d->sink, NULL);
  gst_element_link (d->convert, d->sink);
  g_object_set (dec, "uri", uri, NULL);
  /* The counting pass takes the decoder's own format (videoconvert passes
   * it through). Bounded queue: the decoder waits for the engine. */
  caps = gst_caps_from_string (rgb ? "video/x-raw,format=RGB" : "video/x-raw");
  g_object_set (d->sink, "caps", caps, "sync", FALSE, "max-buffers", 4,
      "drop", FALSE, NULL);
  gst_caps_unref (caps);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), d);
  g_signal_connect (dec, "no-more-pads", G_CALLBACK (on_no_more_pads), d);
  return TRUE;
}

/* Decodes @path to the end (or until @func returns FALSE with *@stop set
 * and no error); calls @func (when not NULL) with frame index and frame. */
typedef gboolean (*FrameIndexFunc) (guint index, const MoImage * frame,
    gpointer user_data, gboolean * stop, GError ** error);

static gboolean
decode (const char *path, const char *uri, gboolean rgb, FrameIndexFunc func,
    gpointer user_data, guint * n_frames, GError ** error)
{
  Decoder d;
  GstBus *bus;
  gboolean ok = TRUE, stop = FALSE;
  gint64 last = g_get_monotonic_time ();

  *n_frames = 0;
  if (!decoder_init (&d, path, uri, rgb, error))
    return FALSE;
  bus = gst_element_get_bus (d.pipeline);
  gst_element_set_state (d.pipeline, GST_STATE_PLAYING);
  while (ok && !stop) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (d.sink),
        100 * GST_MSECOND);
    GstMessage *msg;

    if (sample != NULL) {
      last = g_get_monotonic_time ();
      if (func != NULL) {
        GstVideoInfo info;
        GstVideoFrame vf;
        if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample))
            || !gst_video_frame_map (&vf, &info, gst_sample_get_buffer (sample),
                GST_MAP_READ)) {
          g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: frame %u "
              "cannot be read", path, *n_frames);
          ok = FALSE;
        } else {
          MoImage img = { 0 };
          img.format = MO_PIXEL_RGB;
          img.width = GST_VIDEO_FRAME_WIDTH (&vf);
          img.height = GST_VIDEO_FRAME_HEIGHT (&vf);
          img.planes[0] = GST_VIDEO_FRAME_PLANE_DATA (&vf, 0);
          img.strides[0] = GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0);
          ok = func (*n_frames, &img, user_data, &stop, error);
          gst_video_frame_unmap (&vf);
        }
      }
      gst_sample_unref (sample);
      (*n_frames)++;
      continue;
    }
    if (gst_app_sink_is_eos (GST_APP_SINK (d.sink)))
      break;
    if ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) != NULL) {
      GError *e = NULL;
      gst_message_parse_error (msg, &e, NULL);
      if (g_atomic_int_get (&d.any_pad) && !g_atomic_int_get (&d.video_linked))
        g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no video stream "
            "(%s)", path, e->message);
      else
        g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: cannot be "
            "decoded: %s", path, e->message);
      g_error_free (e);
      gst_message_unref (msg);
      ok = FALSE;
    } else if (g_atomic_int_get (&d.no_more_pads)
        && !g_atomic_int_get (&d.video_linked)) {
      g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no video stream",
          path);
      ok = FALSE;
    } else if (g_get_monotonic_time () - last > STALL_SECONDS * G_USEC_PER_SEC) {
      g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no frame decoded in "
          "%d s (after frame %u)", path, STALL_SECONDS, *n_frames);
      ok = FALSE;
    }
  }
  gst_object_unref (bus);
  decoder_clear (&d);
  return ok;
}

typedef struct
{
  int n_frames, every;
  guint total, k, used;
  MoCliFrameFunc func;
  gpointer user_data;
} Choice;

/* The frame at the middle of the k-th of n equal runs of total frames. */
static guint
evenly_spaced (guint k, guint n, guint total)
{
  return (guint) (((guint64) 2 * k + 1) * total / (2 * (guint64) n));
}

static gboolean
choose_frame (guint index, const MoImage * frame, gpointer user_data,
    gboolean * stop, GError ** error)
{
  Choice *c = user_data;
  gboolean take;

  if (c->every > 0)
    take = index % (guint) c->every == 0;
  else if ((guint) c->n_frames >= c->total)
    take = TRUE;
  else {
    take = c->k < (guint) c->n_frames
        && index == evenly_spaced (c->k, c->n_frames, c->total);
    if (take && ++c->k == (guint) c->n_frames)
      *stop = TRUE;
  }
  if (!take)
    return TRUE;
  c->used++;
  return c->func (frame, c->user_data, error);
}

gboolean
mo_cli_video_frames (const char *path, int n_frames, int every,
    MoCliFrameFunc func, gpointer user_data, guint * n_used, guint * n_total,
    GError ** error)
{
  Choice c = { 0 };
  GError *e = NULL;
  char *uri;
  guint n = 0;
  gboolean ok;

  *n_used = *n_total = 0;
  g_return_val_if_fail ((n_frames > 0) != (every > 0), FALSE);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: %s", path,
        g_file_test (path, G_FILE_TEST_EXISTS) ? "not a file" :
        "no such file");
    return FALSE;
  }
  if (!gst_init_check (NULL, NULL, &e)) {
    g_set_error (error, MO_ERROR, MO_ERROR_UNSUPPORTED, "%s: GStreamer "
        "cannot start: %s", path, e->message);
    g_error_free (e);
    return FALSE;
  }
  if ((uri = gst_filename_to_uri (path, &e)) == NULL) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: %s", path, e->message);
    g_error_free (e);
    return FALSE;
  }
  c.n_frames = n_frames;
  c.every = every;
  c.func = func;
  c.user_data = user_data;
  /* Evenly spaced frames need the count first: one pass without colour
   * conversion. */
  ok = every > 0 || decode (path, uri, FALSE, NULL, NULL, &c.total, error);
  if (ok && every == 0 && c.total == 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no video frame",
        path);
    ok = FALSE;
  }
  if (ok)
    ok = decode (path, uri, TRUE, choose_frame, &c, &n, error);
  if (ok && c.used == 0) {
    g_set_error (error, MO_ERROR, MO_ERROR_INPUT, "%s: no video frame",
        path);
    ok = FALSE;
  }
  *n_used = c.used;
  *n_total = every > 0 ? n : c.total;
  g_free (uri);
  return ok;
}
