"""The multi-scale plan of the YuNet detector (tools/detector/README.md, "Multi-scale plan"),
in terms of single passes (yunet_ort.run_pass), so that plan_eval.py can score any plan from
cached passes and the C engine can follow the chosen one.

A plan is a list of passes (scale relative to the image, the face widths the pass is
responsible for, in image pixels) and the merge: detections of every pass are kept only
inside their pass's width range, then one greedy NMS (IoU > 0.3) over all of them.
"""
import math

import numpy as np

from yunet_ort import nms, run_pass

# The chosen plan (README, "Multi-scale plan"): a first pass at native resolution, capped at
# CAP_MP megapixels, that keeps the faces narrower than NATIVE_MAX px (in its own pixels),
# and a pass at 1/DOWN of the first pass's scale that keeps the faces at least DOWN_MIN px
# wide (in the first pass's pixels, i.e. DOWN_MIN / DOWN in its own); one NMS over both.
# The downscaled pass is skipped (and the first keeps every width) when its shorter side
# would be under MIN_SIDE px.
CAP_MP = 6.0
DOWN = 4
NATIVE_MAX = 192.0
DOWN_MIN = 96.0
MIN_SIDE = 64


def native_scale(width, height, cap_mp=CAP_MP):
    """Scale of the first pass: 1, or less so that the pass has at most cap_mp megapixels."""
    mp = width * height / 1e6
    return 1.0 if mp <= cap_mp else math.sqrt(cap_mp / mp)


def plan(width, height, cap_mp=CAP_MP, down=DOWN, native_max=NATIVE_MAX, down_min=DOWN_MIN):
    """[(scale, min_width, max_width)]: each pass's scale and the box widths, in image
    pixels, that it keeps."""
    s = native_scale(width, height, cap_mp)
    if not down or min(width, height) * s / down < MIN_SIDE:
        return [(s, 0.0, math.inf)]
    return [(s, 0.0, native_max / s), (s / down, down_min / s, math.inf)]


def merge(passes_dets, ranges):
    """Detections (N, 15) of each pass, kept inside its width range, then one NMS."""
    kept = []
    for dets, (_, lo, hi) in zip(passes_dets, ranges):
        if len(dets):
            kept.append(dets[(dets[:, 2] >= lo) & (dets[:, 2] < hi)])
    if not kept:
        return np.zeros((0, 15))
    return nms(np.concatenate(kept))


def detect(sess, img, min_score=0.02, **kw):
    ranges = plan(img.width, img.height, **kw)
    return merge([run_pass(sess, img, s, min_score) for s, _, _ in ranges], ranges)
