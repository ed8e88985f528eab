/* The analysis as the procedure's structured return values, so that scripts (Script-Fu,
 * Python) get numbers, vectors and string arrays without parsing the JSON. */
#ifndef LNLFER_RESULTS_VALUES_H
#define LNLFER_RESULTS_VALUES_H

#include "analysis.h"

/* Declares, after "n-faces" and "results", the return values (in this order):
 *   labels         string array, n: each face's most probable class (its key, e.g.
 *                  "happiness"), the faces in the JSON's order (most confident first)
 *   boxes          double array, 4 n: x, y, width, height of each face, image pixels
 *   scores         double array, n: the detector's score of each face (0..1)
 *   classes        string array, k: the model's class keys, the order of the probabilities
 *   probabilities  double array, n k: face i's probability of class j at i k + j
 *   confident      int32 array, n: 1 where the face is confident (main README, "Face
 *                  quality"), else 0 */
void lnlfer_add_result_values(GimpProcedure *procedure);

/* Sets those values of `rv` from `analysis` (no face: empty arrays; the classes are set
 * all the same). */
void lnlfer_set_result_values(GimpValueArray *rv, const LnlferAnalysis *analysis);

#endif
