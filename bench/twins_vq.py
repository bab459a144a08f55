# PyTorch twins of lastframe's VQ-VAE family (src/models/vqvae.ts, vq-prior.ts, vq-video.ts), for `lastframe bench`
# and for the parity fixtures of test/models (test/fixtures/models/make_vq_fixtures.py imports these classes).
# Same layers, same parameter names (so state dicts are interchangeable), same ops in the same order, so that
# step-time ratios compare the libraries. Not part of lastframe. Configs come from the TypeScript side, as the
# resolved hps objects of src/models/vq.ts.
import math

import torch
import torch.nn.functional as F
from torch import nn

# ***** VQ-VAE *****


class ResBlock(nn.Module):
    def __init__(self, width, inner):
        super().__init__()
        self.c1 = nn.Conv2d(width, inner, 3, padding=1)
        self.c2 = nn.Conv2d(inner, width, 1)

    def forward(self, x):
        return x + self.c2(self.c1(x.relu()).relu())


class Encoder(nn.Module):
    def __init__(self, cfg, channels, levels):
        super().__init__()
        w = cfg["width"]
        widths = [w if i == levels - 1 else w // 2 for i in range(levels)]
        ins = [channels] + widths[:-1]
        self.down = nn.ModuleList(nn.Conv2d(i, o, 4, stride=2, padding=1) for i, o in zip(ins, widths))
        self.mid = nn.Conv2d(w, w, 3, padding=1)
        self.res = nn.ModuleList(ResBlock(w, cfg["resWidth"]) for _ in range(cfg["resBlocks"]))
        self.out = nn.Conv2d(w, cfg["codeDim"], 1)

    def forward(self, x):
        for d in self.down:
            x = d(x).relu()
        x = self.mid(x)
        for r in self.res:
            x = r(x)
        return self.out(x.relu())


class Decoder(nn.Module):
    def __init__(self, cfg, channels, levels):
        super().__init__()
        w = cfg["width"]
        self.inp = nn.Conv2d(cfg["codeDim"], w, 3, padding=1)
        self.res = nn.ModuleList(ResBlock(w, cfg["resWidth"]) for _ in range(cfg["resBlocks"]))
        widths = [channels if i == levels - 1 else w // 2 for i in range(levels)]
        ins = [w] + widths[:-1]
        self.up = nn.ModuleList(nn.ConvTranspose2d(i, o, 4, stride=2, padding=1) for i, o in zip(ins, widths))

    def forward(self, z):
        h = self.inp(z)
        for r in self.res:
            h = r(h)
        h = h.relu()
        for i, u in enumerate(self.up):
            h = u(h).relu() if i < len(self.up) - 1 else u(h)
        return h


class Codebook(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        K, D = cfg["codes"], cfg["codeDim"]
        embed = torch.empty(K, D).uniform_(-1 / K, 1 / K)
        self.ema = cfg["codebook"] == "ema"
        if self.ema:
            self.register_buffer("embed", embed)
        else:
            self.embed = nn.Parameter(embed)
        self.register_buffer("size", torch.zeros(K))
        if self.ema:
            self.register_buffer("sum", torch.zeros(K, D))

    def nearest(self, z):
        with torch.no_grad():
            return (self.embed.square().sum(1) - 2 * (z @ self.embed.t())).argmin(1)

    def forward(self, ze):
        N, D, g, _ = ze.shape
        K = self.cfg["codes"]
        flat = ze.permute(0, 2, 3, 1).reshape(-1, D)
        idx = self.nearest(flat)
        q = F.embedding(idx, self.embed)
        loss = F.mse_loss(flat, q.detach()) * self.cfg["beta"]
        if not self.ema:
            loss = loss + F.mse_loss(flat.detach(), q)
        counts = torch.zeros(K).scatter_add(0, idx, torch.ones(idx.shape[0]))
        p = counts / idx.shape[0]
        perplexity = (p * (p + 1e-10).log()).sum().neg().exp()
        usage = (counts > 0).float().mean()
        if self.training:
            self.update(flat.detach(), idx, counts)
        st = flat + (q - flat).detach()
        return st.view(N, g, g, D).permute(0, 3, 1, 2), idx.view(N, g, g), loss, perplexity, usage

    @torch.no_grad()
    def update(self, z, idx, counts):
        decay, thr = self.cfg["decay"], self.cfg["restartBelow"]
        K, D = self.cfg["codes"], self.cfg["codeDim"]
        self.size.lerp_(counts, 1 - decay)
        dead = self.size < thr
        fresh = z[torch.randint(0, z.shape[0], (K,))]
        rows = dead.unsqueeze(1)
        if self.ema:
            sums = torch.zeros(K, D).scatter_add(0, idx.unsqueeze(1).expand(-1, D), z)
            self.sum.lerp_(sums, 1 - decay)
            self.sum.copy_(torch.where(rows, fresh * thr, self.sum))
            self.size.copy_(torch.where(dead, torch.full((K,), float(thr)), self.size))
            n = self.size.sum()
            smoothed = (self.size + 1e-5) / (n + K * 1e-5) * n
            self.embed.copy_(self.sum / smoothed.unsqueeze(1))
        else:
            self.embed.copy_(torch.where(rows, fresh, self.embed))
            self.size.copy_(torch.where(dead, torch.full((K,), float(thr)), self.size))


class VQVAE(nn.Module):
    def __init__(self, cfg, channels, size):
        super().__init__()
        levels = int(math.log2(size // cfg["grid"]))
        self.enc = Encoder(cfg, channels, levels)
        self.vq = Codebook(cfg)
        self.dec = Decoder(cfg, channels, levels)

    def forward(self, x):
        zq, idx, vq_loss, perplexity, usage = self.vq(self.enc(x))
        return self.dec(zq), idx, vq_loss

    def loss(self, x):
        recon, _, vq_loss = self(x)
        return F.mse_loss(recon, x) + vq_loss


# ***** the transformer prior *****


SCORE_BYTES = 16 * 1024 * 1024


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, C = x.shape
        hd = C // self.heads
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, hd).permute(2, 0, 3, 1, 4).unbind(0)
        forbidden = torch.ones(T, T, dtype=torch.bool).triu(1)
        # Batch chunks whose scores stay under 16 MiB, as lastframe does (src/nn/attention.ts, SCORE_BYTES).
        rows = max(1, SCORE_BYTES // (4 * self.heads * T * T))
        parts = []
        for qc, kc, vc in zip(q.split(rows), k.split(rows), v.split(rows)):
            att = (qc @ kc.transpose(-2, -1)) * (1 / math.sqrt(hd))
            parts.append(att.masked_fill(forbidden, float("-inf")).softmax(-1) @ vc)
        y = parts[0] if len(parts) == 1 else torch.cat(parts, 0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, 4 * dim)
        self.proj = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg["embd"])
        self.attn = Attention(cfg["embd"], cfg["heads"])
        self.ln2 = nn.LayerNorm(cfg["embd"])
        self.mlp = Mlp(cfg["embd"])

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.mlp(self.ln2(h))


class CodePrior(nn.Module):
    """The image prior (frames=1) and its video counterpart (frames>1, with `time` and the attention choice)."""

    def __init__(self, cfg, codes, per_frame, frames=1, attention="full"):
        super().__init__()
        assert cfg["dropout"] == 0, "the twin has no dropout"
        self.codes, self.per_frame, self.frames = codes, per_frame, frames
        self.markov = attention == "first-order" and frames > 1
        D = cfg["embd"]
        self.tok = nn.Embedding(codes + 1, D)
        self.pos = nn.Embedding(per_frame, D)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg["layers"]))
        self.ln = nn.LayerNorm(D)
        self.head = None if cfg["tie"] else nn.Linear(D, codes, bias=False)
        if frames > 1:
            self.time = nn.Parameter(torch.zeros(frames, D))

    def positions(self, n):
        if self.frames == 1:
            return self.pos.weight[:n]
        p = torch.arange(n)
        return self.pos(p % self.per_frame) + self.time[p // self.per_frame]

    def transform(self, x):
        for b in self.blocks:
            x = b(x)
        x = self.ln(x)
        return self.head(x) if self.head is not None else F.linear(x, self.tok.weight[: self.codes])

    def inputs(self, codes):
        start = torch.full((*codes.shape[:-1], 1), self.codes, dtype=torch.long)
        return torch.cat([start, codes[..., :-1]], -1)

    def code_nll(self, logits, codes):
        return F.cross_entropy(logits.reshape(-1, self.codes), codes.reshape(-1), reduction="none").view(codes.shape)

    def nll(self, codes):
        B, L = codes.shape
        if not self.markov:
            return self.code_nll(self.transform(self.tok(self.inputs(codes)) + self.positions(L)), codes)
        # First order: windows [start, frame t-1, frame t] at their absolute positions.
        S, W = self.per_frame, self.frames - 1
        windows = codes.unfold(1, 2 * S, S)
        positions = self.positions(L).unfold(0, 2 * S, S).transpose(1, 2)
        x = self.tok(self.inputs(windows)) + positions
        nll = self.code_nll(self.transform(x.reshape(B * W, 2 * S, -1)).view(B, W, 2 * S, self.codes), windows)
        return torch.cat([nll[:, 0, :S], nll[:, :, S:].reshape(B, W * S)], 1)


# ***** bench cases *****


def vqvae_case(cfg, channels, size, batch, frames):
    model = VQVAE(cfg, channels, size)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch * frames, channels, size, size) * 2 - 1

    def step():
        loss = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def prior_case(cfg, batch, frames, attention):
    per_frame = cfg["grid"] ** 2
    model = CodePrior(cfg, cfg["codes"], per_frame, frames, attention)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    codes = torch.randint(0, cfg["codes"], (batch, frames * per_frame))

    def step():
        loss = model.nll(codes).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


CASES = {"vqvae": vqvae_case, "vq-prior": prior_case}
