import sys

from keras_skeletonmae.cli import main

sys.exit(main())
