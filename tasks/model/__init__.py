"""Model stage: settings and recipes, the networks, fitting, evaluation and the baselines.

Pure NumPy and Keras: nothing here talks to MLflow or reads files.
"""
