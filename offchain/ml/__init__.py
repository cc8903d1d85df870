"""Machine learning: models, weights, datasets, partitions, local training.

The only package in the project that imports TensorFlow, and it does so lazily
(see `_keras.py`): importing `offchain.ml` or its numpy-only modules
(`datasets`, `partition`, `idx`, `images`, `errors`) never loads TensorFlow.
"""
