"""One compute thread per process, for the processes the command line starts.

Workers scale by processes (one per extractor, more replicas for more throughput), so a CPU
extractor's numpy, BLAS and OpenCV calls gain nothing from a thread pool of their own: its
small matrix products and labellings lose more to thread start-up, contention with the
other workers and a fragmented heap than they win (on the 2-core CI machine, an extractor
ran ~10-20 % slower with OpenBLAS at 2 threads). The libraries read these variables when
they load, so the CLI imports this module before anything that loads numpy or OpenCV; a
value the user set wins. Torch (the model worker) sets its own thread count explicitly.
"""

from __future__ import annotations

import os

ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENCV_FOR_THREADS_NUM": "1",
}

for _name, _value in ONE_THREAD.items():
    os.environ.setdefault(_name, _value)
