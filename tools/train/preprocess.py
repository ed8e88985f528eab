"""Face-crop preprocessing, written to match engine/lnl_preprocess.c operation for
operation (float32 throughout) so that trainer and engine see the same numbers:

1. RGB -> grey with the BT.601 luma weights (when the network takes one channel);
2. antialiased resize to input_size x input_size: separable triangle filter whose radius
   grows with the downscale factor, window clipped to the image and renormalised;
   horizontal pass first, then vertical;
3. x / 255, then (x - mean) / std.
"""
import functools

import numpy as np

LUMA = (0.299, 0.587, 0.114)


@functools.lru_cache(maxsize=None)
def resize_weights(n_in, n_out):
    """Dense (n_out, n_in) matrix of the triangle filter, built like the C code."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    m = np.zeros((n_out, n_in), np.float32)
    for o in range(n_out):
        center = (o + 0.5) * scale
        lo = max(int(np.floor(center - support)), 0)
        hi = min(int(np.ceil(center + support)), n_in)
        w = np.zeros(hi - lo, np.float32)
        for i in range(lo, hi):
            w[i - lo] = max(0.0, 1.0 - abs((i + 0.5 - center) / support))
        total = np.float32(w.sum())
        m[o, lo:hi] = w / total if total > 0 else 0
    return m


def to_grey(rgb):
    rgb = rgb.astype(np.float32)
    return (np.float32(LUMA[0]) * rgb[..., 0] + np.float32(LUMA[1]) * rgb[..., 1]
            + np.float32(LUMA[2]) * rgb[..., 2])


def resize(plane, size):
    """plane: (H, W) float32 -> (size, size) float32."""
    h, w = plane.shape
    horiz = plane @ resize_weights(w, size).T  # (H, size)
    return resize_weights(h, size) @ horiz


def preprocess(img, cfg):
    """img: (H, W) grey or (H, W, 3) RGB uint8 -> (C, S, S) float32 network input."""
    size, channels = cfg["input_size"], cfg["input_channels"]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    planes = [to_grey(img)] if channels == 1 else [img[..., c].astype(np.float32) for c in range(3)]
    out = np.stack([resize(p, size) for p in planes])
    return ((out / np.float32(255.0) - np.float32(cfg["mean"])) / np.float32(cfg["std"])).astype(np.float32)


def warp_similarity(img, m):
    """Resample img (H, W[, 3] uint8) into a frame of the same size by the similarity m:
    output point (u, v) in [0,1] fractions shows input point m(u, v) = (a u - b v + tx,
    b u + a v + ty), bilinear, edges replicated beyond the input. Returns uint8, so that
    the trainer and the evaluation (which writes PNGs for the engine) see the same pixels."""
    a, b, tx, ty = m
    h, w = img.shape[:2]
    u = (np.arange(w, dtype=np.float64) + 0.5) / w
    v = (np.arange(h, dtype=np.float64) + 0.5) / h
    uu, vv = np.meshgrid(u, v)
    x = np.clip((a * uu - b * vv + tx) * w - 0.5, 0, w - 1)
    y = np.clip((b * uu + a * vv + ty) * h - 0.5, 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2)
    fx, fy = x - x0, y - y0
    src = img.astype(np.float64)
    if src.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = src[y0, x0] * (1 - fx) + src[y0, x0 + 1] * fx
    bottom = src[y0 + 1, x0] * (1 - fx) + src[y0 + 1, x0 + 1] * fx
    return np.clip(np.rint(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def to_unit(img, cfg):
    """Steps 1-2 then /255: the [0, 1] input the trainer stores and augments."""
    x = preprocess(img, cfg)
    return x * np.float32(cfg["std"]) + np.float32(cfg["mean"])
