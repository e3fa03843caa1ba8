"""Running trials: the event and sink contract, the local runner, polled and remote runs.

Imports neither IPython nor the widget.
"""
