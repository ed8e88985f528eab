/* The detection settings' defaults, one set for the command-line tool (detect, analyze,
 * annotate) and the GIMP plug-in's arguments. Plain constants: no library to link, and the
 * engine (which knows nothing of either front end) does not include it. */
#ifndef LNLFER_DEFAULTS_H
#define LNLFER_DEFAULTS_H

/* Minimum detector confidence, 0..1 (the shipped BlazeFace's own threshold). */
#define LNLFER_DEFAULT_THRESHOLD 0.5
/* Faces narrower than this many pixels are dropped (the network's input is 48 pixels a
 * side: a narrower face would be enlarged more than three times). */
#define LNLFER_DEFAULT_MIN_FACE_SIZE 16
/* Only the most confident faces are kept. */
#define LNLFER_DEFAULT_MAX_FACES 32

/* Text of the defaults for help texts ("16", "32", "0.5"). */
#define LNLFER_STR_(x) #x
#define LNLFER_STR(x) LNLFER_STR_(x)

#endif
