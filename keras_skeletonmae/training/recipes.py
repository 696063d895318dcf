"""Fine-tuning recipes for the pre-trained layers of a `SkeletonClassifier`: a frozen warm-up
(they stay still for the first steps while the new layers train) and a lower learning rate.

Both live in the optimizer, not in `trainable` flags, so a run needs no recompiling midway and
a run checkpointed and resumed (`.keras` files hold the model and its optimizer) continues as
an uninterrupted one would, also when it stops during the warm-up.
"""

import numbers

import keras
from keras import ops

from keras_skeletonmae.training.fitting import adam

# The class `keras.optimizers.Adam(...)` builds on this backend: PyTorch's updates all variables
# in a few fused calls, a path Keras gives `Adam` itself but not its subclasses (without it, a
# subclass updates variable by variable, several times slower).
_BackendAdam = type(keras.optimizers.Adam.__new__(keras.optimizers.Adam))


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class FineTuningAdam(_BackendAdam):
    """Adam under which the variables named in `scaled_paths` take `backbone_rate_scale` times
    the learning rate, and a rate of 0 for the first `frozen_warmup_steps` optimizer steps.

    The scaled variables are named by `variable.path` (unique within a model, and the same in a
    model loaded from a `.keras` file), resolved when the optimizer is built on the model's
    variables, so the set survives saving and loading with the optimizer.

    During the warm-up the scaled variables do not move, but Adam's moment estimates keep
    following their gradients: when they start moving, their first step has Adam's usual size
    (moments that started from zero so late, under the bias correction of the global step,
    would make it about 3 times the rate).

    "Frozen" means frozen weights only: layers keep running as in training, so the BatchNorm
    layers of the pre-trained encoders normalize with batch statistics and their moving
    statistics follow the fine-tuning data during the warm-up (with `trainable=False` they
    would run in inference mode on the pre-training statistics). This is kept on purpose: the
    pre-training statistics describe masked inputs, not the full sequences fine-tuning sees,
    and switching the mode midway would need the recompile this optimizer avoids.

    Args:
        scaled_paths: list[str], `variable.path` of each variable to scale; each must be among
            the variables the optimizer is built on.
        backbone_rate_scale: float >= 0, their learning rate as a fraction of the others'.
        frozen_warmup_steps: int >= 0, optimizer steps (`iterations`) during which they stay
            still.
        **kwargs: arguments of `keras.optimizers.Adam`.

    Example:
        optimizer = FineTuningAdam(
            ["encoder/encoder_gin_0/hidden_dense/kernel"], backbone_rate_scale=0.1,
            frozen_warmup_steps=100, learning_rate=1e-3)
    """

    def __init__(self, scaled_paths=(), backbone_rate_scale=1.0, frozen_warmup_steps=0,
                 **kwargs):
        _check_recipe(backbone_rate_scale, frozen_warmup_steps)
        super().__init__(**kwargs)
        self.scaled_paths = list(scaled_paths)
        self.backbone_rate_scale = float(backbone_rate_scale)
        self.frozen_warmup_steps = int(frozen_warmup_steps)
        self._scaled_keys = frozenset()

    def build(self, variables):
        super().build(variables)
        by_path = {variable.path: variable for variable in variables}
        missing = [path for path in self.scaled_paths if path not in by_path]
        if missing:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': {len(missing)} of the variables to "
                f"scale are not among the {len(by_path)} it is built on, e.g. {missing[:3]}. "
                "Expected the variable paths of the model it trains.")
        self._scaled_keys = frozenset(self._var_key(by_path[path]) for path in self.scaled_paths)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # One update per group, the scaled one at the scaled rate: per group rather than per
        # variable (`update_step`) so that PyTorch keeps its fused update.
        groups = {False: ([], []), True: ([], [])}
        for grad, variable in zip(grads, trainable_variables):
            group = groups[self._var_key(variable) in self._scaled_keys]
            group[0].append(grad)
            group[1].append(variable)
        if groups[False][1]:
            super()._backend_update_step(*groups[False], learning_rate)
        if groups[True][1]:
            warm = ops.cast(ops.greater_equal(self.iterations, self.frozen_warmup_steps),
                            "float32")
            super()._backend_update_step(
                *groups[True], ops.multiply(learning_rate, warm * self.backbone_rate_scale))

    def get_config(self):
        config = super().get_config()
        config.update(scaled_paths=self.scaled_paths,
                      backbone_rate_scale=self.backbone_rate_scale,
                      frozen_warmup_steps=self.frozen_warmup_steps)
        return config


