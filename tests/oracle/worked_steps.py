"""The expected numbers of the hand-worked LSTM and GRU steps (examples/one-lstm-step.json, one-gru-step.json),
computed independently of Miya with Debian's PyTorch in float64:

    /usr/bin/python3 tests/oracle/worked_steps.py examples/one-lstm-step.json    rewrites its "expect" block

The model is [lstm or gru (returnSequences false), dense] on one sample, loss mse, optimizer sgd.
h and the prediction come from nn.LSTM / nn.GRU themselves; the gates, c and the gates' gradients
from the same equations written out with autograd (checked against the module's h to 1e-15); the
parameter gradients from autograd through nn.LSTM / nn.GRU, and the new parameters as p − lr·g.
"""
import json
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


def cell(kind, x, h, c, wih, whh, bih, bhh, H):
    """One step by the equations, returning (h, c, the activated gates, the gradient-carrying pre-activations)."""
    if kind == "lstm":
        a = x @ wih.T + bih + h @ whh.T + bhh
        a.retain_grad()
        i, f, g, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.tanh(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        return o * torch.tanh(c), c, torch.cat([i, f, g, o], 1), a
    X = x @ wih.T + bih
    X.retain_grad()
    gh = h @ whh.T + bhh
    r = torch.sigmoid(X[:, :H] + gh[:, :H])
    z = torch.sigmoid(X[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(X[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h, None, torch.cat([r, z, n], 1), X


def main(path):
    with open(path) as f:
        spec = json.load(f)
    rec, dense = spec["model"]["layers"]
    kind, H = rec["type"], rec["units"]
    x = torch.tensor(spec["data"]["x"])  # [1, T, I]
    y = torch.tensor(spec["data"]["y"])
    T = x.shape[1]
    p = {k: torch.tensor(rec[k], requires_grad=True) for k in ("weightIh", "weightHh", "biasIh", "biasHh")}
    w, b = torch.tensor(dense["weights"], requires_grad=True), torch.tensor(dense["bias"], requires_grad=True)
    h, c = torch.zeros(1, H), torch.zeros(1, H)
    tensors, pre = {}, []
    for t in range(T):
        h, c, gates, a = cell(kind, x[:, t], h, c, p["weightIh"], p["weightHh"], p["biasIh"], p["biasHh"], H)
        pre.append(a)
        tensors[f"layers.0.gates[t={t + 1}]"] = gates
        if c is not None:
            tensors[f"layers.0.c[t={t + 1}]"] = c
        tensors[f"layers.0.h[t={t + 1}]"] = h
    z = h @ w.T + b
    tensors["layers.1.z"] = z
    loss = ((z - y) ** 2).mean()
    loss.backward()

    # the module itself, for h, ŷ and the parameter gradients
    module = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](x.shape[2], H, batch_first=True)
    with torch.no_grad():
        for key, name in (("weightIh", "weight_ih_l0"), ("weightHh", "weight_hh_l0"), ("biasIh", "bias_ih_l0"), ("biasHh", "bias_hh_l0")):
            getattr(module, name).copy_(torch.tensor(rec[key]))
    head = nn.Linear(H, dense["units"])
    with torch.no_grad():
        head.weight.copy_(torch.tensor(dense["weights"]))
        head.bias.copy_(torch.tensor(dense["bias"]))
    out = module(x)[0]
    pred = head(out[:, -1])
    mloss = nn.functional.mse_loss(pred, y)
    mloss.backward()
    assert (out[0, -1] - h[0]).abs().max() < 1e-15 and abs(mloss.item() - loss.item()) < 1e-15

    lr = spec["optimizer"]["lr"]
    flat = lambda v: v.detach().flatten().tolist()  # noqa: E731
    names = [("layers.0.weight_ih_l0", module.weight_ih_l0), ("layers.0.weight_hh_l0", module.weight_hh_l0),
             ("layers.0.bias_ih_l0", module.bias_ih_l0), ("layers.0.bias_hh_l0", module.bias_hh_l0),
             ("layers.1.weight", head.weight), ("layers.1.bias", head.bias)]
    grad_name = "dgates" if kind == "lstm" else "dgx"
    for t, a in enumerate(pre):
        tensors[f"layers.0.{grad_name}[t={t + 1}]"] = a.grad
    spec["expect"] = {
        "loss": mloss.item(),
        "tensors": {k: flat(v) for k, v in tensors.items()},
        "grads": {k: flat(v.grad) for k, v in names},
        "params": {k: flat(v - lr * v.grad) for k, v in names},
        "printed": spec.get("expect", {}).get("printed", []),
    }
    with open(path, "w") as f:
        json.dump(spec, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
