"""Study options to Optuna objects: sampler and pruner factories, storages, the
credential masker, liveness of trials, resuming a stored study.
"""
