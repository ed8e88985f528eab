"""Face augmentation as two steps: draw a batch's random view parameters, then render them
onto images of any size and channel count.

draw_view takes its uniforms from a source: `generator_uniforms` (the trainer's generator, in
the order augment has always drawn them, so a run's augmentation stays what it was) or
`SeededUniforms` (a counter-based hash of (seed, image id, view k)): a view then depends on
nothing but those three numbers, not on the batch it falls in, so that
tools/train/teacher_views.py can show the teacher at 112 px in colour exactly the view that
the student later sees at 48 px in grey. Every parameter is resolution-free (fractions of
the side, affine_grid's normalised frame), so one view renders alike at any size.
"""
import hashlib
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

# The recipe fields that make a view: a cache of views is valid only for the same values
# (and the same crop of the faces: crop, template, raf_crop).
VIEW_FIELDS = ("rotate_deg", "scale", "shift", "frame_p", "frame_zoom", "brightness",
               "contrast", "occlusion_p", "occlusion_size", "crop", "template", "raf_crop")


def view_recipe(rec):
    """The recipe's view-making fields (absent ones as None), for comparing caches."""
    return {k: rec.get(k) for k in VIEW_FIELDS}


def image_ids(keys):
    """64-bit ids of images from their (split, file name) keys: stable across runs, data
    loads and de-duplication order."""
    return np.array([int(hashlib.md5(f"{s}/{n}".encode()).hexdigest()[:16], 16)
                     for s, n in keys], np.uint64).reshape(-1)


def _mix(z):
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = np.asarray(z, np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class SeededUniforms:
    """Uniforms in [0, 1) for a batch of images: row i depends only on (seed, ids[i],
    views[i]) and on how many values were drawn before (the same for every image)."""

    GOLDEN = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, seed, ids, views):
        ids = np.asarray(ids, np.uint64).reshape(-1)
        views = np.asarray(views, np.uint64).reshape(-1)
        with np.errstate(over="ignore"):
            self.key = _mix(_mix(_mix(np.full(len(ids), seed, np.uint64)) ^ ids) + views)
        self.drawn = 0

    def __call__(self, *shape):
        m = int(np.prod(shape)) if shape else 1
        counter = (np.arange(m, dtype=np.uint64) + np.uint64(self.drawn + 1)) * self.GOLDEN
        with np.errstate(over="ignore"):
            bits = _mix(self.key[:, None] + counter[None, :]) >> np.uint64(11)
        self.drawn += m
        u = torch.from_numpy((bits.astype(np.float64) * 2.0 ** -53).astype(np.float32))
        return u.view(len(self.key), *shape)


def generator_uniforms(b, gen):
    return lambda *shape: torch.rand((b,) + shape, generator=gen)


def draw_view(b, rec, u):
    """A batch's view parameters (flip, rotation, scale, shift, zoom-out onto a random
    background with the recipe's frame_p / frame_zoom, brightness/contrast, one random
    occluding rectangle) from u(*shape) -> uniforms of shape (b, *shape)."""
    r = lambda: u() * 2 - 1  # noqa: E731
    p = {"ang": r() * math.radians(rec["rotate_deg"]), "sc": 1 + r() * rec["scale"]}
    p["flip"] = torch.where(u() < 0.5, -1.0, 1.0)
    if rec.get("frame_p", 0) > 0:
        # zoom out past the crop's edges: an aligned crop of a face at a photo's edge, or
        # framed wider than the training crops, shows there what the crop never had
        p["framed"] = u() < rec["frame_p"]
        zoom = 1 + u() * rec["frame_zoom"]
        p["sc"] = torch.where(p["framed"], p["sc"] / zoom, p["sc"])
    p["tx"] = r() * rec["shift"] * 2
    p["ty"] = r() * rec["shift"] * 2
    if "framed" in p:
        # outside the crop: a smooth random background (grey level plus coarse noise)
        p["coarse"] = u(1, 4, 4) * 0.4 - 0.2
        p["background"] = u(1, 1, 1)
    p["contrast"] = 1 + r().view(b, 1, 1, 1) * rec["contrast"]
    p["bright"] = r().view(b, 1, 1, 1) * rec["brightness"]
    # occlusion: one rectangle of random grey per image, with probability p; size and
    # position in fractions of the side
    p["occluded"] = u() < rec["occlusion_p"]
    lo, hi = rec["occlusion_size"]
    p["occ_size"] = u(2) * (hi - lo) + lo
    p["occ_pos"] = u(2)
    p["occ_fill"] = u(1, 1, 1)
    return p


