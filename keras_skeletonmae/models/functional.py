"""Base class of the package's functional `keras.Model` subclasses."""

import keras


def xla_jit_compile():
    """The `jit_compile` that makes `compile` use XLA wherever Keras can: `True` on TensorFlow
    and JAX, Keras's `"auto"` on PyTorch (where `True` would mean `torch.compile`) and under a
    `tf.distribute` strategy (where Keras decides).

    Keras's `"auto"` turns XLA off on a TensorFlow CPU; for these models XLA is faster there
    too (`benchmarks/README.md`), but it is a choice a user makes, not one `compile` makes for
    them. The command line's `--jit-compile auto` and the benchmarks use it.

    Returns:
        `True` or `"auto"`, for `compile(jit_compile=...)`.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse", jit_compile=xla_jit_compile())
    """
    if keras.backend.backend() == "torch":
        return "auto"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.distribute.has_strategy():
            return "auto"
    return True


class FunctionalModel(keras.Model):
    """A functional model whose subclass creates its layers before calling `super().__init__`.

    On the torch backend every Keras layer is a `torch.nn.Module`, which refuses to hold a module
    before `torch.nn.Module.__init__` has run. Until then, attributes are set plainly: the layers
    are reachable through the functional graph all the same. From then on, `torch.nn.Module`
    must see every assignment, Keras's own `_torch_params` above all (its `zero_grad` reaches the
    variables through it; bypassing it lets gradients accumulate across steps).

    Args:
        inputs: the functional graph's inputs, as for `keras.Model`.
        outputs: its outputs.
        **kwargs: passed to `keras.Model` (e.g. `name`, `dtype`).

    Example:
        >>> class Doubler(FunctionalModel):
        ...     def __init__(self, **kwargs):
        ...         self.scale = keras.layers.Rescaling(2.0)  # a layer set before __init__
        ...         inputs = keras.Input((3,))
        ...         super().__init__(inputs, self.scale(inputs), **kwargs)
        >>> Doubler().predict(keras.ops.ones((1, 3)), verbose=0).tolist()
        [[2.0, 2.0, 2.0]]
    """

    def __setattr__(self, name, value):
        if keras.backend.backend() == "torch" and "_modules" not in self.__dict__:
            return object.__setattr__(self, name, value)
        return super().__setattr__(name, value)
