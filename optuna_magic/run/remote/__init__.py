"""Trials in other processes: shipping the objective, worker processes, Dask."""
