"""A Miya model as a torch.nn module, written by `miya export --pytorch DIR` beside model.safetensors.

    from miya_model import load, save, miya_loss
    model, spec = load("model.safetensors")     # MiyaMLP, MiyaRNN or MiyaSequential with Miya's trained weights
    y = model(x)                                # Miya's prediction: MLP x [batch, in]; RNN x [batch, T, in]
                                                # (a sequential model: as its first layer reads, ids for nn.Embedding)
    loss = miya_loss(spec["loss"])(model.logits(x), y)   # Miya's loss, to train on in PyTorch
    save(model, spec, "trained.safetensors")    # `miya import trained.safetensors --out spec.json` reads it back

The parameter names and shapes are PyTorch's own (nn.Linear weight [out, in]; nn.RNN's weight_ih_l0,
weight_hh_l0, bias_ih_l0, bias_hh_l0), so the file also loads with safetensors.torch.load_file.
Miya's RNN has one hidden bias: it is exported as bias_ih_l0 with bias_hh_l0 zero. A sequential
model's layers.i is the torch.nn module of Miya's layer i (nn.Linear, nn.RNN, nn.LSTM, nn.GRU, all
batch_first, and nn.Embedding, nn.Dropout), with PyTorch's own parameter names under it.
load returns the model in eval mode (dropout off), as Miya predicts; call model.train() to train it.
This file needs only torch (and numpy, which torch uses for save).
"""
import json
import struct

import torch
from torch import nn


class Square(nn.Module):
    def forward(self, z):
        return z * z


def activation(name):
    """Miya's activation functions as modules (softmax is over the last dimension)."""
    return {
        "identity": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
        "square": Square, "softmax": lambda: nn.Softmax(dim=-1),
    }[name]()


class MiyaMLP(nn.Module):
    """Dense layers, each followed by its activation: layers.i is nn.Linear(in, units)."""

    def __init__(self, model):
        super().__init__()
        sizes = [model["inputSize"]] + [layer["units"] for layer in model["layers"]]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.activations = nn.ModuleList(activation(layer["activation"]) for layer in model["layers"])

    def logits(self, x):
        """What Miya's crossEntropy takes: the last layer without its softmax, if it has one."""
        last = len(self.layers) - 1
        for i, (layer, f) in enumerate(zip(self.layers, self.activations)):
            x = layer(x)
            if i < last or not isinstance(f, nn.Softmax):
                x = f(x)
        return x

    def forward(self, x):
        for layer, f in zip(self.layers, self.activations):
            x = f(layer(x))
        return x


class ElmanRNN(nn.Module):
    """nn.RNN's parameters and batch_first layout, for activations nn.RNN lacks (it has tanh and relu)."""

    def __init__(self, inputs, hidden, f):
        super().__init__()
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden, inputs))
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden, hidden))
        self.bias_ih_l0 = nn.Parameter(torch.zeros(hidden))
        self.bias_hh_l0 = nn.Parameter(torch.zeros(hidden))
        self.f = f

    def forward(self, x):
        h = x.new_zeros(x.shape[0], self.weight_hh_l0.shape[0])
        states = []
        for t in range(x.shape[1]):
            h = self.f(x[:, t] @ self.weight_ih_l0.T + self.bias_ih_l0 + h @ self.weight_hh_l0.T + self.bias_hh_l0)
            states.append(h)
        return torch.stack(states, 1), h.unsqueeze(0)


class MiyaRNN(nn.Module):
    """h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), h_0 = 0; prediction g(h_T W^T + b) at the last step."""

    def __init__(self, model):
        super().__init__()
        i, h, o, f = model["inputSize"], model["hiddenSize"], model["outputSize"], model["activation"]
        self.rnn = nn.RNN(i, h, nonlinearity=f, batch_first=True) if f in ("tanh", "relu") else ElmanRNN(i, h, activation(f))
        self.head = nn.Linear(h, o)
        self.out = activation(model["outputActivation"])

    def logits(self, x):
        z = self.head(self.rnn(x)[0][:, -1])
        return z if isinstance(self.out, nn.Softmax) else self.out(z)

    def forward(self, x):
        return self.out(self.head(self.rnn(x)[0][:, -1]))


