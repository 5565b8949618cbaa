/* mobileone-gst: a SORT-style multi-object tracker (issue 16).
 *
 * Pure C + GLib, nothing of GStreamer. One MoTracker follows the objects of
 * one stream: a constant-velocity Kalman filter per track, detections
 * assigned to the predicted tracks by an optimal (maximum total IoU)
 * assignment restricted to pairs of the same class that overlap at least
 * iou_threshold, tracks confirmed after min_hits detections and removed
 * after max_age missed frames. Boxes are in any unit (the element uses
 * coordinates normalised to the frame, so tracks survive a resolution
 * change).
 *
 * Everything is allocated by mo_tracker_new() for at most max_tracks tracks
 * and max_detections detections per frame; no later call allocates. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The process noise of the Kalman filter, as fractions of the box size
 * (DeepSORT's weights): each coordinate's position moves by a standard
 * deviation of MO_KALMAN_STD_POS times the box width (x, w) or height (y, h)
 * per frame, its velocity by MO_KALMAN_STD_VEL times that; a measurement's
 * standard deviation is MO_KALMAN_STD_POS times the size too. */
#define MO_KALMAN_STD_POS (1.0 / 20.0)
#define MO_KALMAN_STD_VEL (1.0 / 160.0)

/**
 * MoKalman: the state of one box. The mean is (cx, cy, w, h) and their
 * velocities per frame. With a constant-velocity model, diagonal noises and
 * a diagonal initial covariance, the 8x8 covariance stays block-diagonal
 * with one 2x2 block per coordinate, so only those blocks are kept:
 * cov[k] = { var(pos_k), cov(pos_k, vel_k), var(vel_k) }.
 */
typedef struct
{
  double mean[8];
  double cov[4][3];
} MoKalman;

/**
 * mo_kalman_init: starts @k at @box (x0, y0, x1, y1) with no velocity, the
 * position's standard deviation 2 * MO_KALMAN_STD_POS and the velocity's
 * 10 * MO_KALMAN_STD_VEL times the box size.
 */
void mo_kalman_init (MoKalman * k, const double box[4]);

/**
 * mo_kalman_predict: one frame ahead: position += velocity, covariance
 * F P F' + Q with Q from the box size before the step. The width and height
 * never go below 1e-6 of their value at the start of the step.
 */
void mo_kalman_predict (MoKalman * k);

/** mo_kalman_update: the Kalman update with the measured @box (x0, y0, x1, y1). */
void mo_kalman_update (MoKalman * k, const double box[4]);

/** mo_kalman_box: the mean as a box (x0, y0, x1, y1). */
void mo_kalman_box (const MoKalman * k, double box[4]);

/**
 * MoAssign: an optimal assignment solver with preallocated work space.
 */
typedef struct _MoAssign MoAssign;

/** mo_assign_new: a solver for up to @max_rows x @max_cols problems. */
MoAssign *mo_assign_new (guint max_rows, guint max_cols);

/** mo_assign_free: frees @a (NULL is fine). */
void mo_assign_free (MoAssign * a);

/**
 * mo_assign_solve: the matching of rows to columns that maximises the sum of
 * @weights (@rows x @cols, row-major) over its pairs, using only pairs of
 * positive weight (a weight <= 0 forbids the pair). The problem is split
 * into the connected components of the allowed pairs and each component
 * solved exactly (Hungarian method, shortest augmenting paths: O(n^2 m) for
 * an n x m component, n <= m), so sparse problems cost little more than
 * building them. @row_to_col[i] gets row i's column or -1. Returns the number
 * of matched pairs, -1 when @rows or @cols exceeds the capacity.
 */
int mo_assign_solve (MoAssign * a, const float *weights, guint rows,
    guint cols, int *row_to_col);

