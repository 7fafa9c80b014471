"""SegNet demo from a source checkout: ``streamlit run demo/app.py``.

The page ships in the package (``segnet_tf/demo/page.py``) and ``segnet demo`` serves it
directly; this file runs that page with the checkout's ``segnet_tf`` first on the path.
"""

import sys
from pathlib import Path

# The checkout beside this folder, ahead of any other installed copy of the package.
CHECKOUT = str(Path(__file__).resolve().parents[1])
if CHECKOUT not in sys.path:
    sys.path.insert(0, CHECKOUT)

from segnet_tf.demo.page import main  # noqa: E402

main()
