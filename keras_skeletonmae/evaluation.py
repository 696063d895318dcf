"""Classification metrics the field reports, and top-k predictions with class names."""

import keras
import numpy as np


def softmax(logits):
    """Softmax over the last axis, in numpy.

    Args:
        logits: array `(..., K)`.

    Returns:
        An array of the same shape whose rows sum to 1.

    Example:
        >>> softmax(np.zeros((1, 4))).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def outputs_are_logits(model):
    """Whether a classifier outputs logits.

    True when its head, the layer named `predictions`, has no activation (`None` or
    `"linear"`). Otherwise (`"softmax"`, ...) its outputs are taken as probabilities. The
    classifier's default loss (`from_logits`) and `class_probabilities` both follow this.

    Args:
        model: `keras.Model`. Has a Dense head named `predictions` (a `SkeletonClassifier`).

    Returns:
        bool.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="predictions")])
        >>> outputs_are_logits(model)
        True
    """
    return model.get_layer("predictions").activation is keras.activations.linear


def class_probabilities(model, x, batch_size=32):
    """The class probabilities `(N, K)` a classifier gives `x`: the softmax of its outputs when
    they are logits (`outputs_are_logits`), else its outputs scaled to sum to 1 per row (a
    softmax head's already do; cross-entropy with `from_logits=False` reads any other head's
    the same way).

    Args:
        model: `keras.Model`. A classifier, see `outputs_are_logits`.
        x: array. Its inputs.
        batch_size: int. `predict`'s batch size.

    Returns:
        A float32 array `(N, K)`.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="predictions")])
        >>> class_probabilities(model, np.zeros((4, 3))).tolist()
        [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
    """
    outputs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float32")
    if outputs_are_logits(model):
        return softmax(outputs)
    return outputs / outputs.sum(axis=-1, keepdims=True)


def clip_averaged_probabilities(model, clips, batch_size=32):
    """Multi-clip testing: the class probabilities averaged over the clips.

    As PYSKL's `average_clips='prob'`.

    Args:
        model: `keras.Model`. A classifier, see `outputs_are_logits`.
        clips: array `(num_clips, N, ...)`, e.g. from `SkeletonData.to_clips`.
        batch_size: int. `predict`'s batch size.

    Returns:
        A float32 array `(N, K)`.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="predictions")])
        >>> clip_averaged_probabilities(model, np.zeros((10, 4, 3))).shape
        (4, 2)
    """
    return np.mean([class_probabilities(model, clip, batch_size) for clip in clips], axis=0)


def classification_metrics(scores, labels, num_classes, top_k=5):
    """Top-1, top-k, mean-class accuracy and the confusion matrix of `scores` `(N, K)`.

    `mean_class_accuracy` averages the per-class recall over classes present in `labels`.
    `confusion_matrix[i][j]` counts samples of true class i predicted as class j.

    Args:
        scores: array `(N, K)`. Class scores (probabilities or logits).
        labels: array `(N,)` of ints. The true classes.
        num_classes: int. K.
        top_k: int. The k of the top-k accuracy (at most K).

    Returns:
        A dict with `num_samples`, `top1_accuracy`, `top{k}_accuracy`, `mean_class_accuracy`
        and `confusion_matrix`.

    Example:
        >>> metrics = classification_metrics([[0.9, 0.1], [0.8, 0.2]], [0, 1], 2)
        >>> metrics["top1_accuracy"], metrics["mean_class_accuracy"]
        (0.5, 0.5)
    """
    scores, labels = np.asarray(scores), np.asarray(labels).astype("int64")
    if scores.shape != (len(labels), num_classes):
        raise ValueError(f"expected scores of shape ({len(labels)}, {num_classes}), got "
                         f"{scores.shape}.")
    predicted = scores.argmax(axis=-1)
    k = min(top_k, num_classes)
    top = np.argsort(-scores, axis=-1)[:, :k]
    confusion = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(confusion, (labels, predicted), 1)
    present = confusion.sum(axis=1) > 0
    recall = np.diag(confusion)[present] / confusion.sum(axis=1)[present]
    return {
        "num_samples": int(len(labels)),
        "top1_accuracy": float(np.mean(predicted == labels)),
        f"top{k}_accuracy": float(np.mean(np.any(top == labels[:, None], axis=1))),
        "mean_class_accuracy": float(recall.mean()),
        "confusion_matrix": confusion.tolist(),
    }


def top_k_classes(probabilities, class_names, k=5):
    """The k most likely classes per row, with their names.

    Args:
        probabilities: array `(N, K)`.
        class_names: sequence of K str.
        k: int. Classes per row (at most K).

    Returns:
        A list (one per row) of lists of `{"class", "label", "probability"}` dicts, most
        likely first.

    Example:
        >>> top_k_classes([[0.2, 0.8]], ["sit", "stand"], k=1)
        [[{'class': 'stand', 'label': 1, 'probability': 0.8}]]
    """
    probabilities = np.asarray(probabilities)
    order = np.argsort(-probabilities, axis=-1)[:, :min(k, probabilities.shape[-1])]
    return [
        [{"class": class_names[j], "label": int(j), "probability": round(float(row[j]), 6)}
         for j in top]
        for row, top in zip(probabilities, order)
    ]


def class_names_for(num_classes, *candidates):
    """The first of `candidates` with `num_classes` names, else `class_0`, `class_1`, ...

    Args:
        num_classes: int. How many names are needed.
        *candidates: lists of str or `None`. Tried in order (e.g. the model's, the data's).

    Returns:
        A list of `num_classes` str.

    Example:
        >>> class_names_for(2, None, ["sit"], ["sit", "stand"])
        ['sit', 'stand']
        >>> class_names_for(2)
        ['class_0', 'class_1']
    """
    for names in candidates:
        if names is not None and len(names) == num_classes:
            return list(names)
    return [f"class_{i}" for i in range(num_classes)]
