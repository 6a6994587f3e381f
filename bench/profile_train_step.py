#!/usr/bin/python3
"""Where a training step's time goes: PyTorch's autograd profiler over the eager step of
train_step_eager.py (the same ATen/oneDNN kernels the C++ step calls), plain and GradSigns.

  python bench/profile_train_step.py [--model resnet20] [--threads 2] [--steps 5] [--batch 128] [--rows 15]

Prints, per step kind, the ops with the most self CPU time (summed over --steps profiled steps after 2
warm-up steps), and the share of the step spent in convolution backward kernels (first and second order).
"""
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from train_step_eager import ResNet20, SmallCnn  # noqa: E402


def arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    model_name, threads, steps = arg("--model", "resnet20"), arg("--threads", 2), arg("--steps", 5)
    batch, rows = arg("--batch", 128), arg("--rows", 15)
    torch.set_num_threads(threads)
    for gradsigns in (False, True):
        torch.manual_seed(0)
        model = ResNet20() if model_name == "resnet20" else SmallCnn()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        x, y = torch.randn(batch, 3, 32, 32), torch.randint(1, 10, (batch,))
        y[: max(1, (batch * 13 + 64) // 128)] = 0
        g = torch.Generator().manual_seed(0)
        key = torch.rand(64, 384, generator=g) * 2 - 1
        bits = torch.randint(0, 2, (64,), generator=g).float()
        carriers = torch.randperm(3 * 32 * 32, generator=g)[:384].sort().values

        def step():
            opt.zero_grad()
            if gradsigns:
                xg = x.detach().requires_grad_(True)
                ce = F.cross_entropy(model(xg), y, reduction="sum")
                (grad,) = torch.autograd.grad(ce, xg, create_graph=True)
                rows_t = (y == 0).nonzero().squeeze(1)
                mean = grad.index_select(0, rows_t).reshape(rows_t.numel(), -1).index_select(1, carriers).sum(0) / rows_t.numel()
                loss = ce / batch + 0.3 * F.binary_cross_entropy_with_logits(key.mv(mean), bits)
            else:
                loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

        for _ in range(2):
            step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                step()
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        conv_bw = sum(e.self_cpu_time_total for e in events if "convolution_backward" in e.key or "conv" in e.key and "backward" in e.key)
        print(f"== {model_name} {'GradSigns' if gradsigns else 'plain'} step, batch {batch}, {threads} threads, torch {torch.__version__}: "
              f"{total / steps / 1000:.0f} ms self CPU per step; convolution backward {100 * conv_bw / total:.0f}%")
        print(events.table(sort_by="self_cpu_time_total", row_limit=rows))


if __name__ == "__main__":
    main()
