"""``--hyperopt-loss FeedbackHyperOptLoss``: Freqtrade only loads a class defined in this file."""
from freqtrade_feedback.hyperopt_loss import FeedbackHyperOptLoss as _Loss


class FeedbackHyperOptLoss(_Loss):
    """The package's loss with its default weights; subclass that one to change them."""
