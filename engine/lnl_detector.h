/* Internal rules of the face detector, exposed for the unit tests and for
 * tests/detect_trace.c (the data behind the consistency check). */
#ifndef LNL_DETECTOR_H
#define LNL_DETECTOR_H

#include "lnl_parallel.h"
#include "lnlfer.h"

/* One cluster of raw detections after the weighted NMS, with what the consistency check
 * between the whole-image pass and the tiles looks at. */
typedef struct lnl_detect_cluster {
  lnl_face face;    /* the blended detection, its box corrected as lnl_detect returns it */
  float tile_best;  /* the best tile score in the cluster (0: none) */
  float whole_best; /* the best whole-image score, down to the evidence floor (0: none) */
  float whole_px;   /* the top detection's width in network pixels of the whole-image pass */
  int tile_n;       /* tile detections in the cluster */
  int whole_n;      /* whole-image detections in it, evidence included */
  int tiled;        /* tile passes ran on the image */
  int kept;         /* lnl_detect_consistent() */
} lnl_detect_cluster;

/* The lowest whole-image score that counts as evidence at this threshold. */
float lnl_detect_evidence_threshold(float threshold);

/* Whether a cluster passes the consistency check at this score threshold. */
int lnl_detect_consistent(const lnl_detect_cluster *c, float threshold);

/* lnl_detect before the check: every cluster, best first, with c->kept set. *clusters is a
 * malloc'd array of *count entries (NULL when none). */
lnl_status lnl_detect_clusters(const lnl_detector *d, const lnl_image *img,
                               const lnl_detect_options *opt, lnl_detect_cluster **clusters,
                               int *count, lnl_error *err);

/* Called before each network pass (done of total made); nonzero stops the detection, which
 * then fails with LNL_ERR_CANCELLED. */
typedef struct lnl_detect_hook {
  int (*pass)(void *user, int done, int total);
  void *user;
} lnl_detect_hook;

/* lnl_detect on the threads of `par` (a context's), with `hook`
 * (may be NULL) asked before every pass. */
lnl_status lnl_detect_on(const lnl_detector *d, const lnl_image *img, const lnl_detect_options *opt,
                         lnl_parallel *par, const lnl_detect_hook *hook, lnl_face **faces,
                         int *count, lnl_error *err);

/* The YuNet half of a detector (lnl_yunet.h), or NULL for a BlazeFace-layout file. */
typedef struct lnl_yunet lnl_yunet;
const lnl_yunet *lnl_detector_yunet(const lnl_detector *d);

#endif
