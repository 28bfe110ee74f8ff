"""The PyTorch oracle for Miya's training controls (README.md "Training controls"), float64.

    /usr/bin/python3 tests/oracle/torch_controls.py CASES.json     prints a JSON list on stdout

Each case is {"name", "spec", "train": {"x", "y"}, "test": {"x", "y"} or absent}: a Miya run spec
(explicit initial weights, no shuffling) whose data the test hands over as arrays (the training
samples, and the held-out ones its CSV holds out). The model and the loss are torch_oracle.py's;
what this file adds is written from PyTorch's documentation, not from Miya's code:
  - weightDecay as the weight_decay argument of torch.optim.SGD, RMSprop and Adam; "adamw" as
    torch.optim.AdamW (weight decay 0.01 unless given); nesterov as SGD(nesterov=True);
  - clipNorm as torch.nn.utils.clip_grad_norm_, clipValue as clip_grad_value_, between backward()
    and step();
  - schedules as StepLR, ExponentialLR, CosineAnnealingLR (not stepped past its T_max: Miya holds
    the minimum there) and ReduceLROnPlateau (mode "min", threshold_mode "abs", threshold minDelta,
    on the held-out loss after each epoch); warmup W multiplies the scheduler's rate by
    min(1, (t + 1)/W) for step t, the scheduler keeping its own rate;
  - early stopping by hand, as the README states it: after each epoch the held-out loss; better
    than the best by more than minDelta keeps these parameters, else a bad epoch; `patience` bad
    epochs in a row stop the run; restoreBest puts the best epoch's parameters back at the end.
Miya's RMSprop with ε inside the root has no torch.optim form; it is written here by hand, its
weight decay as PyTorch's RMSprop documents it (g ← g + λθ).
Prints {"name", "losses", "lrs", "params", "grads" (the last step's, before clipping),
"evaluations": [{"epoch", "loss"}], "stoppedEpoch", "bestEpoch", "clipActive" (whether clipping changed
any step's gradient)} per case.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_oracle import MLP, RNN, loss_of, main, tensor  # noqa: E402


class RMSpropEpsInside(torch.optim.Optimizer):
    """v = α·v + (1 − α)·g²;  θ −= γ·g / √(v + ε), with g ← g + λθ first (PyTorch's weight_decay)."""

    def __init__(self, params, lr, alpha, eps, weight_decay):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(p)
                v = state["square_avg"]
                v.mul_(group["alpha"]).addcmul_(g, g, value=1 - group["alpha"])
                p.addcdiv_(g, (v + group["eps"]).sqrt(), value=-group["lr"])


def optimizer_for(o, params):
    kind, lr = o["type"], o["lr"]
    wd = o.get("weightDecay", 0.01 if kind == "adamw" else 0.0)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.9), nesterov=o.get("nesterov", False), weight_decay=wd)
    if kind == "rmsprop":
        rho, eps = o.get("rho", 0.9), o.get("eps", 1e-8)
        if o.get("epsInsideSqrt", True):
            return RMSpropEpsInside(params, lr=lr, alpha=rho, eps=eps, weight_decay=wd)
        return torch.optim.RMSprop(params, lr=lr, alpha=rho, eps=eps, weight_decay=wd)
    betas, eps = (o.get("beta1", 0.9), o.get("beta2", 0.999)), o.get("eps", 1e-8)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    raise SystemExit(f"unknown optimizer {kind}")


def scheduler_for(s, opt):
    if s is None:
        return None
    kind = s["type"]
    S = torch.optim.lr_scheduler
    if kind == "step":
        return S.StepLR(opt, step_size=s["every"], gamma=s["gamma"])
    if kind == "exponential":
        return S.ExponentialLR(opt, gamma=s["gamma"])
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=s["steps"], eta_min=s.get("min", 0.0))
    if kind == "plateau":
        return S.ReduceLROnPlateau(opt, mode="min", factor=s["factor"], patience=s["patience"], threshold=s.get("minDelta", 0.0),
                                   threshold_mode="abs", cooldown=0, min_lr=0.0)
    raise SystemExit(f"unknown schedule {kind}")


def train(case):
    spec = case["spec"]
    model = spec["model"]
    net = MLP(model) if model["type"] == "mlp" else RNN(model)
    params = net.trained()
    o = spec["optimizer"]
    opt = optimizer_for(o, params)
    sched_spec = spec.get("schedule")
    sched = scheduler_for(sched_spec, opt)
    warmup = sched_spec.get("warmup") if sched_spec else None
    early = spec.get("earlyStopping")
    x, y = tensor(case["train"]["x"]), tensor(case["train"]["y"])
    test = case.get("test")
    n = x.shape[0]
    bs = min(spec.get("batchSize", n), n)
    per_epoch = math.ceil(n / bs)
    steps = spec.get("steps") or (spec["epochs"] * per_epoch if "epochs" in spec else 1)
    losses, lrs, evaluations = [], [], []
    best, best_epoch, bad, stopped_epoch, best_params = math.inf, 0, 0, None, None
    grads = None
    clip_active = False
    for step in range(steps):
        b = step % per_epoch
        idx = torch.arange(b * bs, min(n, (b + 1) * bs))
        opt.zero_grad()
        out, logits = net(x[idx])
        loss = loss_of(spec["loss"], out, logits, net.output_activation(), y[idx])
        loss.backward()
        losses.append(loss.item())
        grads = [p.grad.detach().clone() for p in params]
        if "clipNorm" in o:
            norm = torch.nn.utils.clip_grad_norm_(params, o["clipNorm"])
            clip_active = clip_active or norm.item() > o["clipNorm"]
        if "clipValue" in o:
            clip_active = clip_active or any(bool((g.abs() > o["clipValue"]).any()) for g in grads)
            torch.nn.utils.clip_grad_value_(params, o["clipValue"])
        group = opt.param_groups[0]
        scheduled = group["lr"]
        group["lr"] = scheduled * (min(1.0, (step + 1) / warmup) if warmup else 1.0)
        lrs.append(group["lr"])
        opt.step()
        group["lr"] = scheduled
        if sched is not None and sched_spec["type"] != "plateau" and not (sched_spec["type"] == "cosine" and sched.last_epoch >= sched_spec["steps"]):
            sched.step()
        if b == per_epoch - 1 and test is not None:
            epoch = step // per_epoch + 1
            with torch.no_grad():
                tout, tlogits = net(tensor(test["x"]))
                held = loss_of(spec["loss"], tout, tlogits, net.output_activation(), tensor(test["y"])).item()
            evaluations.append({"epoch": epoch, "loss": held})
            if sched is not None and sched_spec["type"] == "plateau":
                sched.step(held)
            if early:
                if held < best - early.get("minDelta", 0.0):
                    best, best_epoch, bad = held, epoch, 0
                    best_params = [p.detach().clone() for p in params]
                else:
                    bad += 1
                    if bad >= early["patience"]:
                        stopped_epoch = epoch
                        break
    if early and early.get("restoreBest", True) and best_params is not None:
        with torch.no_grad():
            for p, v in zip(params, best_params):
                p.copy_(v)
    return {
        "name": case["name"], "losses": losses, "lrs": lrs,
        "params": net.shaped([p.detach() for p in params]), "grads": net.shaped(grads),
        "evaluations": evaluations, "stoppedEpoch": stopped_epoch, "bestEpoch": best_epoch, "clipActive": clip_active,
    }


if __name__ == "__main__":
    main(train)
