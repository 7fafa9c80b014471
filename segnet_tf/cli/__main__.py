import sys

from segnet_tf.cli import main

sys.exit(main())
