/* mobileone-cli: the frames of a video file, decoded by GStreamer
 * (uridecodebin ! videoconvert ! appsink, RGB), for `calibrate --video`.
 * Only the tool links GStreamer (when it is there: HAVE_GSTREAMER); the
 * engine never does. */
#pragma once

#include "mo-preprocess.h"

/* Called with each chosen frame (8-bit RGB, valid during the call); FALSE
 * with @error set stops the decoding. */
typedef gboolean (*MoCliFrameFunc) (const MoImage * frame, gpointer user_data,
    GError ** error);

/**
 * mo_cli_video_frames:
 * @path: the video file
 * @n_frames: > 0: that many frames evenly spaced over the video (the frame
 *   in the middle of each of @n_frames equal runs; every frame when the
 *   video has fewer), which needs a first decoding pass to count them
 * @every: > 0 (when @n_frames is 0): frames 0, @every, 2 @every, ...
 * @func: gets each chosen frame in order
 * @n_used: (out): the frames passed to @func
 * @n_total: (out): the frames of the video (with @every: decoded up to the
 *   end)
 *
 * FALSE with @error naming @path when the file cannot be read or decoded,
 * holds no video or no frame, or @func fails.
 */
gboolean mo_cli_video_frames (const char *path, int n_frames, int every,
    MoCliFrameFunc func, gpointer user_data, guint * n_used, guint * n_total,
    GError ** error);
