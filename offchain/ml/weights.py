"""A model's weights as canonically named float32 arrays, and back.

Names are f"{index:04d}/{variable.path}" over `model.weights`, so sorting by
name gives the model's order. Models built by `models.build_model` and by
`models.model_from_spec` from the same spec give the same names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from offchain.ml.errors import WeightsError
from offchain.types import NamedWeights, TensorSpec

if TYPE_CHECKING:
    import keras

_DTYPE = "float32"


def weight_specs(model: keras.Model) -> tuple[TensorSpec, ...]:
    """Name, shape and dtype of every weight tensor, in the model's order."""
    return tuple(
        TensorSpec(name=_name(index, variable), shape=tuple(int(d) for d in variable.shape), dtype=_DTYPE)
        for index, variable in enumerate(model.weights)
    )


def get_weights(model: keras.Model) -> NamedWeights:
    """Copy the model's weights out as float32 arrays keyed by canonical name."""
    return {
        _name(index, variable): np.array(variable.numpy(), dtype=np.float32, copy=True)
        for index, variable in enumerate(model.weights)
    }


def set_weights(model: keras.Model, weights: NamedWeights) -> None:
    """Load named weights into the model; nothing is changed unless all match."""
    specs = weight_specs(model)
    problems = weight_mismatches(specs, weights)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise WeightsError(
            f"weights do not fit model {model.name!r}: {shown}. "
            "Use weights produced by get_weights on a model built from the same spec"
        )
    for spec, variable in zip(specs, model.weights):
        variable.assign(weights[spec.name])


def weight_mismatches(specs: tuple[TensorSpec, ...], weights: NamedWeights) -> list[str]:
    """Every way the weights differ from the specs (empty list: they match)."""
    expected = {spec.name: spec for spec in specs}
    problems = [f"missing tensor {name!r}" for name in expected if name not in weights]
    problems += [f"unexpected tensor {name!r}" for name in weights if name not in expected]
    for name, array in weights.items():
        spec = expected.get(name)
        if spec is None:
            continue
        if tuple(np.shape(array)) != spec.shape:
            problems.append(f"tensor {name!r} has shape {tuple(np.shape(array))}, expected {spec.shape}")
        if np.asarray(array).dtype != np.dtype(spec.dtype):
            problems.append(f"tensor {name!r} has dtype {np.asarray(array).dtype}, expected {spec.dtype}")
    return problems


def _name(index: int, variable: keras.Variable) -> str:
    return f"{index:04d}/{variable.path}"
