#!/usr/bin/python3
"""Test images of every format and kind lnlfer reads, made from a photo.

usage: make_test_images.py PHOTO OUTDIR         the images tests/test_cli_images.sh reads
       make_test_images.py --seeds OUTDIR       tiny ones (16 x 12), the image fuzzer's seeds

Each image has a file NAME.expected.png beside it when its decoded pixels are known exactly
(lossless formats), and the JPEGs have the upright image they were made from.
"""
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png16(path, pixels):
    """A 16-bit PNG (PIL writes 16-bit RGB PNGs only as 8-bit) of an H x W x 3 uint16 array."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\0" + pixels[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                     png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def write_png_header_only(path, width, height):
    """A PNG that claims width x height pixels and holds one row: for the size bound."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                     png_chunk(b"IDAT", zlib.compress(b"\0" * (1 + 3 * width))) +
                     png_chunk(b"IEND", b""))


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


# The image stored with EXIF orientation o: the upright one turned the other way from how a
# viewer turns it (checked against PIL's ImageOps.exif_transpose below).
STORED = {1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
          4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
          6: [Image.Transpose.ROTATE_90], 7: [Image.Transpose.TRANSVERSE],
          8: [Image.Transpose.ROTATE_270]}


def stored_for(upright, orientation):
    img = upright
    for t in STORED[orientation]:
        img = img.transpose(t)
    return img


def make(photo, out, tiny):
    out.mkdir(parents=True, exist_ok=True)
    src = Image.open(photo).convert("RGB")
    # not square, so that a turned image has other dimensions
    upright = src.resize((16, 12)) if tiny else src.crop((0, 40, 512, 440)).resize((256, 200))
    upright.save(out / "upright.png")
    rgb = np.asarray(upright)
    h, w, _ = rgb.shape

    def expect(name, img):
        img.save(out / (name + ".expected.png"))

    # orientations, losslessly (PNG's eXIf chunk), and as a phone's JPEG
    for o in range(1, 9):
        stored_for(upright, o).save(out / f"orient{o}.png", exif=exif(o))
        shown = ImageOps.exif_transpose(Image.open(out / f"orient{o}.png")).convert("RGB")
        assert np.array_equal(np.asarray(shown), rgb), o
        expect(f"orient{o}.png", upright)
    stored_for(upright, 6).save(out / "orient6.jpg", quality=95, exif=exif(6))
    stored_for(upright, 8).save(out / "orient8.tif", exif=exif(8))
    expect("orient8.tif", upright)
    # 16-bit RGB PNG, arbitrary 16-bit values: 8 bits are round(v * 255 / 65535)
    rng = np.random.default_rng(1)
    deep = rng.integers(0, 65536, size=(h, w, 3), dtype=np.uint32)
    deep[0, 0] = [32767, 32768, 65535]
    write_png16(out / "rgb16.png", deep.astype(np.uint16))
    expect("rgb16.png", Image.fromarray(((deep * 255 + 32767) // 65535).astype(np.uint8)))
    # TIFF: 8-bit RGB, 8-bit grey (as JAFFE's), 16-bit grey
    upright.save(out / "rgb8.tif")
    expect("rgb8.tif", upright)
    grey = upright.convert("L")
    grey.save(out / "grey8.tif")
    expect("grey8.tif", grey.convert("RGB"))
    g16 = rng.integers(0, 65536, size=(h, w), dtype=np.uint32)
    Image.fromarray(g16.astype(np.uint16)).save(out / "grey16.tif")
    g8 = ((g16 * 255 + 32767) // 65535).astype(np.uint8)
    expect("grey16.tif", Image.fromarray(np.stack([g8] * 3, axis=2)))
    # CMYK JPEG without a profile (PIL's plain CMYK, Adobe-inverted in the file)
    upright.convert("CMYK").save(out / "cmyk.jpg", quality=95)
    # alpha over white, as the plug-in composites it: (c * a + 255 * (255 - a) + 127) / 255
    alpha = rng.integers(0, 256, size=(h, w), dtype=np.uint32)
    alpha[0, :4] = [0, 128, 255, 1]
    Image.fromarray(np.dstack([rgb, alpha.astype(np.uint8)]), "RGBA").save(out / "rgba.png")
    flat = (rgb.astype(np.uint32) * alpha[..., None] + 255 * (255 - alpha[..., None]) + 127) // 255
    expect("rgba.png", Image.fromarray(flat.astype(np.uint8)))
    upright.convert("LA").save(out / "greya.png")
    # other formats
    upright.save(out / "lossless.webp", lossless=True)
    expect("lossless.webp", upright)
    upright.save(out / "plain.jpg", quality=95)
    upright.convert("P").save(out / "palette.gif")
    expect("palette.gif", upright.convert("P").convert("RGB"))
    upright.save(out / "plain.ppm")
    expect("plain.ppm", upright)
    if not tiny:
        data = (out / "plain.jpg").read_bytes()
        (out / "truncated.jpg").write_bytes(data[: len(data) // 2])
        write_png_header_only(out / "huge.png", 20000, 20000)
        # wider than WebP allows (16383): writing it as .webp fails
        Image.new("RGB", (16500, 8), (128, 128, 128)).save(out / "wide.png")
        # 100 megapixels, one colour (a small file)
        Image.new("RGB", (10000, 10000), (90, 120, 150)).save(out / "100mp.png")
        upright.save(out / "bmp.bmp")


if __name__ == "__main__":
    if sys.argv[1] == "--seeds":
        make(Path(__file__).parent / "data" / "astronaut.png", Path(sys.argv[2]), True)
        for p in Path(sys.argv[2]).glob("*.expected.png"):
            p.unlink()
    else:
        make(sys.argv[1], Path(sys.argv[2]), False)
