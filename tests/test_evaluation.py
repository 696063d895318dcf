"""Multi-clip testing: class probabilities averaged over clips (PYSKL's average_clips='prob')."""

import numpy as np

from keras_skeletonmae.evaluation import clip_averaged_probabilities, softmax


class LogitsPerClip:
    """A model stand-in whose `predict` returns the next clip's logits."""

    def __init__(self, logits):
        self.logits = iter(logits)

    def predict(self, x, batch_size=None, verbose=0):
        return next(self.logits)


def test_clip_averaged_probabilities_average_probabilities_not_logits():
    # class 0: 0.9 in one clip, 0.05 in the other; class 1: 0.1 and 0.5. Averaging the
    # probabilities picks class 0 (0.475 > 0.3), averaging the logits (the geometric mean of
    # the probabilities) would pick class 1 (0.224 > 0.212).
    logits = [np.log([[0.9, 0.1, 1e-6]]), np.log([[0.05, 0.5, 0.45]])]
    clips = np.zeros((2, 1, 4))
    probabilities = clip_averaged_probabilities(LogitsPerClip(logits), clips)
    np.testing.assert_allclose(probabilities, (softmax(logits[0]) + softmax(logits[1])) / 2)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-6)
    assert probabilities.argmax(-1).tolist() == [0]
    assert ((logits[0] + logits[1]) / 2).argmax(-1).tolist() == [1]
