"""An independent oracle for Miya's training: Debian's PyTorch (python3-torch), float64.

    /usr/bin/python3 tests/oracle/torch_oracle.py CASES.json     prints a JSON list on stdout

CASES.json is a list of {"name", "spec", "orders"}: `spec` is a Miya run spec (README, "The run
spec") with inline data and explicit initial weights; `orders` is the sample order of each epoch
(needed only when the spec shuffles: Miya's shuffle is its own seeded generator, so the test passes
the order it drew; without shuffle the order is 0..n-1, as in PyTorch's DataLoader). For each case
this prints {"name", "losses", "params", "grads"}: each step's loss before its update, the final
parameters and the last step's gradients, in the shapes `runSpec` returns them.

Written from PyTorch's documentation and Miya's README, not from Miya's code (nor from the
miya_model.py that `miya export` writes): nn.Linear layers; nn.RNN for tanh/relu hidden layers
(bias_hh_l0 held at zero, since Miya has one hidden bias) and the same recurrence in tensor ops for
the other activations; F.mse_loss and F.cross_entropy (probability targets); torch.optim.SGD (with
momentum), torch.optim.RMSprop, torch.optim.Adam. One rule is written by hand: Miya's default
RMSprop (epsInsideSqrt: true, TF.js's form) puts ε inside the root, p −= lr·g/√(s + ε), where
torch.optim.RMSprop has p −= lr·g/(√s + ε); with epsInsideSqrt false torch.optim.RMSprop is used.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

torch.set_default_dtype(torch.float64)
DT = torch.float64


def act_fn(name):
    """Miya's activations (README): identity, sigmoid, tanh, relu, square, softmax (over the last dim)."""
    return {
        "identity": lambda z: z,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "square": lambda z: z * z,
        "softmax": lambda z: torch.softmax(z, dim=-1),
    }[name]


def tensor(v):
    return torch.tensor(v, dtype=DT)


class MLP(nn.Module):
    def __init__(self, model):
        super().__init__()
        sizes = [model["inputSize"]] + [layer["units"] for layer in model["layers"]]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.acts = [layer["activation"] for layer in model["layers"]]
        with torch.no_grad():
            for lin, layer in zip(self.layers, model["layers"]):
                if "weights" not in layer or "bias" not in layer:
                    raise SystemExit("the oracle needs explicit weights and biases in every layer")
                lin.weight.copy_(tensor(layer["weights"]))
                lin.bias.copy_(tensor(layer["bias"]))

    def forward(self, x):
        """Returns (output after the last activation, the last layer's pre-activation)."""
        z = x
        for lin, a in zip(self.layers, self.acts):
            z = lin(x)
            x = act_fn(a)(z)
        return x, z

    def output_activation(self):
        return self.acts[-1]

    def trained(self):
        return [p for lin in self.layers for p in (lin.weight, lin.bias)]

    def shaped(self, values):
        it = iter(values)
        return {"layers": [{"weights": next(it).tolist(), "bias": next(it).tolist()} for _ in self.layers]}


class RNN(nn.Module):
    """h_t = f(x_t·Wxᵀ + h_{t−1}·Whᵀ + b), h_0 = 0; ŷ = g(h_T·Wyᵀ + by)."""

    def __init__(self, model):
        super().__init__()
        w = model.get("weights") or {}
        for k in ("inputWeights", "recurrentWeights", "hiddenBias", "outputWeights", "outputBias"):
            if k not in w:
                raise SystemExit(f"the oracle needs model.weights.{k}")
        I, H, O = model["inputSize"], model["hiddenSize"], model["outputSize"]
        self.act = model.get("activation", "tanh")
        self.out_act = model.get("outputActivation", "identity")
        # nn.RNN where it has the activation; its second bias is held at zero and not trained
        self.torch_rnn = self.act in ("tanh", "relu")
        if self.torch_rnn:
            self.rnn = nn.RNN(I, H, nonlinearity=self.act, batch_first=True)
            with torch.no_grad():
                self.rnn.weight_ih_l0.copy_(tensor(w["inputWeights"]))
                self.rnn.weight_hh_l0.copy_(tensor(w["recurrentWeights"]))
                self.rnn.bias_ih_l0.copy_(tensor(w["hiddenBias"]))
                self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_hh_l0.requires_grad_(False)
            self.wx, self.wh, self.bh = self.rnn.weight_ih_l0, self.rnn.weight_hh_l0, self.rnn.bias_ih_l0
        else:
            self.wx = nn.Parameter(tensor(w["inputWeights"]))
            self.wh = nn.Parameter(tensor(w["recurrentWeights"]))
            self.bh = nn.Parameter(tensor(w["hiddenBias"]))
        self.head = nn.Linear(H, O)
        with torch.no_grad():
            self.head.weight.copy_(tensor(w["outputWeights"]))
            self.head.bias.copy_(tensor(w["outputBias"]))
        self.H = H

    def forward(self, x):  # x: [batch, T, I]
        if self.torch_rnn:
            _, h_n = self.rnn(x)
            h = h_n[0]
        else:
            f = act_fn(self.act)
            h = torch.zeros(x.shape[0], self.H, dtype=DT)
            for t in range(x.shape[1]):
                h = f(x[:, t, :] @ self.wx.T + h @ self.wh.T + self.bh)
        z = self.head(h)
        return act_fn(self.out_act)(z), z

    def output_activation(self):
        return self.out_act

    def trained(self):
        return [self.wx, self.wh, self.bh, self.head.weight, self.head.bias]

    def shaped(self, values):
        keys = ("inputWeights", "recurrentWeights", "hiddenBias", "outputWeights", "outputBias")
        return {k: v.tolist() for k, v in zip(keys, values)}


