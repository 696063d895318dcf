"""A model's inference pass compiled the way its backend offers, for repeated calls of one shape.

`model.predict` suits a batch of windows; a live stream calls the model on one window at a time,
where each call's fixed cost decides the speed. On PyTorch that cost is Keras's Python work
around the forward pass's eager operations (about 900 for a classifier preset), which
TorchScript removes: `benchmarks/README.md`, "Inference".
"""

import warnings

import keras


def compiled_inference(model):
    """`x -> outputs as NumPy`: `model(x, training=False)` compiled for its backend.

    JAX: `jax.jit` of `stateless_call`, with the model's weights read at every call. TensorFlow:
    `tf.function(jit_compile=True)`. PyTorch: `torch.jit.trace` under `torch.no_grad()`, once
    per input shape (a trace holds the shapes and branches of the call it recorded, so each new
    shape is traced again). Every backend reads the model's current weights, so a model trained
    further is seen by the function made before.

    Args:
        model: `keras.Model`, e.g. a `SkeletonClassifier`.

    Returns:
        A function of one float32 array (or backend tensor) returning the model's outputs as
        NumPy arrays, in the structure the model returns them.

    Example:
        >>> classify = compiled_inference(SkeletonClassifier.from_preset(
        ...     "skeletonmae_kinect20_msr_classifier"))
        >>> scores = classify(window)  # window: (1, 1, 32, 20, 3), centred (CenterOnJoint)
    """
    backend = keras.backend.backend()
    to_numpy = keras.ops.convert_to_numpy
    if backend == "jax":
        import jax

        forward = jax.jit(lambda trainable, non_trainable, x: model.stateless_call(
            trainable, non_trainable, x, training=False)[0])

        def call(x):  # the variables' current buffers: fitting and predicting replace them
            return keras.tree.map_structure(to_numpy, forward(
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables], x))

        return call
    if backend == "tensorflow":
        import tensorflow as tf

        forward = tf.function(lambda x: model(x, training=False), jit_compile=True)
        return lambda x: keras.tree.map_structure(to_numpy, forward(tf.convert_to_tensor(x)))
    if backend != "torch":
        raise ValueError(f"compiled_inference does not know the {backend!r} backend.")
    return _TorchTraces(model)


class _TorchTraces:
    """`torch.jit.trace` of `model(x, training=False)`, one trace per input shape and dtype."""

    def __init__(self, model):
        import torch

        class Inference(torch.nn.Module):  # a Keras model on torch is a module: its parameters
            def __init__(self):            # are the trace's, shared, not copied
                super().__init__()
                self.model = model

            def forward(self, x):
                return self.model(x, training=False)

        self._module = Inference()
        self._traces = {}

    def __call__(self, x):
        import torch

        x = keras.ops.convert_to_tensor(x)
        key = (tuple(x.shape), x.dtype)
        with torch.no_grad():
            if key not in self._traces:
                with warnings.catch_warnings():  # shape reads become constants: wanted here
                    warnings.simplefilter("ignore", torch.jit.TracerWarning)
                    self._traces[key] = torch.jit.trace(self._module, (x,), strict=False,
                                                        check_trace=False)
            outputs = self._traces[key](x)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)
