"""An independent oracle for Miya's sequential models: Debian's PyTorch (python3-torch), float64.

    /usr/bin/python3 tests/oracle/torch_sequential.py CASES.json     prints a JSON list on stdout

CASES.json is a list of {"name", "spec"}: `spec` is a Miya run spec with model.type "sequential",
inline data and explicit initial weights in every layer. Each layer is the torch.nn module itself:
nn.Linear (+ the activation), nn.RNN, nn.LSTM, nn.GRU (one layer, batch_first=True, both biases
trained, h0 = c0 = 0), nn.Embedding (x then holds token ids); a recurrent layer with returnSequences
false passes out[:, -1, :] on.
Losses: F.mse_loss (mean over batch, steps and outputs), F.cross_entropy with probability targets
on the [batch·T, O] rows (mean over batch and steps). Optimizers: torch_oracle.py's (torch.optim,
and RMSprop with ε inside the root written by hand). For each case this prints {"name", "losses",
"params", "grads", "prediction"}: each step's loss before its update, the final parameters and the last step's
gradients, shaped as runSpec returns a sequential model's, and "prediction": the initial model's
output for every sample ([n][T][O] or [n][O]): {"layers": [{weights, bias} or
{weightIh, weightHh, biasIh, biasHh}]}.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_oracle import act_fn, fit, main, tensor  # noqa: E402

torch.set_default_dtype(torch.float64)

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
EMBEDDING_KEYS = (("weights", "weight"),)
RECURRENT_KEYS = (("weightIh", "weight_ih_l0"), ("weightHh", "weight_hh_l0"), ("biasIh", "bias_ih_l0"), ("biasHh", "bias_hh_l0"))


class Stack(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.kinds, self.mods, self.specs = [], nn.ModuleList(), model["layers"]
        size = model.get("inputSize", 1)
        for i, layer in enumerate(model["layers"]):
            kind = layer.get("type", "dense")
            if kind == "dense":
                mod = nn.Linear(size, layer["units"])
                given = (("weights", "weight"), ("bias", "bias"))
            elif kind == "embedding":  # x holds token ids (as numbers): nn.Embedding(vocab, units)
                mod = nn.Embedding(layer["vocab"], layer["units"])
                given = EMBEDDING_KEYS
            else:
                extra = {"nonlinearity": layer.get("activation", "tanh")} if kind == "rnn" else {}
                mod = MODULES[kind](size, layer["units"], batch_first=True, **extra)
                given = RECURRENT_KEYS
            with torch.no_grad():
                for key, name in given:
                    if key not in layer:
                        raise SystemExit(f"the oracle needs model.layers[{i}].{key}")
                    getattr(mod, name).copy_(tensor(layer[key]))
            self.kinds.append(kind)
            self.mods.append(mod)
            size = layer["units"]

    def forward(self, x):
        """Returns (the output, the last dense layer's pre-activation or None)."""
        z = None
        for kind, mod, layer in zip(self.kinds, self.mods, self.specs):
            if kind == "dense":
                z = mod(x)
                x = act_fn(layer.get("activation", "identity"))(z)
            elif kind == "embedding":
                x = mod(x.long())
            else:
                out = mod(x)[0]  # [batch, T, H]
                x = out if layer.get("returnSequences", False) else out[:, -1, :]
                z = None
        return x, z

    def output_activation(self):
        last = self.specs[-1]
        return last.get("activation", "identity") if last.get("type", "dense") == "dense" else "identity"

    def groups(self):
        """Each layer's (spec key, parameter) pairs, in Miya's layout order."""
        out = []
        for kind, mod in zip(self.kinds, self.mods):
            keys = (("weights", "weight"), ("bias", "bias")) if kind == "dense" else EMBEDDING_KEYS if kind == "embedding" else RECURRENT_KEYS
            out.append([(key, getattr(mod, name)) for key, name in keys])
        return out

    def shaped(self, get):
        return {"layers": [{key: get(p).tolist() for key, p in g} for g in self.groups()]}


def train(case):
    net = Stack(case["spec"]["model"])
    params = [p for g in net.groups() for _, p in g]
    with torch.no_grad():
        # the initial model's output for every sample: what `predict` must give
        prediction = net(tensor(case["spec"]["data"]["x"]))[0].tolist()
    losses = fit(case, net, params)
    return {"name": case["name"], "prediction": prediction, "losses": losses, "params": net.shaped(lambda p: p.detach()), "grads": net.shaped(lambda p: p.grad)}


if __name__ == "__main__":
    main(train)