def loss_of(kind, out, logits, out_act, y):
    if kind == "mse":
        return F.mse_loss(out, y)  # mean over batch and outputs
    if kind == "halfMse":
        return 0.5 * F.mse_loss(out, y)
    if kind == "crossEntropy":
        # softmax cross-entropy, mean over the batch (and the steps, for [batch][T][O] outputs: a
        # sequential model's); on a softmax output it takes the logits (the same loss as
        # CrossEntropyLoss on an identity output), otherwise the output itself
        p = logits if out_act == "softmax" else out
        if y.dim() < p.dim():  # class-index targets, [batch] or [batch][T]: CrossEntropyLoss's other form
            return F.cross_entropy(p.reshape(-1, p.shape[-1]), y.reshape(-1).long())
        return F.cross_entropy(p.reshape(-1, p.shape[-1]), y.reshape(-1, p.shape[-1]))
    raise SystemExit(f"unknown loss {kind}")


class RMSpropEpsInside(torch.optim.Optimizer):
    """PyTorch's documented RMSprop (no momentum, not centered) with ε moved inside the root, as Miya's
    epsInsideSqrt (TF.js's form): v = α·v + (1 − α)·g²;  θ −= γ·g / √(v + ε)."""

    def __init__(self, params, lr, alpha, eps):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(p)
                v = state["square_avg"]
                v.mul_(group["alpha"]).addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                p.addcdiv_(p.grad, (v + group["eps"]).sqrt(), value=-group["lr"])


def optimizer_for(o, params):
    """Miya's optimizer spec (README) as a torch optimizer; Miya's defaults written out."""
    kind, lr = o["type"], o["lr"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if kind == "momentum":  # v = μ·v + g; p −= lr·v  (PyTorch's form, dampening 0)
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.9))
    if kind == "rmsprop":  # Miya's rho defaults to TF.js's 0.9 (PyTorch's alpha: 0.99)
        rho, eps = o.get("rho", 0.9), o.get("eps", 1e-8)
        if o.get("epsInsideSqrt", True):
            return RMSpropEpsInside(params, lr=lr, alpha=rho, eps=eps)
        return torch.optim.RMSprop(params, lr=lr, alpha=rho, eps=eps)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)), eps=o.get("eps", 1e-8))
    raise SystemExit(f"unknown optimizer {kind}")


def fit(case, net, params):
    """Trains `net` on the case's data as Miya does: mini-batches in order (the last may be short,
    DataLoader's drop_last=False), each epoch in the order Miya drew (case["orders"]) when the spec
    shuffles. Returns each step's loss, before its update."""
    spec = case["spec"]
    opt = optimizer_for(spec["optimizer"], params)
    x, y = tensor(spec["data"]["x"]), tensor(spec["data"]["y"])
    n = x.shape[0]
    bs = min(spec.get("batchSize", n), n)
    per_epoch = math.ceil(n / bs)
    steps = spec.get("steps") or (spec["epochs"] * per_epoch if "epochs" in spec else 1)
    orders = case.get("orders")
    if spec.get("shuffle", False) and orders is None:
        raise SystemExit(f"{case['name']}: a shuffled case needs the epochs' orders")
    losses = []
    for step in range(steps):
        epoch, b = divmod(step, per_epoch)
        if spec.get("shuffle", False):
            order = orders[epoch]
            if sorted(order) != list(range(n)):
                raise SystemExit(f"{case['name']}: epoch {epoch}'s order is not a permutation of 0..{n - 1}")
        else:
            order = list(range(n))
        idx = torch.tensor(order[b * bs:(b + 1) * bs], dtype=torch.long)
        opt.zero_grad()
        out, logits = net(x[idx])
        loss = loss_of(spec["loss"], out, logits, net.output_activation(), y[idx])
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return losses


def train(case):
    model = case["spec"]["model"]
    net = MLP(model) if model["type"] == "mlp" else RNN(model)
    params = net.trained()
    losses = fit(case, net, params)
    return {
        "name": case["name"], "losses": losses,
        "params": net.shaped([p.detach() for p in params]),
        "grads": net.shaped([p.grad for p in params]),
    }


def main(train_case=train):
    """Trains every case of the JSON file named by argv[1]; prints the results as one JSON list."""
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    json.dump([train_case(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
