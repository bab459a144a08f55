# PyTorch twins of lastframe's evaluation bench cases (src/eval/bench-cases.ts): feature extraction from uint8
# images through the feature nets of src/eval/featnets.ts and the FID Inception (tools/fid_inception_reference.py
# holds the PyTorch build of the latter, shared with the parity test). Configs come from the TypeScript side.
# Not part of lastframe.
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from fid_inception_reference import FidInception  # noqa: E402


class LeNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w1, w2 = cfg["widths"]
        self.c1 = nn.Conv2d(cfg["channels"], w1, 5)
        self.c2 = nn.Conv2d(w1, w2, 5)
        side = ((cfg["size"] - 4) // 2 - 4) // 2
        self.fc = nn.Linear(w2 * side * side, cfg["hidden"])

    def features(self, x):
        h = F.max_pool2d(self.c1(x).relu(), 2)
        h = F.max_pool2d(self.c2(h).relu(), 2)
        return self.fc(h.flatten(1)).relu()


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.n1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.n2 = nn.BatchNorm2d(cout)
        self.skip = nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        h = self.n2(self.c2(self.n1(self.c1(x)).relu()))
        return (h + (self.skip(x) if self.skip is not None else x)).relu()


class ResNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["widths"]
        self.stem = nn.Conv2d(cfg["channels"], w[0], 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(w[0])
        self.blocks = nn.ModuleList(BasicBlock(w[i], w[i + 1], 2) for i in range(len(w) - 1))

    def features(self, x):
        h = F.max_pool2d(self.norm(self.stem(x)).relu(), 2)
        for b in self.blocks:
            h = b(h)
        return h.mean((2, 3))


def featnet_case(cls):
    def make(cfg, batch):
        net = cls(cfg).eval()
        x = torch.randint(0, 256, (batch, cfg["channels"], cfg["size"], cfg["size"]), dtype=torch.uint8)

        @torch.no_grad()
        def step():
            net.features(x.float() / 127.5 - 1)

        return step

    return make


def inception_case(batch):
    net = FidInception().eval()
    x = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)

    @torch.no_grad()
    def step():
        net(x)  # pool3 and the 1008-way head; the head is 2 MFLOP of the 5.7 GFLOP

    return step


CASES = {"featnet-lenet": featnet_case(LeNet), "featnet-resnet": featnet_case(ResNet), "inception": inception_case}
