"""Models: baselines, training, evaluation, bundles."""
