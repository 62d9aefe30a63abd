"""The start-up lines of TensorFlow's native libraries are recognised and only those dropped."""

from tasks.quiet import startup_noise_removed

CAPTURED = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796135926.162066   19030 port.cc:153] oneDNN custom operations are on.
I0000 00:00:1796135926.162438   19030 cudart_stub.cc:31] Could not find cuda drivers.
W0000 00:00:1796135926.2   19030 cpu_feature_guard.cc:210] This TensorFlow binary is optimized.
E0000 00:00:1796135926.3   19030 cuda_dnn.cc:8579] Unable to register cuDNN factory
/lib/python3.11/site-packages/tensorflow/__init__.py:1: UserWarning: a real warning
  import something
F0000 00:00:1796135926.4   19030 fatal.cc:1] a fatal error
"""


def test_only_the_native_start_up_lines_are_dropped():
    assert startup_noise_removed(CAPTURED) == (
        "/lib/python3.11/site-packages/tensorflow/__init__.py:1: UserWarning: a real warning\n"
        "  import something\n"
        "F0000 00:00:1796135926.4   19030 fatal.cc:1] a fatal error\n"
    )
    assert startup_noise_removed("") == ""
