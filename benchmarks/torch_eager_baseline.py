"""The SkeletonMAE pre-training step as a user would write it in plain PyTorch (eager, no Keras).

The baseline of `bench_train.py`: the same model, loss and optimiser as `SkeletonMAEPretrainer`
with its defaults (embedding + temporal position embedding, two random body parts masked per
sequence, 3 GIN encoder layers, bias-free re-mask, one GIN decoder layer, re-weighted cosine error
on the 5-frame coordinate target, Adam 1.5e-4), in ordinary `torch.nn` modules. Joints are
flattened to rows for `Linear` / `BatchNorm1d` / `PReLU`, and one `matmul` with the `(V, V)`
propagation matrix aggregates every frame graph.
"""

import torch
from torch import nn

from keras_skeletonmae.layouts import get_layout


class GIN(nn.Module):
    """`MLP((1 + eps) h_v + sum_u h_u)` on `(graphs, V, D)`, eps = 0; MLP as `GINConv`'s."""

    def __init__(self, adjacency, in_dim, out_dim, hidden_dim, output_activation=True):
        super().__init__()
        num_joints = adjacency.shape[0]
        self.register_buffer("propagation", torch.as_tensor(adjacency) + torch.eye(num_joints))
        layers = [nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim, eps=1e-3),
                  nn.PReLU(hidden_dim, 0.25), nn.Linear(hidden_dim, out_dim)]
        if output_activation:
            layers += [nn.BatchNorm1d(out_dim, eps=1e-3), nn.PReLU(out_dim, 0.25)]
        self.mlp = nn.Sequential(*layers)

    def forward(self, h):
        graphs, joints, _ = h.shape
        h = torch.matmul(self.propagation, h)
        return self.mlp(h.reshape(graphs * joints, -1)).reshape(graphs, joints, -1)


class SkeletonMAE(nn.Module):
    """Masked body-part reconstruction; `forward(x)` returns the loss for `(B, M, T, V, C)`."""

    def __init__(self, layout="coco17", num_channels=2, num_frames=64, embed_dim=64,
                 num_layers=3, hidden_dim=256, num_masked_parts=2, window=5, beta=2.0):
        super().__init__()
        layout = get_layout(layout)
        adjacency = layout.adjacency()
        self.center, self.window, self.beta = layout.center, window, beta
        self.num_masked_parts = num_masked_parts
        self.register_buffer("membership", torch.as_tensor(layout.part_membership()))
        self.embedding = nn.Linear(num_channels, embed_dim)
        self.position = nn.Parameter(torch.randn(num_frames, 1, embed_dim) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(embed_dim))
        self.encoder = nn.Sequential(
            *[GIN(adjacency, embed_dim, embed_dim, hidden_dim) for _ in range(num_layers)])
        self.remask = nn.Linear(embed_dim, embed_dim, bias=False)
        self.decoder = GIN(adjacency, embed_dim, num_channels * window, hidden_dim,
                           output_activation=False)

    def target(self, x):
        """Each joint's coordinates over `window` frames, relative to the centre joint at t."""
        radius, frames = self.window // 2, x.shape[2]
        index = torch.arange(frames).unsqueeze(1) + torch.arange(-radius, radius + 1)
        shifted = x[:, :, index.clamp(0, frames - 1)]  # (B, M, T, window, V, C)
        shifted = shifted - x[:, :, :, None, self.center : self.center + 1]
        return shifted.permute(0, 1, 2, 4, 3, 5).flatten(-2)

    def forward(self, x):
        batch, persons, frames, joints, _ = x.shape
        embedded = self.embedding(x) + self.position
        scores = torch.rand(batch, self.membership.shape[0])
        chosen = torch.zeros_like(scores).scatter_(
            1, scores.topk(self.num_masked_parts).indices, 1.0)
        mask = (chosen @ self.membership)[:, None, None, :, None]  # (B, 1, 1, V, 1)
        masked = embedded + mask * (self.mask_token - embedded)
        hidden = self.encoder(masked.reshape(-1, joints, embedded.shape[-1]))
        hidden = self.remask(hidden).reshape(embedded.shape) * (1.0 - mask)
        reconstruction = self.decoder(hidden.reshape(-1, joints, hidden.shape[-1]))
        cosine = nn.functional.cosine_similarity(
            reconstruction.reshape(batch, persons, frames, joints, -1), self.target(x), dim=-1,
            eps=1e-8)
        present = (x != 0).flatten(-2).any(-1)[..., None].float()
        weight = mask[..., 0] * present
        error = (1.0 - cosine).clamp(min=0.0).pow(self.beta)
        return (error * weight).sum() / weight.sum().clamp(min=1.0)


def make_step(model, learning_rate=1.5e-4):
    """One optimiser step on a batch; returns the loss as a Python float."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    def step(x):
        optimizer.zero_grad(set_to_none=True)
        loss = model(x)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step
