"""Classification metrics the field reports, and top-k predictions with class names."""

import keras
import numpy as np


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def outputs_are_logits(model):
    """Whether a classifier outputs logits: its head, the layer named `predictions`, has no
    activation (`None` or `"linear"`). Otherwise (`"softmax"`, ...) its outputs are taken as
    probabilities. The classifier's default loss (`from_logits`) and `class_probabilities`
    both follow this.

    Args:
        model: a `keras.Model` with a Dense head named `predictions` (a `SkeletonClassifier`).
    """
    return model.get_layer("predictions").activation is keras.activations.linear


def class_probabilities(model, x, batch_size=32):
    """The class probabilities `(N, K)` a classifier gives `x`: the softmax of its outputs when
    they are logits (`outputs_are_logits`), else its outputs scaled to sum to 1 per row (a
    softmax head's already do; cross-entropy with `from_logits=False` reads any other head's
    the same way).

    Args:
        model: a classifier, see `outputs_are_logits`.
        x: its inputs.
        batch_size: `predict`'s batch size.

    Example:
        >>> probabilities = class_probabilities(classifier, x)  # doctest: +SKIP
    """
    outputs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float32")
    if outputs_are_logits(model):
        return softmax(outputs)
    return outputs / outputs.sum(axis=-1, keepdims=True)


def clip_averaged_probabilities(model, clips, batch_size=32):
    """Multi-clip testing: the class probabilities (`class_probabilities`) averaged over the
    clips `(num_clips, N, ...)` (`SkeletonData.to_clips`), as PYSKL's `average_clips='prob'`."""
    return np.mean([class_probabilities(model, clip, batch_size) for clip in clips], axis=0)


def classification_metrics(scores, labels, num_classes, top_k=5):
    """Top-1, top-k, mean-class accuracy and the confusion matrix of `scores` `(N, K)`.

    `mean_class_accuracy` averages the per-class recall over classes present in `labels`.
    `confusion_matrix[i][j]` counts samples of true class i predicted as class j.
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
    """`[[{"class", "label", "probability"}, ...], ...]`: the k most likely classes per row."""
    probabilities = np.asarray(probabilities)
    order = np.argsort(-probabilities, axis=-1)[:, :min(k, probabilities.shape[-1])]
    return [
        [{"class": class_names[j], "label": int(j), "probability": round(float(row[j]), 6)}
         for j in top]
        for row, top in zip(probabilities, order)
    ]


def class_names_for(num_classes, *candidates):
    """The first of `candidates` (lists of names, or None) with `num_classes` names, else
    `class_0`, `class_1`, ... (the data and the model carry no names)."""
    for names in candidates:
        if names is not None and len(names) == num_classes:
            return list(names)
    return [f"class_{i}" for i in range(num_classes)]
