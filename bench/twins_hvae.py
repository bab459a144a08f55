# PyTorch twin of lastframe's HVAE (src/models/hvae.ts, src/models/dmol.ts) for `lastframe bench` only: the same
# layer shapes, the same ops in the same order, so the step-time ratio compares the libraries. Not part of
# lastframe. The presets mirror hps in hvae.ts (keep them in sync).
import math

import torch
import torch.nn.functional as F

PRESETS = {
    "tiny": dict(width=16, bottleneck=0.25, zdim=4, enc="32d2,16d2,8d2,4d4,1x1", dec="1x1,4m1,8m4,16m8,32m16", mixtures=3),
    "small": dict(
        width=32,
        bottleneck=0.25,
        zdim=8,
        enc="32x2,32d2,16x2,16d2,8x2,8d2,4x2,4d4,1x1",
        dec="1x1,4m1,4x1,8m4,8x1,16m8,16x1,32m16,32x1",
        mixtures=5,
    ),
    "standard": dict(
        width=64,
        bottleneck=0.25,
        zdim=16,
        enc="32x1,32d2,16x2,16d2,8x2,8d2,4x2,4d4,1x2",
        dec="1x2,4m1,4x2,8m4,8x3,16m8,16x3,32m16",
        mixtures=10,
    ),
}


def parse_enc(s):
    out = []
    for tok in s.split(","):
        if "x" in tok:
            r, n = map(int, tok.split("x"))
            out += [(r, 1)] * n
        else:
            r, d = map(int, tok.split("d"))
            out.append((r, d))
    return out


def parse_dec(s):
    out = []
    for tok in s.split(","):
        if "x" in tok:
            r, n = map(int, tok.split("x"))
            out += [(r, None)] * n
        else:
            r, m = map(int, tok.split("m"))
            out.append((r, m))
    return out


