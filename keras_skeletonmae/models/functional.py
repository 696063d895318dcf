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

    def __setattr__(self, name, value):
        if keras.backend.backend() == "torch" and "_modules" not in self.__dict__:
            return object.__setattr__(self, name, value)
        return super().__setattr__(name, value)