def fine_tuning_optimizer(classifier, learning_rate, steps, schedule="cosine",
                          backbone_rate_scale=1.0, frozen_warmup_steps=0):
    """Adam for fine-tuning `classifier` over `steps` updates, its pre-trained layers
    (`classifier.pretrained_layers`: the backbone, `encoder_copies` and, after a trunk
    pre-trainer, the STRL layers) at `backbone_rate_scale` times the rate and frozen for the
    first `frozen_warmup_steps` updates (`FineTuningAdam`, which says what "frozen" means for
    BatchNorm). The schedule spans the whole run, warm-up included: the pre-trained layers
    start at the rate the schedule has reached when the warm-up ends. With the defaults it is
    the plain `adam` the package trains with.

    Args:
        classifier: `SkeletonClassifier`, the model the optimizer will train.
        learning_rate: float, the peak rate of the new layers.
        steps: int > 0, optimizer steps in the run (epochs x batches per epoch).
        schedule: str, `"cosine"` (decay to 0 over `steps`) or `"constant"`.
        backbone_rate_scale: float >= 0, the pre-trained layers' rate as a fraction of the
            others' (0 keeps them frozen throughout).
        frozen_warmup_steps: int, 0 to `steps`, updates during which they do not move.

    Returns:
        A `keras.optimizers.Adam`, to pass to `classifier.compile(optimizer=...)`.

    Example:
        steps_per_epoch = len(dataset)
        classifier.compile(optimizer=fine_tuning_optimizer(
            classifier, 1e-3, 60 * steps_per_epoch, backbone_rate_scale=0.1,
            frozen_warmup_steps=10 * steps_per_epoch))
    """
    if not _is_integer(steps) or steps < 1:
        raise ValueError(f"steps must be a positive integer (the run's optimizer steps), "
                         f"got {steps!r}.")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}.")
    _check_recipe(backbone_rate_scale, frozen_warmup_steps)
    if frozen_warmup_steps > steps:
        raise ValueError(f"frozen_warmup_steps ({frozen_warmup_steps}) is longer than the run "
                         f"({steps} steps).")
    optimizer = adam(learning_rate, steps, schedule)
    if backbone_rate_scale == 1 and frozen_warmup_steps == 0:
        return optimizer
    trained = {id(variable) for variable in classifier.trainable_variables}
    pretrained = [variable
                  for layer in classifier.pretrained_layers
                  for variable in layer.trainable_variables if id(variable) in trained]
    if not pretrained:
        raise ValueError(
            f"'{classifier.name}' trains no pre-trained variable (its backbone is frozen): "
            f"backbone_rate_scale={backbone_rate_scale} and "
            f"frozen_warmup_steps={frozen_warmup_steps} would change nothing.")
    return FineTuningAdam.from_config({
        **optimizer.get_config(),
        "scaled_paths": [variable.path for variable in pretrained],
        "backbone_rate_scale": backbone_rate_scale,
        "frozen_warmup_steps": frozen_warmup_steps,
    })


def _check_recipe(backbone_rate_scale, frozen_warmup_steps):
    if isinstance(backbone_rate_scale, bool) or not isinstance(backbone_rate_scale,
                                                               numbers.Real):
        raise ValueError(f"backbone_rate_scale must be a number >= 0, got "
                         f"{backbone_rate_scale!r}.")
    if not backbone_rate_scale >= 0:  # also refuses NaN
        raise ValueError(f"backbone_rate_scale must be >= 0 (a fraction of the learning rate), "
                         f"got {backbone_rate_scale}.")
    if not _is_integer(frozen_warmup_steps) or frozen_warmup_steps < 0:
        raise ValueError(f"frozen_warmup_steps must be an integer >= 0, got "
                         f"{frozen_warmup_steps!r}.")


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