/**
 * MoTrackerParams:
 * @min_hits: a track gets an id (is confirmed) at its min_hits-th detection
 * @max_age: a confirmed track is removed when this many consecutive frames
 *   with fresh detections did not contain it (mo_tracker_predict() frames
 *   do not count); a tentative track is removed at its first miss
 * @iou_threshold: a detection may continue a track when their boxes overlap
 *   at least this (intersection over union, the track's predicted box)
 * @max_distance: second stage, for what the first left over: a detection
 *   may continue a track of its class when their centres are less than
 *   max_distance times the track's size (the mean of its predicted width and
 *   height) apart; pairs are weighted 1 - distance / limit and assigned
 *   optimally again. It catches an object that comes out from behind
 *   another only partly visible, or that moved further than its size
 *   between two inferences. 0 turns it off.
 */
typedef struct
{
  guint min_hits;
  guint max_age;
  double iou_threshold;
  double max_distance;
} MoTrackerParams;

/**
 * MoTrack: one track.
 * @id: 1, 2, ... in order of confirmation, never reused until
 *   mo_tracker_reset(); 0 while the track is tentative
 * @label: the class key of its detections (only equality matters)
 * @box: the current estimate (x0, y0, x1, y1): after mo_tracker_update()
 *   the filtered box, after mo_tracker_predict() the prediction
 * @age: frames since the track started (1 on its first frame)
 * @hits: detections assigned to it
 * @since_detection: frames since its last detection (0 when it has one in
 *   this frame)
 * @misses: consecutive fresh-detection frames without it
 * @kalman: its filter
 */
typedef struct
{
  gint id;
  gint label;
  double box[4];
  guint age;
  guint hits;
  guint since_detection;
  guint misses;
  MoKalman kalman;
} MoTrack;

/**
 * MoTrackDetection: one detection of a frame.
 * @box: x0, y0, x1, y1 (x1 >= x0, y1 >= y0)
 * @label: its class key; a detection only continues a track of its label
 */
typedef struct
{
  double box[4];
  gint label;
} MoTrackDetection;

typedef struct _MoTracker MoTracker;

/**
 * mo_tracker_new: a tracker for at most @max_tracks tracks (tentative ones
 * included) and @max_detections detections per frame (both >= 1).
 */
MoTracker *mo_tracker_new (guint max_tracks, guint max_detections);

/** mo_tracker_free: frees @t (NULL is fine). */
void mo_tracker_free (MoTracker * t);

/** mo_tracker_reset: forgets every track; ids start again at 1. */
void mo_tracker_reset (MoTracker * t);

/**
 * mo_tracker_update: one frame with fresh detections: every track is
 * predicted, @dets are assigned (by IoU, then by distance for what is left),
 * matched tracks updated, unmatched
 * detections start tentative tracks and stale tracks are removed.
 * Detections beyond max_detections are ignored, and so are unmatched
 * detections when max_tracks tracks exist already; both are counted in
 * mo_tracker_dropped(). Returns the number of detections considered.
 */
guint mo_tracker_update (MoTracker * t, const MoTrackerParams * params,
    const MoTrackDetection * dets, guint n_dets);

/**
 * mo_tracker_predict: one frame without fresh detections (between two
 * inferences): every track moves to its prediction; nothing is created or
 * removed, and mo_tracker_detection_track() keeps the last update's answers.
 */
void mo_tracker_predict (MoTracker * t);

/**
 * mo_tracker_detection_track: the track detection @i of the last
 * mo_tracker_update() continued or started (tentative or confirmed), NULL
 * when it was ignored. Valid until the next update or reset.
 */
const MoTrack *mo_tracker_detection_track (const MoTracker * t, guint i);

/** mo_tracker_tracks: the live tracks, oldest first; *@n gets their number. */
const MoTrack *mo_tracker_tracks (const MoTracker * t, guint * n);

/** mo_tracker_dropped: detections ignored since the last reset (capacity). */
guint64 mo_tracker_dropped (const MoTracker * t);

/** mo_box_iou: intersection over union of two boxes (x0, y0, x1, y1). */
double mo_box_iou (const double a[4], const double b[4]);

G_END_DECLS
