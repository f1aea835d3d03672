"""A tiny model params set the model, attribution and variant tests share."""
from __future__ import annotations

from genomodel.config import params_from_dict


def tiny_params(**model_overrides):
    model = {"seq_length": 256, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
             "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 7, "pool_size": 4},
                       {"name": "conv_tower", "filters_init": 8, "filters_mult": 1.5, "kernel_size": 3,
                        "pool_size": 2, "repeat": 2},
                       {"name": "dilated_residual", "filters": 6, "rate_mult": 2, "repeat": 2, "dropout": 0.1},
                       {"name": "Cropping1D", "cropping": 2},
                       {"name": "conv_block", "filters": 16}],
             "head_test": {"name": "final", "units": 3, "activation": "softplus"}}
    model.update(model_overrides)
    return params_from_dict({"model": model, "train": {"batch_size": 2}})
