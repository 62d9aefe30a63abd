"""The steps of the tempcast pipeline: plain typed functions, each wrapped in a Prefect task.

Importing this package switches the telemetry of Prefect and MLflow off (unless the user has set the
variables explicitly), so that nothing the project runs reaches the network by default, fixes
TensorFlow's thread pool size for reproducible training across processes, and hides the start-up
lines of TensorFlow's native libraries (tasks.quiet), without importing TensorFlow itself.
"""

import os

from tasks.quiet import quiet_tensorflow_start

OFFLINE_ENVIRONMENT = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # Prefect's temporary API may take longer than its 20 s default to start on a busy machine
    # (two commands at once, say); waiting longer beats failing.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}

for _name, _value in OFFLINE_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

# The same seed gives the same model only with the same TensorFlow thread pool size (it decides
# how sums are split). Fixing it here makes a Dask worker process (where Dask limits threads)
# train exactly as this process would.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(os.cpu_count() or 1))
quiet_tensorflow_start()
