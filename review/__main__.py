"""`python -m review`: see `review.cli`."""

import sys

from review.cli import install_shutdown_quieting, main

install_shutdown_quieting(sys.argv[1:])
sys.exit(main())
