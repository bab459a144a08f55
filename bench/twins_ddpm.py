# PyTorch twin of lastframe's DDPM (src/models/ddpm.ts, src/models/unet.ts) for `lastframe bench` only: the same
# U-Net, the same ops in the same order, the same ε-loss, so the step-time ratio compares the libraries. Not part
# of lastframe. The presets mirror hps in ddpm.ts (keep them in sync); dropout is off on both sides.
import math

import torch
import torch.nn.functional as F

PRESETS = {
    "tiny": dict(width=16, mults=(1, 2), res_blocks=1, attention_max=16, heads=1, groups=8),
    "small": dict(width=32, mults=(1, 2, 2), res_blocks=1, attention_max=16, heads=1, groups=8),
    "standard": dict(width=64, mults=(1, 2, 2), res_blocks=2, attention_max=16, heads=1, groups=16),
}
TIMESTEPS = 1000


def zero(m):
    with torch.no_grad():
        m.weight.zero_()
        m.bias.zero_()
    return m


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = (torch.arange(half, dtype=torch.float32) * (-math.log(10000) / half)).exp()
    args = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([args.sin(), args.cos()], 1)


class ResBlock(torch.nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1 = torch.nn.GroupNorm(groups, cin)
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, padding=1)
        self.time = torch.nn.Linear(emb, cout)
        self.norm2 = torch.nn.GroupNorm(groups, cout)
        self.conv2 = zero(torch.nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = None if cin == cout else torch.nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(emb).unsqueeze(-1).unsqueeze(-1)
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(torch.nn.Module):
    def __init__(self, channels, heads, groups):
        super().__init__()
        self.norm = torch.nn.GroupNorm(groups, channels)
        self.qkv = torch.nn.Linear(channels, 3 * channels)
        self.proj = zero(torch.nn.Linear(channels, channels))
        self.heads = heads

    def forward(self, x):
        B, C, H, W = x.shape
        T, hd = H * W, C // self.heads
        seq = self.norm(x).flatten(2).transpose(1, 2)
        q, k, v = self.qkv(seq).view(B, T, 3, self.heads, hd).permute(2, 0, 3, 1, 4).unbind(0)
        att = (q @ k.transpose(-2, -1)).mul(1 / math.sqrt(hd)).softmax(-1)
        y = self.proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + y.transpose(1, 2).reshape(B, C, H, W)


class UNet(torch.nn.Module):
    def __init__(self, cfg, cin, cout, size):
        super().__init__()
        w, g = cfg["width"], cfg["groups"]
        self.width = w
        emb = 4 * w
        self.embed1 = torch.nn.Linear(w, emb)
        self.embed2 = torch.nn.Linear(emb, emb)
        self.input = torch.nn.Conv2d(cin, w, 3, padding=1)
        attends = lambda r: r <= cfg["attention_max"]
        mults = cfg["mults"]
        skips, ch, res = [w], w, size
        self.down = torch.nn.ModuleList()
        for i, m in enumerate(mults):
            blocks, attn = torch.nn.ModuleList(), torch.nn.ModuleList()
            for _ in range(cfg["res_blocks"]):
                blocks.append(ResBlock(ch, w * m, emb, g))
                ch = w * m
                attn.append(Attention(ch, cfg["heads"], g) if attends(res) else torch.nn.Identity())
                skips.append(ch)
            resample = None
            if i < len(mults) - 1:
                resample = torch.nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                skips.append(ch)
                res //= 2
            self.down.append(torch.nn.ModuleDict(dict(blocks=blocks, attn=attn, resample=resample or torch.nn.Identity())))
        self.mid1 = ResBlock(ch, ch, emb, g)
        self.mid_attn = Attention(ch, cfg["heads"], g) if attends(res) else torch.nn.Identity()
        self.mid2 = ResBlock(ch, ch, emb, g)
        self.up = torch.nn.ModuleList()
        for i in reversed(range(len(mults))):
            blocks, attn = torch.nn.ModuleList(), torch.nn.ModuleList()
            for _ in range(cfg["res_blocks"] + 1):
                blocks.append(ResBlock(ch + skips.pop(), w * mults[i], emb, g))
                ch = w * mults[i]
                attn.append(Attention(ch, cfg["heads"], g) if attends(res) else torch.nn.Identity())
            resample = None
            if i > 0:
                resample = torch.nn.Conv2d(ch, ch, 3, padding=1)
                res *= 2
            self.up.append(torch.nn.ModuleDict(dict(blocks=blocks, attn=attn, resample=resample or torch.nn.Identity())))
        self.out_norm = torch.nn.GroupNorm(g, ch)
        self.output = zero(torch.nn.Conv2d(ch, cout, 3, padding=1))
        self.levels = len(mults)

    def forward(self, x, t, extra):
        e = self.embed2(F.silu(self.embed1(timestep_embedding(t, self.width))))
        if extra is not None:
            e = e + extra
        emb = F.silu(e)
        h = self.input(x)
        skips = [h]
        for i, level in enumerate(self.down):
            for b, a in zip(level["blocks"], level["attn"]):
                h = a(b(h, emb))
                skips.append(h)
            if i < self.levels - 1:
                h = level["resample"](h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i, level in enumerate(self.up):
            for b, a in zip(level["blocks"], level["attn"]):
                h = a(b(torch.cat([h, skips.pop()], 1), emb))
            if i < self.levels - 1:
                h = level["resample"](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.output(F.silu(self.out_norm(h)))


def ddpm_case(preset="tiny", frames=1, batch=32, channels=1, size=32, lr=1e-3, clip=1.0):
    """One training step: ε-loss at a uniform t per frame, backward, clip, AdamW (β2 = 0.999, no decay)."""
    cfg = PRESETS[preset]
    net = UNet(cfg, channels * frames, channels, size)
    params = list(net.parameters())
    frame = None
    if frames > 1:
        frame = torch.zeros(frames, 4 * cfg["width"], requires_grad=True)
        params.append(frame)
    betas = torch.linspace(1e-4 * 1000 / TIMESTEPS, 0.02 * 1000 / TIMESTEPS, TIMESTEPS, dtype=torch.float64)
    alpha_bars = torch.cumprod(1 - betas, 0).tolist()
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=0)
    x = (torch.rand(batch, frames, channels, size, size) * 255).round() / 127.5 - 1
    earlier = torch.tensor([[1.0 if j < t else 0.0 for j in range(frames - 1)] for t in range(frames)])
    weights = torch.full((frames,), 1 / frames)
    n = batch * frames

    def step():
        x0 = x.reshape(n, channels, size, size)
        t = [1 + min(TIMESTEPS - 1, math.floor(u * TIMESTEPS)) for u in torch.rand(n).tolist()]
        a = torch.tensor([math.sqrt(alpha_bars[i - 1]) for i in t]).view(-1, 1, 1, 1)
        s = torch.tensor([math.sqrt(1 - alpha_bars[i - 1]) for i in t]).view(-1, 1, 1, 1)
        eps = torch.randn_like(x0)
        xt = x0 * a + eps * s
        extra = None
        if frames > 1:
            ctx = x.narrow(1, 0, frames - 1).unsqueeze(1) * earlier.view(1, frames, frames - 1, 1, 1, 1)
            xt = torch.cat([xt, ctx.reshape(n, (frames - 1) * channels, size, size)], 1)
            extra = frame.repeat(batch, 1)
        eps_hat = net(xt, torch.tensor(t, dtype=torch.float32), extra)
        per_frame = (eps_hat - eps).square().mean((1, 2, 3)).view(batch, frames)
        loss = (per_frame.mean(0) * weights).sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()

    return step
