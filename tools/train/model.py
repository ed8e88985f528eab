"""LNLNet: our reimplementation of the Local Non-Local joint network (arXiv:2203.14045)
from its published abstract. The C engine (engine/lnl_net.c) computes exactly this graph;
every size comes from the configuration, which is written into the weights metadata.

    crop -> U-Net -> F (half resolution)
      F -> R fixed regions -> R local nets (grouped conv, no shared weights) -> l_1..l_R
      F -> avg-pool -> non-local block -> per-region pooled context -> scores -> softmax -> a
      fused = [sum_r a_r l_r, global feature] -> linear -> 8 logits
    global feature: GAP(bottleneck), or with global_hidden > 0 the bottleneck average-pooled
    to a global_pool x global_pool grid, flattened (channel-major), linear + ReLU, so that the
    classifier also sees where on the face the deep features are
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBN(nn.Sequential):
    """conv (no bias) + batch-norm + ReLU; the engine folds the BN into the conv."""

    def __init__(self, cin, cout, k=3, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class UNet(nn.Module):
    """Four-level encoder, decoder back to half resolution with concatenated skips.
    The decoder's widths (d2, d1) default to the encoder's (w2, w1); a narrower decoder lets
    the encoder grow wide at low resolution without paying for it twice."""

    def __init__(self, cin, widths, fch, decoder_widths=None):
        super().__init__()
        w0, w1, w2, w3 = widths
        d2, d1 = decoder_widths or (w2, w1)
        self.enc0 = nn.Sequential(ConvBN(cin, w0), ConvBN(w0, w0))
        self.enc1 = nn.Sequential(ConvBN(w0, w1), ConvBN(w1, w1))
        self.enc2 = nn.Sequential(ConvBN(w1, w2), ConvBN(w2, w2))
        self.enc3 = nn.Sequential(ConvBN(w2, w3), ConvBN(w3, w3))
        self.up2 = ConvBN(w3, d2, k=1)
        self.dec2 = ConvBN(d2 + w2, d2)
        self.up1 = ConvBN(d2, d1, k=1)
        self.dec1 = ConvBN(d1 + w1, fch)

    def forward(self, x):
        e0 = self.enc0(x)
        e1 = self.enc1(F.max_pool2d(e0, 2))
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        d2 = self.up2(F.interpolate(e3, size=e2.shape[-2:], mode="bilinear", align_corners=False))
        d2 = self.dec2(torch.cat([d2, e2], 1))
        d1 = self.up1(F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False))
        d1 = self.dec1(torch.cat([d1, e1], 1))
        return d1, e3


class NonLocalAttention(nn.Module):
    """Non-local (self-attention) block over the pooled feature map, then one score per
    region from the region's pooled context; softmax over regions gives the weights."""

    def __init__(self, fch, inner, hidden, regions, pool):
        super().__init__()
        self.pool = pool
        self.regions = regions
        self.inner = inner
        self.theta = nn.Conv2d(fch, inner, 1)
        self.phi = nn.Conv2d(fch, inner, 1)
        self.g = nn.Conv2d(fch, inner, 1)
        self.out = nn.Conv2d(inner, fch, 1, bias=False)
        self.out_bn = nn.BatchNorm2d(fch)
        self.score1 = nn.Linear(fch, hidden)
        self.score2 = nn.Linear(hidden, 1)
        self.region_bias = nn.Parameter(torch.zeros(len(regions)))

    def forward(self, f):
        p = F.avg_pool2d(f, self.pool)
        b, c, h, w = p.shape
        t = self.theta(p).flatten(2)  # b, inner, n
        ph = self.phi(p).flatten(2)
        g = self.g(p).flatten(2)
        att = torch.softmax(torch.bmm(t.transpose(1, 2), ph) / math.sqrt(self.inner), dim=-1)
        y = torch.bmm(g, att.transpose(1, 2)).view(b, self.inner, h, w)
        z = p + self.out_bn(self.out(y))
        s = self.pool
        ctx = torch.stack(
            [z[:, :, y0 // s:(y0 + rh) // s, x0 // s:(x0 + rw) // s].mean((2, 3))
             for x0, y0, rw, rh in self.regions], 1)  # b, R, c
        scores = self.score2(F.relu(self.score1(ctx))).squeeze(-1) + self.region_bias
        return torch.softmax(scores, dim=-1)


class LocalNets(nn.Module):
    """One small CNN per region, run as grouped convolutions (group r = region r)."""

    def __init__(self, fch, width, nreg, ncls):
        super().__init__()
        self.nreg = nreg
        self.width = width
        self.conv1 = ConvBN(nreg * fch, nreg * width, groups=nreg)
        self.conv2 = ConvBN(nreg * width, nreg * width, groups=nreg)
        # per-region heads: deep supervision during training only, not exported
        self.heads = nn.Conv1d(nreg * width, nreg * ncls, 1, groups=nreg)

    def forward(self, crops):
        x = self.conv1(crops)
        x = F.max_pool2d(x, 2)
        x = self.conv2(x)
        feats = x.mean((2, 3))  # b, R*width
        region_logits = self.heads(feats.unsqueeze(-1)).view(feats.shape[0], self.nreg, -1)
        return feats.view(-1, self.nreg, self.width), region_logits


class LNLNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.regions = [tuple(r) for r in cfg["regions"]]
        nreg = len(self.regions)
        ncls = len(cfg["classes"])
        fch = cfg["feature_channels"]
        self.unet = UNet(cfg["input_channels"], cfg["unet_widths"], fch, cfg.get("decoder_widths"))
        self.local = LocalNets(fch, cfg["local_width"], nreg, ncls)
        self.nonlocal_net = NonLocalAttention(fch, cfg["nonlocal_inner"], cfg["attention_hidden"],
                                              self.regions, cfg["nonlocal_pool"])
        self.dropout = nn.Dropout(0.3)
        w3 = cfg["unet_widths"][3]
        self.global_hidden = cfg.get("global_hidden", 0)
        self.global_pool = cfg.get("global_pool", 1)
        if self.global_hidden:
            self.global_fc = nn.Linear(w3 * self.global_pool ** 2, self.global_hidden)
        glob_dim = self.global_hidden or w3
        self.classifier = nn.Linear(cfg["local_width"] + glob_dim, ncls)

    def global_feature(self, bottleneck):
        if not self.global_hidden:
            return bottleneck.mean((2, 3))
        g = F.adaptive_avg_pool2d(bottleneck, self.global_pool).flatten(1)
        return F.relu(self.global_fc(self.dropout(g)))

    def forward(self, x):
        f, bottleneck = self.unet(x)
        crops = torch.cat([f[:, :, y0:y0 + h, x0:x0 + w] for x0, y0, w, h in self.regions], 1)
        local_feats, region_logits = self.local(crops)
        weights = self.nonlocal_net(f)
        fused = (weights.unsqueeze(-1) * local_feats).sum(1)
        glob = self.global_feature(bottleneck)
        logits = self.classifier(self.dropout(torch.cat([fused, glob], 1)))
        return logits, weights, region_logits


EXPORT_SKIP = ("num_batches_tracked", "local.heads.")


def export_state(model):
    """The tensors the engine needs, by name (training-only ones dropped)."""
    return {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
            if not any(s in k for s in EXPORT_SKIP)}


def count_macs(model, size, cin):
    """Multiply-adds per face, counted from conv/linear/bmm shapes with hooks."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += out.numel() // out.shape[0] * k

    def lin_hook(m, inp, out):
        total[0] += out.numel() // out.shape[0] * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d) or isinstance(m, nn.Conv1d):
            if isinstance(m, nn.Conv1d):
                continue  # training-only region heads
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, cin, size, size))
    for h in hooks:
        h.remove()
    # attention products: theta^T phi and g * att
    n = (size // 2 // model.cfg["nonlocal_pool"]) ** 2
    total[0] += 2 * n * n * model.cfg["nonlocal_inner"]
    return total[0]
