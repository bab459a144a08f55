# PyTorch twins of lastframe's bench cases, for `lastframe bench` (not part of lastframe: a reference only).
# Runs as a worker: reads one JSON command per line on stdin, answers one JSON line on stdout, so the
# TypeScript and PyTorch sides can be interleaved in rounds within one run.
#   {"op": "setup", "case": "reference", "threads": 2, "seed": 0}   -> {"ok": true}
#   {"op": "run", "steps": 5}                                         -> {"ms": [..]}
import json
import sys
import time

import torch

from twins_ddpm import ddpm_case
from twins_hvae import hvae_case
from twins_vq import CASES as VQ_CASES
from twins_eval import CASES as EVAL_CASES


class Reference(torch.nn.Module):
    """The issue's reference net: 3 convs, global mean, bias-free linear, mean of squares."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 64, 3, padding=1)
        self.c2 = torch.nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.c3 = torch.nn.Conv2d(64, 128, 3, stride=2, padding=1)
        self.fc = torch.nn.Linear(128, 10, bias=False)

    def forward(self, x):
        h = self.c1(x).relu()
        h = self.c2(h).relu()
        h = self.c3(h).relu()
        return self.fc(h.mean((2, 3))).square().mean()


def reference_case():
    net = Reference()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(32, 3, 32, 32)

    def step():
        loss = net(x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


CASES = {"reference": reference_case, "hvae": hvae_case, "ddpm": ddpm_case, **VQ_CASES, **EVAL_CASES}


def main():
    step = None
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "setup":
            torch.set_num_threads(cmd["threads"])
            torch.manual_seed(cmd.get("seed", 0))
            if cmd["case"] not in CASES:
                print(json.dumps({"error": f"no PyTorch twin for case {cmd['case']}"}), flush=True)
                continue
            step = CASES[cmd["case"]](**cmd.get("args", {}))
            print(json.dumps({"ok": True}), flush=True)
        elif cmd["op"] == "run":
            ms = []
            for _ in range(cmd["steps"]):
                t0 = time.perf_counter()
                step()
                ms.append((time.perf_counter() - t0) * 1000)
            print(json.dumps({"ms": ms}), flush=True)


if __name__ == "__main__":
    main()
