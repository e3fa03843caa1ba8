"""What a run shows and keeps: text progress, summary, MLflow, keep-best, the snapshot
and the live panel.
"""
