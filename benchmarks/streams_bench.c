/* mobileone-gst: N detection streams in one process (issue 15, 7): total
 * fps of N pipelines "videotestsrc ! mobileonedetect n-threads=T !
 * fakesink" running at once, for each thread setting side by side, rounds
 * alternated so that all see the same machine load:
 *   own:    n-threads=<cores>: each element its own pool of one thread per
 *           core (what n-threads=0 gave before the shared pool),
 *   shared: n-threads=0: the process-wide pool shared by all elements,
 *   one:    n-threads=1: one thread per element (the workaround).
 * Prints the median total fps of ROUNDS rounds. Every pipeline is prerolled
 * (model loaded, session made, one frame run) before the clock starts.
 *
 *   streams_bench [FRAMES] [ROUNDS] [MAX_STREAMS]   (streams_bench.sh) */
#include <gst/gst.h>

#include <stdio.h>
#include <stdlib.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Total frames per second of @n pipelines with @threads, or -1. */
static double
run (int n, int threads, int frames)
{
  GstElement **p = g_new0 (GstElement *, n);
  double fps = -1;
  gint64 t0;

  for (int i = 0; i < n; i++) {
    GError *error = NULL;
    gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%d ! "
        "video/x-raw,format=RGB,width=640,height=480 ! "
        "mobileonedetect n-threads=%d ! fakesink sync=false", frames,
        threads);

    p[i] = gst_parse_launch (desc, &error);
    g_free (desc);
    if (p[i] == NULL) {
      fprintf (stderr, "%s\n", error->message);
      goto out;
    }
    gst_element_set_state (p[i], GST_STATE_PAUSED);
  }
  for (int i = 0; i < n; i++)
    if (gst_element_get_state (p[i], NULL, NULL, GST_CLOCK_TIME_NONE) ==
        GST_STATE_CHANGE_FAILURE) {
      fprintf (stderr, "pipeline %d failed to preroll\n", i);
      goto out;
    }
  t0 = g_get_monotonic_time ();
  for (int i = 0; i < n; i++)
    gst_element_set_state (p[i], GST_STATE_PLAYING);
  for (int i = 0; i < n; i++) {
    GstBus *bus = gst_element_get_bus (p[i]);
    GstMessage *m = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      fprintf (stderr, "pipeline %d: error\n", i);
      gst_message_unref (m);
      gst_object_unref (bus);
      goto out;
    }
    gst_message_unref (m);
    gst_object_unref (bus);
  }
  /* The prerolled frame ran before the clock started. */
  fps = (double) n * (frames - 1) / ((g_get_monotonic_time () - t0) / 1e6);
out:
  for (int i = 0; i < n; i++)
    if (p[i]) {
      gst_element_set_state (p[i], GST_STATE_NULL);
      gst_object_unref (p[i]);
    }
  g_free (p);
  return fps;
}

int
main (int argc, char **argv)
{
  int frames = argc > 1 ? atoi (argv[1]) : 41;
  int rounds = argc > 2 ? atoi (argv[2]) : 3;
  int max_streams = argc > 3 ? atoi (argv[3]) : 8;
  int cores = (int) g_get_num_processors ();
  const struct
  {
    const char *name;
    int threads;
  } modes[] = { {"own", cores}, {"shared", 0}, {"one", 1} };

  gst_init (&argc, &argv);
  printf ("%d cores, %d frames per stream, median of %d rounds; total fps\n",
      cores, frames - 1, rounds);
  printf ("%8s %10s %10s %10s %14s\n", "streams", "own (old)", "shared",
      "n-threads=1", "shared / own");
  for (int n = 1; n <= max_streams; n *= 2) {
    double med[3];

    {
      double v[3][64];

      for (int r = 0; r < rounds && r < 64; r++)
        for (int m = 0; m < 3; m++)
          if ((v[m][r] = run (n, modes[m].threads, frames)) < 0)
            return 1;
      for (int m = 0; m < 3; m++) {
        qsort (v[m], MIN (rounds, 64), sizeof (double), cmp_double);
        med[m] = v[m][MIN (rounds, 64) / 2];
      }
    }
    printf ("%8d %10.1f %10.1f %10.1f %14.2f\n", n, med[0], med[1], med[2],
        med[1] / med[0]);
    fflush (stdout);
  }
  return 0;
}
