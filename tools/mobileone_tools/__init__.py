"""The project's Python tools, one package run with ``python3 -m``.

  reference   the PyTorch reference of the networks and heads, the test
              fixtures made from it, and the checks of mobileone-cli against it
  train       the synthetic shapes, training, export and evaluation of the
              shipped models
  cli         running mobileone-cli from Python (stdlib only)

The caller puts this package's parent folder (tools/ of the source tree) on
PYTHONPATH; the modules never touch sys.path. From the top of the tree:

  PYTHONPATH=tools /usr/bin/python3 -m mobileone_tools.train.evaluate --help
"""

import os

# The source tree the package lives in (tools/mobileone_tools/ -> ../..).
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "..", ".."))
