"""``--hyperopt-loss FeedbackHyperOptLoss``: freqtrade-feedback's loss, where Freqtrade finds it.

Freqtrade loads a hyperopt loss only from a class defined in a file of its ``hyperopts``
folder, so this file (written by ``freqtrade-feedback init``) defines one on top of the
package's loss, ``freqtrade_feedback.hyperopt_loss.FeedbackHyperOptLoss``.
"""
from freqtrade_feedback.hyperopt_loss import FeedbackHyperOptLoss as _Loss


class FeedbackHyperOptLoss(_Loss):
    """The package's loss with its default weights; subclass that one to change them."""
