"""spherescope: watch a transformer's hidden state move as a direction with a length."""

__version__ = "0.1.0"