def _recurrent(module):
    def make(layer, fan_in):
        extra = {"nonlinearity": layer.get("activation", "tanh")} if module is nn.RNN else {}
        return module(fan_in, layer["units"], batch_first=True, **extra), layer["units"]
    return make


# Each Miya layer kind: (its torch.nn module for the input width, the width of its output).
LAYERS = {
    "dense": lambda layer, fan_in: (nn.Linear(fan_in, layer["units"]), layer["units"]),
    "rnn": _recurrent(nn.RNN),
    "lstm": _recurrent(nn.LSTM),
    "gru": _recurrent(nn.GRU),
    "embedding": lambda layer, fan_in: (nn.Embedding(layer["vocab"], layer["units"]), layer["units"]),
    "dropout": lambda layer, fan_in: (nn.Dropout(layer["rate"]), fan_in),
}


class MiyaSequential(nn.Module):
    """Miya's sequential model: layers.i is layer i's torch.nn module; a dense layer is followed by
    its activation (and acts at every step of a sequence), a recurrent layer passes on every step's
    h (returnSequences) or the last step's."""

    def __init__(self, model):
        super().__init__()
        self.kinds = [layer.get("type", "dense") for layer in model["layers"]]
        self.sequences = [layer.get("returnSequences", False) for layer in model["layers"]]
        modules, size = [], model.get("inputSize", 0)
        for layer, kind in zip(model["layers"], self.kinds):
            module, size = LAYERS[kind](layer, size)
            modules.append(module)
        self.layers = nn.ModuleList(modules)
        self.activations = nn.ModuleList(
            activation(layer.get("activation", "identity")) if kind == "dense" else nn.Identity()
            for layer, kind in zip(model["layers"], self.kinds))

    def logits(self, x):
        """What Miya's crossEntropy takes: the last layer without its softmax, if it has one."""
        return self._run(x, True)

    def forward(self, x):
        return self._run(x, False)

    def _run(self, x, logits):
        last = len(self.layers) - 1
        for i, (kind, layer, f) in enumerate(zip(self.kinds, self.layers, self.activations)):
            if kind in ("rnn", "lstm", "gru"):
                out = layer(x)[0]  # [batch, T, units]
                x = out if self.sequences[i] else out[:, -1]
            elif kind == "embedding":
                x = layer(x.long())
            else:
                x = layer(x)
                if not (logits and i == last and isinstance(f, nn.Softmax)):
                    x = f(x)
        return x


def cross_entropy(logits, y):
    """Miya's crossEntropy: the mean over samples (and steps) of −Σ y·log softmax(logits); y holds
    probabilities shaped as the logits, or class indices (one a sample and step: a dimension fewer)."""
    if y.dim() == logits.dim():
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1, y.shape[-1]).to(logits.dtype))
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).long())


def miya_loss(name):
    """Miya's losses: mse and halfMse average over every output; crossEntropy takes logits and probability (or class) targets."""
    mse = nn.MSELoss()
    return {"mse": mse, "halfMse": lambda p, y: 0.5 * mse(p, y), "crossEntropy": cross_entropy}[name]


def build(model_spec):
    return {"mlp": MiyaMLP, "rnn": MiyaRNN, "sequential": MiyaSequential}[model_spec["type"]](model_spec)


_DTYPES = {"F32": torch.float32, "F64": torch.float64}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file, read with the standard library and torch alone."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, h in header.items():
        start, end = h["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(body[start:end]), dtype=_DTYPES[h["dtype"]]).reshape(h["shape"])
    return tensors, metadata


def load(path):
    """The model saved in `path` by `miya export` (or by save below), and its Miya run spec."""
    tensors, metadata = read_safetensors(path)
    spec = json.loads(metadata["spec"])
    model = build(spec["model"])
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
    return model.eval(), spec


def save(model, spec, path):
    """Writes the model's parameters (float32) and the spec as a safetensors file Miya can import."""
    header, blobs, offset = {}, [], 0
    for name, value in model.state_dict().items():
        blob = value.detach().to(torch.float32).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pytorch", "spec": json.dumps(spec)}
    head = json.dumps(header).encode()
    head += b" " * (-(8 + len(head)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
