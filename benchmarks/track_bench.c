/* The tracker's cost per frame (issue 16: < 0.1 ms for 50 objects).
 *
 *   build/track/track-bench [objects] [frames]
 *
 * Three scenes, each timed frame by frame with CLOCK_MONOTONIC after 50
 * warm-up frames, reported as the median and the 99th percentile:
 * - "spread": @objects objects of 4 classes moving at random over a
 *   1920x1080 frame, bouncing off the borders, 5 % of detections missing
 *   and noise of 3 % of the size (the usual case: most assignment
 *   components are one track and one detection);
 * - "predict": the same tracks, frames between inferences (predict only);
 * - "crowd": @objects objects of one class packed so that every track
 *   overlaps many detections: one big assignment component, the Hungarian
 *   method's worst case. */
#include "mo-tracker.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

typedef struct
{
  double x, y, vx, vy, size;
  int label;
} Obj;

static void
report (const char *name, double *t, int n, int objects)
{
  qsort (t, n, sizeof (double), cmp_double);
  printf ("%-8s %3d objects: median %.2f us, p99 %.2f us per frame\n", name,
      objects, t[n / 2], t[(int) (n * 0.99)]);
}

int
main (int argc, char **argv)
{
  int objects = argc > 1 ? atoi (argv[1]) : 50;
  int frames = argc > 2 ? atoi (argv[2]) : 2000;
  const MoTrackerParams params = {.min_hits = 3,.max_age = 30,
    .iou_threshold = 0.3
  };
  MoTracker *t;
  MoTrackDetection *dets;
  Obj *obj;
  double *times;
  GRand *rand = g_rand_new_with_seed (50);

  if (objects < 1 || frames < 100) {
    fprintf (stderr, "usage: %s [objects >= 1] [frames >= 100]\n", argv[0]);
    return 1;
  }
  t = mo_tracker_new (4 * objects, 2 * objects);
  dets = g_new (MoTrackDetection, objects);
  obj = g_new (Obj, objects);
  times = g_new (double, frames);

  for (int i = 0; i < objects; i++) {
    obj[i].size = g_rand_double_range (rand, 30, 120);
    obj[i].x = g_rand_double_range (rand, 0, 1920 - obj[i].size);
    obj[i].y = g_rand_double_range (rand, 0, 1080 - obj[i].size);
    obj[i].vx = g_rand_double_range (rand, -6, 6);
    obj[i].vy = g_rand_double_range (rand, -6, 6);
    obj[i].label = g_rand_int_range (rand, 1, 5);
  }
  for (int f = -50; f < frames; f++) {
    int n = 0;
    double t0;

    for (int i = 0; i < objects; i++) {
      Obj *o = &obj[i];
      double noise = 0.03 * o->size;

      o->x += o->vx;
      o->y += o->vy;
      if (o->x < 0 || o->x > 1920 - o->size)
        o->vx = -o->vx;
      if (o->y < 0 || o->y > 1080 - o->size)
        o->vy = -o->vy;
      if (g_rand_double (rand) < 0.05)
        continue;
      dets[n].label = o->label;
      dets[n].box[0] = o->x + g_rand_double_range (rand, -noise, noise);
      dets[n].box[1] = o->y + g_rand_double_range (rand, -noise, noise);
      dets[n].box[2] = o->x + o->size + g_rand_double_range (rand, -noise,
          noise);
      dets[n].box[3] = o->y + o->size + g_rand_double_range (rand, -noise,
          noise);
      n++;
    }
    t0 = now_us ();
    mo_tracker_update (t, &params, dets, n);
    if (f >= 0)
      times[f] = now_us () - t0;
  }
  report ("spread", times, frames, objects);

  for (int f = 0; f < frames; f++) {
    double t0 = now_us ();

    mo_tracker_predict (t);
    times[f] = now_us () - t0;
    if (f % 50 == 49)
      mo_tracker_update (t, &params, dets, objects);
  }
  report ("predict", times, frames, objects);

  /* Objects on a grid 10 px apart, 60 px boxes, drifting together: every
   * detection overlaps the tracks around it with IoU >= 0.3. */
  mo_tracker_reset (t);
  for (int f = -50; f < frames; f++) {
    int cols = 10;
    double t0;

    for (int i = 0; i < objects; i++) {
      double x = (i % cols) * 10 + 2.0 * (f + 50), y = (i / cols) * 10;

      dets[i].label = 1;
      dets[i].box[0] = x + g_rand_double_range (rand, -2, 2);
      dets[i].box[1] = y + g_rand_double_range (rand, -2, 2);
      dets[i].box[2] = x + 60 + g_rand_double_range (rand, -2, 2);
      dets[i].box[3] = y + 60 + g_rand_double_range (rand, -2, 2);
    }
    t0 = now_us ();
    mo_tracker_update (t, &params, dets, objects);
    if (f >= 0)
      times[f] = now_us () - t0;
  }
  report ("crowd", times, frames, objects);

  mo_tracker_free (t);
  g_free (dets);
  g_free (obj);
  g_free (times);
  g_rand_free (rand);
  return 0;
}