def render(x, p):
    """The view p (draw_view) of a batch x of [0,1] images (b, c, h, w), h == w."""
    b, _, h, w = x.shape
    cos, sin = torch.cos(p["ang"]) / p["sc"], torch.sin(p["ang"]) / p["sc"]
    flip = p["flip"]
    theta = torch.stack([torch.stack([cos * flip, -sin, p["tx"]], 1),
                         torch.stack([sin * flip, cos, p["ty"]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if "framed" in p:
        inside = F.grid_sample(torch.ones_like(x[:, :1]), grid, mode="bilinear",
                               padding_mode="zeros", align_corners=False)
        fill = p["background"] + F.interpolate(p["coarse"], size=(h, w), mode="bilinear",
                                               align_corners=False)
        inside = torch.where(p["framed"].view(b, 1, 1, 1), inside, torch.ones_like(inside))
        x = x * inside + fill.clamp(0, 1) * (1 - inside)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = ((x - mean) * p["contrast"] + mean + p["bright"]).clamp(0, 1)
    sizes = p["occ_size"] * h
    pos = p["occ_pos"] * (h - sizes)
    yy = torch.arange(h).view(1, h, 1)
    xx = torch.arange(w).view(1, 1, w)
    box = ((yy >= pos[:, 0, None, None]) & (yy < (pos[:, 0] + sizes[:, 0])[:, None, None])
           & (xx >= pos[:, 1, None, None]) & (xx < (pos[:, 1] + sizes[:, 1])[:, None, None]))
    box = (box & p["occluded"][:, None, None]).unsqueeze(1)
    return torch.where(box, p["occ_fill"].expand_as(x), x)


def seeded_view(x, seed, ids, views, rec):
    """View `views[i]` of image ids[i] (x: their [0,1] crops at any size)."""
    return render(x, draw_view(len(x), rec, SeededUniforms(seed, ids, views)))


def to_grey(x):
    """BT.601 luma of (b, 3, h, w) images; grey ones pass as they are."""
    if x.shape[1] == 1:
        return x
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def write_cache(path, split, names, logits, meta):
    """A cache of teacher views: for each image (split, name, id) the teacher's logits on
    each of its K views, float16 (N, K, classes); meta (a JSON-able dict: the view seed, the
    recipe's view fields, the teacher) is stored with it as a JSON string."""
    split, names = np.asarray(split), np.asarray(names)
    logits = np.asarray(logits)
    if logits.ndim != 3 or len(logits) != len(names) or len(split) != len(names):
        raise ValueError(f"logits {logits.shape} for {len(names)} images")
    ids = image_ids(zip(split.tolist(), names.tolist()))
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, split=split, name=names, id=ids, logits=logits.astype(np.float16),
                        meta=np.array(json.dumps(meta, sort_keys=True)))
    os.replace(tmp, path)


def read_cache(path):
    """(meta, {(split, name): row}, ids, logits) of a write_cache file."""
    z = np.load(path, allow_pickle=False)
    rows = {(str(s), str(n)): i for i, (s, n) in enumerate(zip(z["split"], z["name"]))}
    return json.loads(str(z["meta"])), rows, z["id"], z["logits"]


def cache_rows(rows, keys, path):
    """Rows of the cache (read_cache's dict) for (split, name) keys; every key must be there."""
    missing = [k for k in keys if k not in rows]
    if missing:
        raise ValueError(f"{path}: no views of {len(missing)} training images (e.g. "
                         f"{'/'.join(missing[0])}); rerun tools/train/teacher_views.py")
    return np.array([rows[k] for k in keys], np.int64)


def check_cache(meta, rec, path):
    """The recipe must make the views the cache was made of."""
    want = {"seed": rec.get("view_seed", rec["seed"]), "view": view_recipe(rec)}
    have = {"seed": meta.get("seed"), "view": meta.get("view")}
    if json.loads(json.dumps(want)) != have:
        raise ValueError(f"{path} holds other views than this recipe makes: {have} != {want}")