def conv(cin, cout, k, scale=1.0, bias=True):
    c = torch.nn.Conv2d(cin, cout, k, padding=(k - 1) // 2, bias=bias)
    with torch.no_grad():
        if bias:
            c.bias.zero_()
        c.weight.mul_(scale)
    return c


class Block(torch.nn.Module):
    def __init__(self, cin, mid, cout, residual, res, down=1, last_scale=1.0):
        super().__init__()
        k = 3 if res > 2 else 1
        self.c1, self.c2, self.c3 = conv(cin, mid, 1), conv(mid, mid, k), conv(mid, mid, k)
        self.c4 = conv(mid, cout, 1, last_scale)
        self.residual, self.down = residual, down

    def forward(self, x):
        h = self.c1(F.gelu(x))
        h = self.c2(F.gelu(h))
        h = self.c3(F.gelu(h))
        h = self.c4(F.gelu(h))
        out = x + h if self.residual else h
        return F.avg_pool2d(out, self.down) if self.down > 1 else out


class Encoder(torch.nn.Module):
    def __init__(self, cfg, channels, tokens):
        super().__init__()
        w, mid = cfg["width"], max(1, round(cfg["width"] * cfg["bottleneck"]))
        self.stem = conv(channels, w, 3)
        s = math.sqrt(1 / len(tokens))
        self.blocks = torch.nn.ModuleList([Block(w, mid, w, True, r, d, s) for r, d in tokens])

    def forward(self, x):
        h = self.stem(x)
        acts = {h.shape[2]: h}
        for b in self.blocks:
            h = b(h)
            acts[h.shape[2]] = h
        return acts


def gaussian_kl(qm, qs, pm, ps):
    num = (qs * 2).exp() + (qm - pm).square()
    return num * (ps * -2).exp() * 0.5 + ps - qs - 0.5


class DecBlock(torch.nn.Module):
    def __init__(self, cfg, res, mixin, depth, ctx_width):
        super().__init__()
        w, mid, s = cfg["width"], max(1, round(cfg["width"] * cfg["bottleneck"])), math.sqrt(1 / depth)
        self.res, self.mixin, self.zdim = res, mixin, cfg["zdim"]
        self.enc = Block(2 * w, mid, 2 * self.zdim, False, res)
        self.prior = Block(w, mid, 2 * self.zdim + w, False, res, last_scale=0.0)
        self.zproj = conv(self.zdim, w, 1, s)
        self.resnet = Block(w, mid, w, True, res, last_scale=s)
        self.ctx = conv(ctx_width, w, 1, 0.0, bias=False) if ctx_width else None

    def forward(self, x, acts, ctx):
        if self.ctx is not None and ctx is not None:
            x = x + self.ctx(ctx)
        q = self.enc(torch.cat([x, acts], 1))
        qm, qs = q.narrow(1, 0, self.zdim), q.narrow(1, self.zdim, self.zdim)
        f = self.prior(x)
        pm, ps, upd = f.narrow(1, 0, self.zdim), f.narrow(1, self.zdim, self.zdim), f.narrow(1, 2 * self.zdim, f.shape[1] - 2 * self.zdim)
        x = x + upd
        z = qm + qs.exp() * torch.randn_like(qm)
        kl = gaussian_kl(qm, qs, pm, ps).sum((1, 2, 3))
        x = self.resnet(x + self.zproj(z))
        return x, kl


class Decoder(torch.nn.Module):
    def __init__(self, cfg, tokens, ctx_width):
        super().__init__()
        self.blocks = torch.nn.ModuleList([DecBlock(cfg, r, m, len(tokens), ctx_width) for r, m in tokens])
        self.resolutions = list(dict.fromkeys(r for r, _ in tokens))
        self.start = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(1, cfg["width"], r, r)) for r in self.resolutions])
        self.gain = torch.nn.Parameter(torch.zeros(1, cfg["width"], 1, 1) + 1)
        self.shift = torch.nn.Parameter(torch.zeros(1, cfg["width"], 1, 1))

    def forward(self, acts, ctx):
        state, kls = {}, []
        n = next(iter(acts.values())).shape[0]
        for b in self.blocks:
            x = state.get(b.res)
            if x is None:
                x = self.start[self.resolutions.index(b.res)].expand(n, -1, -1, -1)
            if b.mixin is not None:
                x = x + F.interpolate(state[b.mixin], scale_factor=b.res // b.mixin)
            x, kl = b(x, acts[b.res], None if ctx is None else ctx[b.res])
            state[b.res] = x
            kls.append(kl)
        return state[self.resolutions[-1]] * self.gain + self.shift, kls


class DMoL(torch.nn.Module):
    def __init__(self, width, channels, mixtures):
        super().__init__()
        self.C, self.M = channels, mixtures
        self.conv = torch.nn.Conv2d(width, mixtures * (1 + 2 * channels + channels * (channels - 1) // 2), 1)

    def log_prob(self, h, x):
        h = self.conv(h)
        B, _, H, W = h.shape
        C, M = self.C, self.M
        logits = h.narrow(1, 0, M)
        means = h.narrow(1, M, C * M).reshape(B, C, M, H, W)
        log_s = h.narrow(1, M * (1 + C), C * M).reshape(B, C, M, H, W).clamp(min=-7)
        coefs = [h.narrow(1, M * (1 + 2 * C) + k * M, M).tanh() for k in range(C * (C - 1) // 2)]
        xs = x.unbind(1)
        logp = logits.log_softmax(1)
        for c in range(C):
            xc = xs[c].unsqueeze(1)
            ls = log_s.select(1, c)
            mean = means.select(1, c)
            for prev in range(c):
                mean = mean + coefs[c * (c - 1) // 2 + prev] * xs[prev].unsqueeze(1)
            centred = xc - mean
            inv = ls.neg().exp()
            plus_in = inv * (centred + 1 / 255)
            min_in = inv * (centred - 1 / 255)
            log_cdf_plus = plus_in - F.softplus(plus_in)
            log_surv = -F.softplus(min_in)
            delta = plus_in.sigmoid() - min_in.sigmoid()
            mid_in = inv * centred
            log_pdf_mid = mid_in - ls - F.softplus(mid_in) * 2 - math.log(127.5)
            inner = torch.where(delta > 1e-5, delta.clamp(min=1e-12).log(), log_pdf_mid)
            logp = logp + torch.where(xc < -0.999, log_cdf_plus, torch.where(xc > 0.999, log_surv, inner))
        return logp.logsumexp(1)


class HVAE(torch.nn.Module):
    def __init__(self, cfg, channels, size, frames, pad):
        super().__init__()
        self.cfg, self.size, self.frames, self.pad = cfg, size, frames, pad
        self.channels = channels
        ctx_width = (2 if cfg.get("context", "full") == "full" else 1) * cfg["width"] if frames > 1 else 0
        self.enc = Encoder(cfg, channels, parse_enc(cfg["enc"]))
        self.dec = Decoder(cfg, parse_dec(cfg["dec"]), ctx_width)
        self.out = DMoL(cfg["width"], channels, cfg["mixtures"])

    def context(self, acts, B, T):
        if T == 1:
            return None
        out = {}
        for r in self.dec.resolutions:
            a = acts[r]
            _, C, H, W = a.shape
            v = a.reshape(B, T, C, H, W)
            none = torch.zeros(B, 1, C, H, W)
            ctx = torch.cat([none, v.narrow(1, 0, T - 1)], 1)
            if self.cfg.get("context", "full") == "full":
                counts = (torch.zeros(1, T - 1, 1, 1, 1) + 1).cumsum(1)
                means = v.narrow(1, 0, T - 1).cumsum(1) / counts
                ctx = torch.cat([ctx, torch.cat([none, means], 1)], 2)
            out[r] = ctx.reshape(B * T, -1, H, W)
        return out

    def loss(self, videos):
        B, T, C, H, W = videos.shape
        x = videos.reshape(B * T, C, H, W)
        acts = self.enc(x)
        h, kls = self.dec(acts, self.context(acts, B, T))
        p, s = self.pad, self.size
        dims = C * (s - 2 * p) ** 2
        logp = self.out.log_prob(h, x)
        if p > 0:
            logp = logp.narrow(1, p, s - 2 * p).narrow(2, p, s - 2 * p)
        distortion = logp.sum((1, 2)).neg() / dims
        kl = kls[0]
        for k in kls[1:]:
            kl = kl + k
        rate = kl / dims
        return (distortion + rate).mean()


def hvae_case(preset="tiny", frames=1, batch=32, channels=1, pad=2, lr=1e-3, clip=200.0):
    """One training step: loss, backward, clip, AdamW (β2 = 0.9), as src/train/loop.ts does."""
    model = HVAE(PRESETS[preset], channels, 32, frames, pad)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.9), weight_decay=0.01)
    x = (torch.rand(batch, frames, channels, 32, 32) * 255).round() / 127.5 - 1

    def step():
        loss = model.loss(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()

    return step
