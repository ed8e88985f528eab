/* Internal rules of the face detector, exposed for the unit tests. */
#ifndef LNL_DETECTOR_H
#define LNL_DETECTOR_H

/* The whole-image score needed by a face r network pixels wide at the whole-image
 * pass's scale when tile passes ran (0 below 16 px: left to the tiles). */
float lnl_detect_whole_score_needed(float threshold, double r);

/* The lowest whole-image score that can count as evidence at this threshold. */
float lnl_detect_evidence_threshold(float threshold);

/* Whether a detection cluster passes the consistency check between the passes: always
 * when no tiles ran; otherwise when the whole-image pass's best score for it reaches
 * lnl_detect_whole_score_needed(threshold, box_w / whole_scale). */
int lnl_detect_consistent(int tiled, double whole_scale, float box_w, float whole_best,
                          float threshold);

#endif
