"""Base class of the package's functional `keras.Model` subclasses."""

import keras


def xla_jit_compile():
    """The `jit_compile` that makes `compile` use XLA wherever Keras can: `True` on TensorFlow
    and JAX, Keras's `"auto"` on PyTorch (where `True` would mean `torch.compile`) and under a
    `tf.distribute` strategy (where Keras decides).

    Keras's `"auto"` turns XLA off on a TensorFlow CPU; for these models XLA is faster there
    too (`benchmarks/README.md`), but it is a choice a user makes, not one `compile` makes for
    them. The command line's `--jit-compile auto` and the benchmarks use it.

    Example:
        >>> model.compile(optimizer="adam", jit_compile=xla_jit_compile())  # doctest: +SKIP
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
    """

    def __setattr__(self, name, value):
        if keras.backend.backend() == "torch" and "_modules" not in self.__dict__:
            return object.__setattr__(self, name, value)
        return super().__setattr__(name, value)
