#!/usr/bin/python3
"""The training step in PyTorch eager, Python side of bench/compare_train_step.sh.

Same models (resnet20 with TensorFlow "same" padding, small-cnn), same batch, same GradSigns step and the
same timing as train_step_bench.cc (--device, --batch as there). Run it with the Python whose torch is the
LibTorch the C++ side links: Debian's python3-torch 1.13 (/usr/bin/python3) for build/, the venv of
scripts/setup-torch2.sh for build-torch2/.
Output: one CSV line per cell: impl,model,threads,step,median_ms,images_per_s
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F



class SameConv(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=(k // 2 if stride == 1 else 0))
        self.stride, self.k = stride, k

    def forward(self, x):
        if self.stride == 2 and self.k == 3:
            x = F.pad(x, (0, 1, 0, 1))  # TensorFlow "same": extra row/column at the bottom/right
        return self.conv(x)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = SameConv(cin, cout, 3, stride), bn(cout)
        self.conv2, self.bn2 = SameConv(cout, cout, 3, 1), bn(cout)
        self.shortcut = SameConv(cin, cout, 1, stride) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu((self.shortcut(x) if self.shortcut is not None else x) + y)


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0, self.bn0 = SameConv(3, 16, 3, 1), bn(16)
        blocks, cin = [], 16
        for s in range(3):
            for b in range(3):
                blocks.append(Block(cin, 16 << s, 2 if (s > 0 and b == 0) else 1))
                cin = 16 << s
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn0(self.conv0(x))))
        return self.fc(x.mean((2, 3)))


class SmallCnn(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        ch = [3, width, width, 2 * width, 2 * width]
        self.convs = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3, padding=1) for i in range(4))
        self.bns = nn.ModuleList(nn.BatchNorm2d(ch[i + 1], eps=1e-3) for i in range(4))
        self.fc = nn.Linear(2 * width * 8 * 8, 10)

    def block(self, x, i):
        return F.relu(self.bns[i](self.convs[i](x)))

    def forward(self, x):
        x = F.max_pool2d(self.block(self.block(x, 0), 1), 2)
        x = F.max_pool2d(self.block(self.block(x, 2), 3), 2)
        return self.fc(x.flatten(1))


def median_step_ms(model_name, threads, gradsigns, steps, batch, device):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = (ResNet20() if model_name == "resnet20" else SmallCnn()).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(1, 10, (batch,))
    y[:max(1, (batch * 13 + 64) // 128)] = 0
    x, y = x.to(device), y.to(device)
    g = torch.Generator().manual_seed(0)
    key = (torch.rand(64, 384, generator=g) * 2 - 1).to(device)
    bits = torch.randint(0, 2, (64,), generator=g).float().to(device)
    carriers = torch.randperm(3 * 32 * 32, generator=g)[:384].sort().values.to(device)
    ms = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        if gradsigns:
            xg = x.detach().requires_grad_(True)
            logits = model(xg)
            ce = F.cross_entropy(logits, y, reduction="sum")
            (grad,) = torch.autograd.grad(ce, xg, create_graph=True)
            rows = (y == 0).nonzero().squeeze(1)
            carrier_mean = grad.index_select(0, rows).reshape(rows.numel(), -1).index_select(1, carriers).sum(0) / rows.numel()
            reg = F.binary_cross_entropy_with_logits(key.mv(carrier_mean), bits)
            loss = ce / batch + 0.3 * reg
        else:
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= 3:
            ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms)


def main():
    def arg(name, default):
        return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

    steps = int(arg("--steps", 20))
    batch, device = int(arg("--batch", 128)), arg("--device", "cpu")
    only_model, only_threads = arg("--model", None), arg("--threads", None)
    for model in ("small-cnn", "resnet20"):
        for threads in (1, 2):
            if (only_model and only_model != model) or (only_threads and int(only_threads) != threads):
                continue
            for gradsigns in (False, True):
                ms = median_step_ms(model, threads, gradsigns, steps, batch, device)
                print(f"eager,{model},{threads},{'gradsigns' if gradsigns else 'plain'},{ms:.2f},{1000 * batch / ms:.1f}", flush=True)


if __name__ == "__main__":
    main()
