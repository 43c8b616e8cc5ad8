"""Model evaluation: sweeps of feature sets x algorithms against business baselines, run as
jobs, tracked as child runs of one parent run, and compared in a report."""
