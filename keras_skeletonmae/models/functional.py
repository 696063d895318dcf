"""Base class of the package's functional `keras.Model` subclasses."""

import keras


class FunctionalModel(keras.Model):
    """A functional model whose subclass creates its layers before calling `super().__init__`.

    On the torch backend every Keras layer is a `torch.nn.Module`, which refuses to hold a module
    before `torch.nn.Module.__init__` has run. Until then, attributes are set plainly: the layers
    are reachable through the functional graph all the same. From then on, `torch.nn.Module`
    must see every assignment, Keras's own `_torch_params` above all (its `zero_grad` reaches the
    variables through it; bypassing it lets gradients accumulate across steps).
    """

    def compile(self, *args, jit_compile="auto", **kwargs):
        """Keras's `compile`, but `jit_compile="auto"` means XLA on TensorFlow without a GPU too.

        Keras turns XLA off on TensorFlow CPUs; for these models it is faster there as well
        (`benchmarks/README.md`). Under a `tf.distribute` strategy, Keras's choice stands.
        """
        if jit_compile == "auto" and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if not (tf.distribute.has_strategy() or kwargs.get("run_eagerly")):
                jit_compile = True
        super().compile(*args, jit_compile=jit_compile, **kwargs)

    def __setattr__(self, name, value):
        if keras.backend.backend() == "torch" and "_modules" not in self.__dict__:
            return object.__setattr__(self, name, value)
        return super().__setattr__(name, value)
